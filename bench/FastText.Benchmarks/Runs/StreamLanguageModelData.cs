using FastText.Engine.Data;
using TorchSharp;

namespace FastText.Benchmarks.Runs;

/// <summary>A plain language-model loader with fastai's layout, the same as the test suite's: the stream cut into
/// <c>rows</c> contiguous rows, read <c>bptt</c> columns at a time; targets shifted by one. Deterministic (the same
/// batches every epoch), so runs in different precisions see identical batches.</summary>
internal sealed class StreamLanguageModelData : IBatchSource<LanguageModelBatch>
{
    private readonly long[] stream;
    private readonly int rows;
    private readonly int bptt;
    private readonly int rowLength;

    public StreamLanguageModelData(long[] stream, int rows, int bptt)
    {
        this.stream = stream;
        this.rows = rows;
        this.bptt = bptt;
        rowLength = (stream.Length - 1) / rows;
    }

    public int BatchCount => (rowLength + bptt - 1) / bptt;

    public IEnumerable<LanguageModelBatch> Epoch(int epoch, CancellationToken cancellation = default)
    {
        for (int b = 0; b < BatchCount; b++)
        {
            int length = Math.Min(bptt, rowLength - b * bptt);
            var inputs = new long[rows * length];
            var targets = new long[rows * length];
            for (int r = 0; r < rows; r++)
            {
                for (int t = 0; t < length; t++)
                {
                    int at = r * rowLength + b * bptt + t;
                    inputs[r * length + t] = stream[at];
                    targets[r * length + t] = stream[at + 1];
                }
            }
            yield return new LanguageModelBatch(
                torch.tensor(inputs, new long[] { rows, length }).DetachFromDisposeScope(),
                torch.tensor(targets, new long[] { rows, length }).DetachFromDisposeScope(), bptt);
        }
    }

    /// <summary>A learnable stream: a few repeated "sentences" over a small vocabulary (the test suite's pattern).</summary>
    public static long[] PatternStream(int length, int vocabulary, int seed = 1)
    {
        var fixedSentences = new Random(12345);
        var sentences = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, fixedSentences.Next(4, 9)).Select(_ => (long)fixedSentences.Next(9, vocabulary)).Prepend(2L).ToArray()).ToArray();
        var random = new Random(seed);   // the order of the sentences
        var result = new List<long>(length);
        while (result.Count < length)
        {
            result.AddRange(sentences[random.Next(sentences.Length)]);
        }
        return result.Take(length).ToArray();
    }
}
