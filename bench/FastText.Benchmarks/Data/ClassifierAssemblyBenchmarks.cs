using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Data;
using FastText.Engine.Native;
using FastText.Engine.Text;

namespace FastText.Benchmarks.Data;

/// <summary>
/// Classifier batch assembly (SortedDL order, pad-first layout, labels) on the SpamAssassin length distribution
/// (FastaiTokenizer lengths capped at 1440 tokens; ids are synthetic), one batch per operation on the caller's thread, epochs restarting as
/// needed. Tokens/s and MB/s count the padded int64 cells of an average batch (computed from epoch 0's plan).
/// Reported per padding layout, so the cost of shape variety (minimal widths are arbitrary, aligned ones are
/// multiples of seq_len) shows in the allocation column.
/// </summary>
public class ClassifierAssemblyBenchmarks
{
    private ClassifierLoader loader = null!;
    private IEnumerator<ClassifierBatch>? batches;
    private int epoch;

    /// <summary>A padding layout and the average padded cells per batch it yields.</summary>
    public sealed record Layout(ClassifierPadding Padding) : IWorkload
    {
        private static readonly Dictionary<ClassifierPadding, double> Cells = new();

        /// <summary>The loader settings (bs 64, seq_len 72, training order, cap 1440, no prefetch).</summary>
        public ClassifierLoaderOptions Options => new() { BatchSize = 64, SequenceLength = 72, Padding = Padding, MaximumLength = 1440, PrefetchDepth = 0, Seed = 1 };

        /// <inheritdoc />
        public double TokensPerOperation
        {
            get
            {
                lock (Cells)
                {
                    if (!Cells.TryGetValue(Padding, out double cells))
                    {
                        using var loader = new ClassifierLoader(Corpus.Value, Options);
                        cells = (double)loader.MeasurePadding(0).TotalTokens / loader.BatchCount;
                        Cells[Padding] = cells;
                    }
                    return cells;
                }
            }
        }

        /// <inheritdoc />
        public double FlopsPerOperation => 0;

        /// <inheritdoc />
        public double BytesPerOperation => 8 * TokensPerOperation;

        /// <inheritdoc />
        public override string ToString() => Padding.ToString();
    }

    private static readonly Lazy<InMemoryTokenCorpus> Corpus = new(() =>
    {
        var random = new Random(4);
        int[] lengths = SpamAssassinLengths.All;
        var documents = lengths.Select(l => Enumerable.Range(0, Math.Min(l, 1440)).Select(_ => random.Next(2, 60_000)).ToArray()).ToArray();
        return new InMemoryTokenCorpus(documents, documents.Select((_, i) => i % 2).ToArray(), new[] { "ham", "spam" });
    });

    /// <summary>Layouts measured.</summary>
    public static IEnumerable<Layout> Layouts => new[] { new Layout(ClassifierPadding.MinimalChunkSafe), new Layout(ClassifierPadding.AlignedChunks) };

    /// <summary>The case.</summary>
    [ParamsSource(nameof(Layouts))]
    public Layout Case { get; set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Initialize();
        loader = new ClassifierLoader(Corpus.Value, Case.Options);
    }

    /// <summary>Next classifier batch (disposed at once).</summary>
    [Benchmark]
    public long ClassifierBatch()
    {
        if (batches is null || !batches.MoveNext())
        {
            batches?.Dispose();
            batches = loader.Epoch(epoch++).GetEnumerator();
            batches.MoveNext();
        }
        ClassifierBatch batch = batches.Current;
        long pads = batch.PadTokens;
        batch.Dispose();
        return pads;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        batches?.Dispose();
        loader.Dispose();
    }
}
