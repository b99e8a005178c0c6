using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Data;

/// <summary>
/// A source of batches for one split (training or validation). The trainer asks for one epoch at a time and disposes
/// each batch when done with it (which returns pooled buffers to the loader).
/// </summary>
/// <typeparam name="TBatch">The batch type.</typeparam>
public interface IBatchSource<out TBatch> where TBatch : IDisposable
{
    /// <summary>Number of batches one epoch yields.</summary>
    int BatchCount { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/> (the epoch number seeds any shuffling).</summary>
    IEnumerable<TBatch> Epoch(int epoch, CancellationToken cancellation = default);

    /// <summary>Exact number of batches of <paramref name="epoch"/>, for the one-cycle schedule's length (default
    /// <see cref="BatchCount"/>; differs with variable BPTT).</summary>
    int CountBatches(int epoch) => BatchCount;

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/> from batch <paramref name="firstBatch"/> on: what a checkpoint taken
    /// after <paramref name="firstBatch"/> batches resumes with. An epoch must therefore be a function of its number
    /// (and the source's settings) alone. The default enumerates the whole epoch and disposes the skipped batches;
    /// the engine's loaders skip them without building them.
    /// </summary>
    IEnumerable<TBatch> EpochFrom(int epoch, int firstBatch, CancellationToken cancellation = default) =>
        BatchSources.Skip(Epoch(epoch, cancellation), firstBatch);

    /// <summary>
    /// What decides the batches besides the epoch number (data size, batch shape, order, seed), recorded in a checkpoint
    /// so that resuming with other data or loader settings fails clearly instead of continuing at a wrong position.
    /// </summary>
    string Signature => GetType().Name;
}

/// <summary>Helpers for <see cref="IBatchSource{TBatch}"/>.</summary>
internal static class BatchSources
{
    /// <summary>Skips (and disposes) the first <paramref name="count"/> batches of <paramref name="batches"/>.</summary>
    public static IEnumerable<TBatch> Skip<TBatch>(IEnumerable<TBatch> batches, int count) where TBatch : IDisposable
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return SkipCore(batches, count);
    }

    private static IEnumerable<TBatch> SkipCore<TBatch>(IEnumerable<TBatch> batches, int count) where TBatch : IDisposable
    {
        int index = 0;
        foreach (TBatch batch in batches)
        {
            if (index++ < count)
            {
                batch.Dispose();
                continue;
            }
            yield return batch;
        }
        if (index < count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"The epoch has only {index} batches; cannot start at batch {count}.");
        }
    }

    /// <summary>A stable 64-bit FNV-1a hash of <paramref name="values"/> (same in every process, unlike <see cref="HashCode"/>).</summary>
    internal static ulong StableHash(ReadOnlySpan<int> values)
    {
        ulong hash = 14695981039346656037UL;
        foreach (int value in values)
        {
            hash = (hash ^ (uint)value) * 1099511628211UL;
        }
        return hash;
    }

    /// <summary>Checks a resume position against an epoch of <paramref name="batches"/> batches.</summary>
    internal static void CheckFirst(int firstBatch, int batches)
    {
        if (firstBatch < 0 || firstBatch > batches)
        {
            throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, $"The epoch has {batches} batches; a resumed epoch must start at 0 … {batches}.");
        }
    }
}

/// <summary>One language-model batch: inputs and next-token targets, both (rows, sequence length).</summary>
/// <remarks>The tensors may wrap pooled buffers: they are valid until the batch is disposed.</remarks>
public sealed class LanguageModelBatch : IDisposable
{
    private readonly Action? release;
    private readonly bool ownsTensors;
    private readonly double learningRateScale = 1;

    /// <summary>Creates a batch; <paramref name="release"/> runs once on dispose, after the tensors are disposed.</summary>
    public LanguageModelBatch(Tensor inputs, Tensor targets, int nominalSequenceLength, Action? release = null)
        : this(inputs, targets, nominalSequenceLength, release, ownsTensors: true)
    {
    }

    /// <summary>
    /// Creates a batch whose tensors may belong to a loader's buffer pool (<paramref name="ownsTensors"/> false): then
    /// dispose only runs <paramref name="release"/>, which hands the tensors (views of a pinned, reused buffer) back to
    /// the pool so the same batch object and tensors serve again without allocating.
    /// </summary>
    internal LanguageModelBatch(Tensor inputs, Tensor targets, int nominalSequenceLength, Action? release, bool ownsTensors)
    {
        Inputs = inputs;
        Targets = targets;
        NominalSequenceLength = nominalSequenceLength;
        this.release = release;
        this.ownsTensors = ownsTensors;
    }

    /// <summary>Token ids, (rows, sequence length), int64.</summary>
    public Tensor Inputs { get; }

    /// <summary>Next-token ids, same shape as <see cref="Inputs"/>.</summary>
    public Tensor Targets { get; }

    /// <summary>This batch's sequence length.</summary>
    public int SequenceLength => (int)Inputs.size(1);

    /// <summary>The loader's configured sequence length (bptt).</summary>
    public int NominalSequenceLength { get; }

