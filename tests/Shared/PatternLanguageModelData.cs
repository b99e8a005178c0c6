using FastText.Engine.Data;
using TorchSharp;

namespace FastText.Engine.Testing;

/// <summary>A plain language-model loader with fastai's layout, shared by the tests and the benchmark runs (compiled into
/// both): the stream cut into <c>rows</c> contiguous rows, read <c>bptt</c> columns at a time; targets shifted by one.
/// Deterministic (the same batches every epoch unless rotated), so runs in different precisions see identical batches.</summary>
internal sealed class PatternLanguageModelData : IBatchSource<LanguageModelBatch>
{
    private readonly long[] stream;
    private readonly int rows;
    private readonly int bptt;
    private readonly bool rotatePerEpoch;
    private readonly int rowLength;

    public PatternLanguageModelData(long[] stream, int rows, int bptt, bool rotatePerEpoch = false)
    {
        this.stream = stream;
        this.rows = rows;
        this.bptt = bptt;
        this.rotatePerEpoch = rotatePerEpoch;
        rowLength = (stream.Length - 1) / rows;
    }

    public int BatchCount => (rowLength + bptt - 1) / bptt;

    public int EpochsRequested { get; private set; }

    public IEnumerable<LanguageModelBatch> Epoch(int epoch, CancellationToken cancellation = default)
    {
        EpochsRequested++;
        int shift = rotatePerEpoch ? epoch * 7 % stream.Length : 0;
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
                    inputs[r * length + t] = stream[(at + shift) % stream.Length];
                    targets[r * length + t] = stream[(at + 1 + shift) % stream.Length];
                }
            }
            yield return new LanguageModelBatch(
                torch.tensor(inputs, new long[] { rows, length }).DetachFromDisposeScope(),
                torch.tensor(targets, new long[] { rows, length }).DetachFromDisposeScope(), bptt);
        }
    }

    /// <summary>A learnable stream: a few repeated "sentences" over a small vocabulary.</summary>
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
