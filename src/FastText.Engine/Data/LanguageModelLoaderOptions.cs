using static TorchSharp.torch;

namespace FastText.Engine.Data;

/// <summary>Settings of a <see cref="LanguageModelLoader"/> (fastai <c>LMDataLoader</c>).</summary>
public sealed record LanguageModelLoaderOptions
{
    /// <summary>Training defaults: shuffled document order, fastai's bs 64 and seq_len 72, two batches prefetched.</summary>
    public static LanguageModelLoaderOptions Training { get; } = new();

    /// <summary>Validation defaults: fixed document order, otherwise as <see cref="Training"/>.</summary>
    public static LanguageModelLoaderOptions Validation { get; } = new() { Shuffle = false };

    /// <summary>Rows per batch (fastai <c>bs</c>; fastbook's LM uses 128).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Tokens per row per batch (fastai <c>seq_len</c>, the BPTT length; fastbook's LM uses 80).</summary>
    public int SequenceLength { get; init; } = 72;

    /// <summary>Shuffle document order each epoch (training); validation keeps the corpus order.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Seed of every random choice; epoch <c>e</c> of a given seed is always the same.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// AWD-LSTM's variable BPTT (absent from fastai v2): per batch, base = <see cref="SequenceLength"/> with probability
    /// 0.95 else half of it; length = max(5, trunc(N(base, 5))), capped at <see cref="SequenceLength"/> +
    /// <see cref="MaximumExtraLength"/> so buffers have a fixed size. The lengths are drawn from (seed, epoch) when the
    /// epoch is planned, so a checkpoint's epoch number and batch index fix them. See <see cref="ScaleLearningRate"/>.
    /// </summary>
    public bool VariableSequenceLength { get; init; }

    /// <summary>
    /// With <see cref="VariableSequenceLength"/>: scale each batch's learning rate by its length / <see cref="SequenceLength"/>
    /// (<see cref="LanguageModelBatch.LearningRateScale"/>), as the AWD-LSTM code (Merity et al.) does, so a short
    /// sequence does not get a full-size update for fewer tokens (reference §6, "History"). Default true: the scaling
    /// belongs to the variable-BPTT recipe, which is off by default — fastai v2 has fixed-length batches and no scaling,
    /// and with fixed lengths nothing is scaled (not even the shorter last batch). Set false for variable lengths at the
    /// scheduled rate. AWD-LSTM scales by the drawn length; here the
    /// length actually trained on is used, which differs only for the batch cut at the end of the rows.
    /// </summary>
    public bool ScaleLearningRate { get; init; } = true;

    /// <summary>
    /// Longest excess over <see cref="SequenceLength"/> a variable-length batch may have (default 20 = 4σ: a draw above
    /// it has probability ≈3·10⁻⁵, so the cap hardly changes the distribution; the original code's cap was commented out).
    /// </summary>
    public int MaximumExtraLength { get; init; } = 20;

    /// <summary>Filled batches kept ready by a background thread; 0 fills each batch on the caller's thread.</summary>
    public int PrefetchDepth { get; init; } = 2;

    /// <summary>Device batches are delivered on; null (default) = CPU. A CUDA device needs a CUDA build of libtorch
    /// (pinned host buffers + non-blocking copies; not exercised in this environment).</summary>
    public Device? Device { get; init; }

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
        if (MaximumExtraLength < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaximumExtraLength), MaximumExtraLength, "The extra length cap must not be negative.");
        }
        if (PrefetchDepth < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(PrefetchDepth), PrefetchDepth, "The prefetch depth must not be negative.");
        }
    }
}