    /// <summary>
    /// Factor the trainer applies to every group's scheduled learning rate for this batch (1 unless the loader asks
    /// otherwise). With variable BPTT and <see cref="LanguageModelLoaderOptions.ScaleLearningRate"/> the loader sets
    /// <see cref="SequenceLength"/> / <see cref="NominalSequenceLength"/> (AWD-LSTM's rule).
    /// </summary>
    public double LearningRateScale
    {
        get => learningRateScale;
        init => learningRateScale = value > 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(LearningRateScale), value, "A learning-rate scale must be positive and finite.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsTensors)
        {
            Inputs.Dispose();
            Targets.Dispose();
        }
        release?.Invoke();
    }
}

/// <summary>One classifier batch: padded token ids (rows sorted longest first), labels and lengths.</summary>
/// <remarks>The tensors may wrap pooled buffers: they are valid until the batch is disposed.</remarks>
public sealed class ClassifierBatch : IDisposable
{
    private readonly Action? release;
    private readonly bool ownsTensors;

    /// <summary>Creates a batch; <paramref name="release"/> runs once on dispose, after the tensors are disposed.</summary>
    /// <remarks><see cref="TextStarts"/> is left empty and <see cref="ChunkLength"/> 0 (layout unknown).</remarks>
    public ClassifierBatch(Tensor inputs, Tensor labels, int[] lengths, long padTokens, Action? release = null)
        : this(inputs, labels, lengths, Array.Empty<int>(), 0, padTokens, release, ownsTensors: true)
    {
    }

    /// <summary>Creates a batch with its padding layout; <paramref name="release"/> runs once on dispose, after the tensors are disposed.</summary>
    /// <param name="inputs">Padded ids, (rows, width), int64.</param>
    /// <param name="labels">Class index per row, (rows), int64.</param>
    /// <param name="lengths">Unpadded length of each row.</param>
    /// <param name="textStarts">Column where each row's text begins (all columns before it are pads).</param>
    /// <param name="chunkLength">The sequence length (fastai <c>seq_len</c>) the padding aligns text to.</param>
    /// <param name="padTokens">Number of pad tokens in <paramref name="inputs"/>.</param>
    /// <param name="release">Runs once on dispose.</param>
    public ClassifierBatch(Tensor inputs, Tensor labels, int[] lengths, int[] textStarts, int chunkLength, long padTokens, Action? release = null)
        : this(inputs, labels, lengths, textStarts, chunkLength, padTokens, release, ownsTensors: true)
    {
    }

    /// <summary>
    /// Creates a batch whose tensors and arrays may belong to a loader's buffer pool (<paramref name="ownsTensors"/>
    /// false): then dispose only runs <paramref name="release"/>, which returns them to the pool for reuse.
    /// </summary>
    internal ClassifierBatch(Tensor inputs, Tensor labels, int[] lengths, int[] textStarts, int chunkLength, long padTokens, Action? release, bool ownsTensors)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(textStarts);
        Inputs = inputs;
        Labels = labels;
        Lengths = lengths;
        TextStarts = textStarts;
        ChunkLength = chunkLength;
        PadTokens = padTokens;
        this.release = release;
        this.ownsTensors = ownsTensors;
    }

    /// <summary>Token ids, (rows, padded width), int64, pad id 1 placed first (see the classifier loader for the layout).</summary>
    public Tensor Inputs { get; }

    /// <summary>Class index per row, (rows), int64.</summary>
    public Tensor Labels { get; }

    /// <summary>Unpadded length of each row (longest first).</summary>
    public int[] Lengths { get; }

    /// <summary>Number of pad tokens in <see cref="Inputs"/>.</summary>
    public long PadTokens { get; private set; }

    /// <summary>Column where each row's text begins (columns before it hold pads); empty when the layout is unknown.</summary>
    public int[] TextStarts { get; }

    /// <summary>The sequence length (fastai <c>seq_len</c>, default 72) that every row's text start is aligned to; 0 when unknown.</summary>
    public int ChunkLength { get; }

    /// <summary>Padded width of this batch (columns of <see cref="Inputs"/>).</summary>
    public int Width => (int)Inputs.size(1);

    /// <summary>
    /// The padding mask fastai's <c>SentenceEncoder</c> builds (<c>ids == pad_idx</c>): bool, (rows, width), true at pads.
    /// A new tensor: the caller disposes it (or lets its dispose scope do so).
    /// </summary>
    /// <param name="padId">The pad id (fastai <c>xxpad</c> = 1).</param>
    public Tensor CreatePaddingMask(long padId = 1)
    {
        using Scalar padding = padId;      // explicit: an implicit Scalar is the GC's to free mid-call (Native/Scalars.cs)
        return Inputs.eq(padding);
    }

    /// <summary>Updates the per-batch figure of a pooled batch object before it is handed out again.</summary>
    internal void Reuse(long padTokens) => PadTokens = padTokens;

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsTensors)
        {
            Inputs.Dispose();
            Labels.Dispose();
        }
        release?.Invoke();
    }
}
