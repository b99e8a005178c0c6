using FastText.Engine.Models;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>What one batch produced, for the loop and the metrics.</summary>
/// <param name="Loss">The loss to report (fp32 scalar, detached); for training it includes AR/TAR (fastai 2.0).</param>
/// <param name="BackwardLoss">The tensor to call backward on (training only; same gradients as <paramref name="Loss"/>).</param>
/// <param name="Correct">Correct predictions (int64 scalar), when the task counts them.</param>
/// <param name="Predictions">Number of predictions behind <paramref name="Correct"/>.</param>
/// <param name="Rows">Batch rows (fastai weights validation metrics by rows, not tokens).</param>
/// <param name="Tokens">Tokens processed (for throughput).</param>
public readonly record struct BatchOutput(Tensor Loss, Tensor BackwardLoss, Tensor? Correct, long Predictions, int Rows, long Tokens);

/// <summary>
/// The model-specific part of training, so one <see cref="Learner{TBatch}"/> loop serves the language model
/// (<see cref="LanguageModelTask"/>) and the classifier (a task over <c>ClassifierBatch</c>).
/// </summary>
/// <typeparam name="TBatch">Batch type.</typeparam>
public interface ILearnerTask<in TBatch> where TBatch : IDisposable
{
    /// <summary>The model being trained (train/eval mode, state dict for checkpoints).</summary>
    nn.Module Model { get; }

    /// <summary>Layer groups, first to last, for discriminative learning rates and freezing (fastai splitter).</summary>
    IReadOnlyList<ParameterGroup> ParameterGroups { get; }

    /// <summary>Identifies architecture and vocabulary: a checkpoint written for another fingerprint is refused.</summary>
    string Fingerprint { get; }

    /// <summary>Forgets recurrent state (fastai <c>ModelResetter</c>: before each epoch's training and validation, after fit).</summary>
    void ResetState();

    /// <summary>Recurrent state carried from one training batch to the next (the language model's hidden state), which a
    /// mid-epoch checkpoint must save to resume exactly. The task's own tensors: read them, do not dispose them.
    /// Default: none (e.g. the classifier resets per batch).</summary>
    IReadOnlyList<Tensor> CarriedState => Array.Empty<Tensor>();

    /// <summary>Restores (copies) a <see cref="CarriedState"/>; throws <see cref="ArgumentException"/> when it does not fit.</summary>
    void RestoreCarriedState(IReadOnlyList<Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 0)
        {
            throw new ArgumentException($"This task carries no state between batches, but {state.Count} state tensors were given.", nameof(state));
        }
    }

    /// <summary>Factor applied to every group's scheduled learning rate for this training batch (default 1; the language
    /// model passes on <see cref="Data.LanguageModelBatch.LearningRateScale"/>, AWD-LSTM's variable-BPTT scaling).</summary>
    double LearningRateScale(TBatch batch) => 1;

    /// <summary>Forward pass and loss (+ regularisation when <paramref name="training"/>) of one batch. Called inside the
    /// loop's per-batch dispose scope; <c>no_grad</c> is active when not training.</summary>
    BatchOutput Step(TBatch batch, bool training);
}
