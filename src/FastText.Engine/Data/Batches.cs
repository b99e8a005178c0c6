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
}

/// <summary>One language-model batch: inputs and next-token targets, both (rows, sequence length).</summary>
/// <remarks>The tensors may wrap pooled buffers: they are valid until the batch is disposed.</remarks>
public sealed class LanguageModelBatch : IDisposable
{
    private readonly Action? release;

    /// <summary>Creates a batch; <paramref name="release"/> runs once on dispose, after the tensors are disposed.</summary>
    public LanguageModelBatch(Tensor inputs, Tensor targets, int nominalSequenceLength, Action? release = null)
    {
        Inputs = inputs;
        Targets = targets;
        NominalSequenceLength = nominalSequenceLength;
        this.release = release;
    }

    /// <summary>Token ids, (rows, sequence length), int64.</summary>
    public Tensor Inputs { get; }

    /// <summary>Next-token ids, same shape as <see cref="Inputs"/>.</summary>
    public Tensor Targets { get; }

    /// <summary>This batch's sequence length.</summary>
    public int SequenceLength => (int)Inputs.shape[1];

    /// <summary>The loader's configured sequence length (bptt); with variable BPTT the trainer scales the learning rate
    /// by <see cref="SequenceLength"/> / <see cref="NominalSequenceLength"/>.</summary>
    public int NominalSequenceLength { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Targets.Dispose();
        release?.Invoke();
    }
}

/// <summary>One classifier batch: padded token ids (rows sorted longest first), labels and lengths.</summary>
/// <remarks>The tensors may wrap pooled buffers: they are valid until the batch is disposed.</remarks>
public sealed class ClassifierBatch : IDisposable
{
    private readonly Action? release;

    /// <summary>Creates a batch; <paramref name="release"/> runs once on dispose, after the tensors are disposed.</summary>
    public ClassifierBatch(Tensor inputs, Tensor labels, int[] lengths, long padTokens, Action? release = null)
    {
        Inputs = inputs;
        Labels = labels;
        Lengths = lengths;
        PadTokens = padTokens;
        this.release = release;
    }

    /// <summary>Token ids, (rows, padded width), int64, pad id 1 placed first (see the classifier loader for the layout).</summary>
    public Tensor Inputs { get; }

    /// <summary>Class index per row, (rows), int64.</summary>
    public Tensor Labels { get; }

    /// <summary>Unpadded length of each row (longest first).</summary>
    public int[] Lengths { get; }

    /// <summary>Number of pad tokens in <see cref="Inputs"/>.</summary>
    public long PadTokens { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Inputs.Dispose();
        Labels.Dispose();
        release?.Invoke();
    }
}
