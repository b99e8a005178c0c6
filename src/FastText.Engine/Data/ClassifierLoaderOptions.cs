using static TorchSharp.torch;

namespace FastText.Engine.Data;

/// <summary>How a classifier batch is padded (pad id 1 placed first, fastai <c>pad_input_chunk</c>).</summary>
public enum ClassifierPadding
{
    /// <summary>
    /// Default, a deliberate fix of fastai issue #3379: the batch width is rounded up to a multiple of the sequence
    /// length, <c>W = ceil(L / seq_len) · seq_len</c>, then each row gets <c>floor((W − len) / seq_len) · seq_len</c>
    /// pads in front and <c>(W − len) mod seq_len</c> behind. Every row's text starts on a chunk boundary and ends in the
    /// last chunk, so at each chunk start the rows holding text form a prefix of the batch (what the sentence encoder
    /// assumes) and all trailing pads lie in the last <c>seq_len</c> window (what masked concat pooling assumes).
    /// Costs at most seq_len − 1 extra columns per batch.
    /// </summary>
    AlignedChunks,

    /// <summary>
    /// The same fix at a lower cost: the narrowest width ≥ the longest row at which, with fastai's front/back rule,
    /// every row's text still starts on a chunk boundary and ends inside the final chunk, and no front pad falls in
    /// the last seq_len columns — exactly the invariants <see cref="AlignedChunks"/> guarantees (it is never wider).
    /// With bucketed batches most rows are within a few tokens of each other, so this saves most of the rounding.
    /// </summary>
    MinimalChunkSafe,

    /// <summary>
    /// fastai's original layout (width = the longest row, same front/back rule). With it a longer row can already be in
    /// its trailing pads at a chunk start while a shorter row below still holds text; the encoder then skips the shorter
    /// row's last tokens (#3379). Kept for parity tests: fastai's published classifier results were produced with it.
    /// </summary>
    FastaiCompatible,
}

/// <summary>Order in which a classifier loader groups documents into batches.</summary>
public enum ClassifierOrder
{
    /// <summary>fastai <c>SortedDL</c>: batches of similar lengths (see <see cref="ClassifierLoader"/>).</summary>
    Sorted,

    /// <summary>Random batches (rows still sorted longest first inside each batch): a baseline for padding waste only.</summary>
    Random,
}

/// <summary>Settings of a <see cref="ClassifierLoader"/> (fastai <c>SortedDL</c> + <c>pad_input_chunk</c>).</summary>
public sealed record ClassifierLoaderOptions
{
    /// <summary>Training defaults: shuffled SortedDL order, last partial batch dropped, aligned padding.</summary>
    public static ClassifierLoaderOptions Training { get; } = new();

    /// <summary>Validation defaults: fully sorted longest first, last partial batch kept.</summary>
    public static ClassifierLoaderOptions Validation { get; } = new() { Shuffle = false };

    /// <summary>Rows per batch (fastai <c>bs</c>, default 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>The chunk length padding aligns to (fastai <c>seq_len</c> = the encoder's bptt, default 72).</summary>
    public int SequenceLength { get; init; } = 72;

    /// <summary>Training order (SortedDL shuffle) when true; fully sorted (validation) when false.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Drop the final partial batch; null = fastai's choice (true when <see cref="Shuffle"/>, false otherwise).</summary>
    public bool? DropLast { get; init; }

    /// <summary>Padding layout; default <see cref="ClassifierPadding.AlignedChunks"/>.</summary>
    public ClassifierPadding Padding { get; init; } = ClassifierPadding.AlignedChunks;

    /// <summary>Batch grouping; default <see cref="ClassifierOrder.Sorted"/>.</summary>
    public ClassifierOrder Order { get; init; } = ClassifierOrder.Sorted;

    /// <summary>
    /// Longest document kept, in tokens; longer ones are cut to their first <c>MaximumLength</c> tokens. Null (default)
    /// keeps whole documents as fastai does. A cap keeps one huge outlier (e.g. a mail with an encoded attachment)
    /// from padding its whole batch to its length; fastai's sentence encoder pools only the last 72·20 = 1440
    /// positions anyway, though it runs the LSTM over everything.
    /// </summary>
    public int? MaximumLength { get; init; }

    /// <summary>The pad id (fastai <c>xxpad</c> = 1).</summary>
    public int PadId { get; init; } = 1;

    /// <summary>Seed of every random choice; epoch <c>e</c> of a given seed is always the same.</summary>
    public int Seed { get; init; }

    /// <summary>Filled batches kept ready by a background thread; 0 fills each batch on the caller's thread.</summary>
    public int PrefetchDepth { get; init; } = 2;

    /// <summary>Device batches are delivered on; null (default) = CPU (see <see cref="LanguageModelLoaderOptions.Device"/>).</summary>
    public Device? Device { get; init; }

    /// <summary>fastai's megabatch factor: training batches are sorted within groups of 50 · bs documents.</summary>
    public const int MegabatchFactor = 50;

    internal bool DropsLast => DropLast ?? Shuffle;

    internal void Validate()
    {
        if (BatchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be at least 1.");
        }
        if (SequenceLength < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(SequenceLength), SequenceLength, "The sequence length must be at least 1.");
        }
        if (MaximumLength is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumLength), MaximumLength, "The maximum length must be at least 1 token.");
        }
        if (PrefetchDepth < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(PrefetchDepth), PrefetchDepth, "The prefetch depth must not be negative.");
        }
    }
}
