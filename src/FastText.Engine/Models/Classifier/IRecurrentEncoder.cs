using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Classifier;

/// <summary>
/// What <see cref="SentenceEncoder"/> needs from the language model's encoder (fastai's <c>AWD_LSTM</c> seen from the
/// classifier): a stateful forward over token ids and its parameter groups.
/// </summary>
public interface IRecurrentEncoder
{
    /// <summary>The TorchSharp module holding the encoder's parameters (registered as <c>module</c>, so state-dict keys
    /// read <c>0.module.encoder.weight</c> as in fastai). Adapters over a sealed encoder return the encoder itself.</summary>
    nn.Module Module { get; }

    /// <summary>Features per token of <see cref="Encode"/>'s output (the embedding size, 400 in ULMFiT).</summary>
    long OutputSize { get; }

    /// <summary>Padding token id (1 in fastai).</summary>
    int PaddingId { get; }

    /// <summary>Compute precision of the encoder's matrix products (<see cref="ComputePrecision"/>).</summary>
    ComputePrecision Precision { get; set; }

    /// <summary>Zeroes the carried hidden state (fastai's <c>reset</c>).</summary>
    void ResetState();

    /// <summary>
    /// Runs the encoder on <paramref name="ids"/> (rows, time) continuing from the carried state and returns the last
    /// layer's output (rows, time, <see cref="OutputSize"/>), not dropped. The new state is kept detached and outside every
    /// DisposeScope (the caller disposes each chunk's outputs before the next chunk runs). When the row
    /// count grows the state gains zero rows at the bottom; when it shrinks the first rows are kept (fastai §8.4).
    /// </summary>
    Tensor Encode(Tensor ids);

    /// <summary>Parameter groups in fastai's order for a classifier: [embedding], [rnn 0], [rnn 1], … (no duplicates;
    /// names are the encoder's own state-dict keys).</summary>
    IReadOnlyList<ParameterGroup> ParameterGroups();
}
