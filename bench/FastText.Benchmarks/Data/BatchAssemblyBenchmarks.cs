using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Data;
using FastText.Engine.Native;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Data;

/// <summary>
/// Language-model batch assembly: corpus (int32) → pooled int64 buffers wrapped by tensors, one batch per operation,
/// epochs restarting as needed over a 16M-token corpus (the per-epoch objects are amortised over ~1,700–3,500 batches).
/// MB/s counts the int64 input ids of a batch (targets are written too, so bytes written are twice that).
/// Baseline in the same run: a straightforward port (concatenated stream, fresh arrays and copying tensor factories
/// per batch).
/// </summary>
public class BatchAssemblyBenchmarks
{
    private InMemoryTokenCorpus corpus = null!;
    private LanguageModelLoader loader = null!;
    private IEnumerator<LanguageModelBatch>? batches;
    private int epoch;
    private int[] stream = null!;
    private int naivePosition;

    /// <summary>Batch shape and loader mode.</summary>
    public sealed record Shape(string Name, int Rows, int SequenceLength, int Prefetch) : IWorkload
    {
        /// <inheritdoc />
        public double TokensPerOperation => (double)Rows * SequenceLength;

        /// <inheritdoc />
        public double FlopsPerOperation => 0;

        /// <inheritdoc />
        public double BytesPerOperation => 8.0 * Rows * SequenceLength;

        /// <inheritdoc />
        public override string ToString() => Name;
    }

    /// <summary>fastai's default LM batch (64 × 72) and fastbook's (128 × 80), filled on the caller's thread or prefetched.</summary>
    public static IEnumerable<Shape> Shapes => new[]
    {
        new Shape("64x72 sync", 64, 72, 0),
        new Shape("64x72 prefetch2", 64, 72, 2),
        new Shape("128x80 sync", 128, 80, 0),
    };

    /// <summary>The case.</summary>
    [ParamsSource(nameof(Shapes))]
    public Shape Case { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Initialize();
        corpus = SyntheticCorpus.Create(16_000_000, 20, 3000, 60_000, seed: 1);
        loader = new LanguageModelLoader(corpus, new LanguageModelLoaderOptions { BatchSize = Case.Rows, SequenceLength = Case.SequenceLength, PrefetchDepth = Case.Prefetch, Seed = 3 });
        stream = new int[corpus.TokenCount];
        for (int d = 0, at = 0; d < corpus.DocumentCount; at += corpus.DocumentLength(d), d++)
        {
            corpus.CopyTokens(d, 0, stream.AsSpan(at, corpus.DocumentLength(d)));
        }
    }

    /// <summary>Next batch from the pooled loader (disposed at once, as a trainer would after its step).</summary>
    [Benchmark]
    public long LoaderBatch()
    {
        if (batches is null || !batches.MoveNext())
        {
            batches?.Dispose();
            batches = loader.Epoch(epoch++).GetEnumerator();
            batches.MoveNext();
        }
        LanguageModelBatch batch = batches.Current;
        long length = batch.SequenceLength;
        batch.Dispose();
        return length;
    }

    /// <summary>
    /// Baseline: the straightforward port — the epoch's stream concatenated into one int[] (done once in setup, not
    /// timed), then per batch fresh long[] buffers filled from the same fastai row windows and two copying
    /// <c>torch.tensor</c> calls. Same memory access pattern as the loader.
    /// </summary>
    [Benchmark(Baseline = true)]
    public long NaiveBatch()
    {
        int rows = Case.Rows, length = Case.SequenceLength;
        long rowLength = (stream.Length - 1) / rows;
        long batches = rowLength / length;
        long offset = naivePosition++ % batches * length;
        var inputs = new long[rows * length];
        var targets = new long[rows * length];
        for (int r = 0; r < rows; r++)
        {
            long start = r * rowLength + offset;
            for (int j = 0; j < length; j++)
            {
                inputs[r * length + j] = stream[start + j];
                targets[r * length + j] = stream[start + j + 1];
            }
        }
        using Tensor x = torch.tensor(inputs, new long[] { rows, length });
        using Tensor y = torch.tensor(targets, new long[] { rows, length });
        return x.size(1) + y.size(0);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        batches?.Dispose();
        loader.Dispose();
    }
}
