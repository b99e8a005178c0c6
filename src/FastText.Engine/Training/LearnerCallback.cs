using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>
/// A hook into the training loop, fastai-style: override the events you need. The loop calls, in order:
/// BeforeFit → (BeforeEpoch → BeforeTrain → (BeforeBatch → AfterLoss → AfterBackward → BeforeStep → AfterStep →
/// AfterBatch)* → AfterTrain → BeforeValidate → AfterValidate → AfterEpoch)* → AfterFit. Callbacks run in the order of
/// <see cref="Learner{TBatch}.Callbacks"/>; within a batch the events themselves order the step's changes (a loss
/// scaler unscales in AfterBackward, clipping runs in BeforeStep, so clipping always sees true gradients).
/// </summary>
public abstract class LearnerCallback
{
    /// <summary>What this callback changes in the training arithmetic, as it enters a fit's checkpoint signature (a
    /// checkpoint only resumes a fit with the same changes), or null when it changes nothing (progress, plots).</summary>
    public virtual string? FitSignature => null;

    /// <summary>Start of a fit.</summary>
    public virtual void BeforeFit(LearnerContext context) { }

    /// <summary>Start of an epoch.</summary>
    public virtual void BeforeEpoch(LearnerContext context) { }

    /// <summary>Before the training pass (model in train mode, state reset).</summary>
    public virtual void BeforeTrain(LearnerContext context) { }

    /// <summary>Before a training batch (schedule already applied).</summary>
    public virtual void BeforeBatch(LearnerContext context) { }

    /// <summary>After forward + loss (<see cref="LearnerContext.Output"/> and <see cref="LearnerContext.BackwardLoss"/> are
    /// set; a callback may replace the latter, as loss scaling does).</summary>
    public virtual void AfterLoss(LearnerContext context) { }

    /// <summary>After backward (<see cref="LearnerContext.TrainableParameters"/> hold their gradients).</summary>
    public virtual void AfterBackward(LearnerContext context) { }

    /// <summary>Before the optimizer step; set <see cref="LearnerContext.SkipStep"/> to skip it.</summary>
    public virtual void BeforeStep(LearnerContext context) { }

    /// <summary>After the optimizer step (or its skip on overflow).</summary>
    public virtual void AfterStep(LearnerContext context) { }

    /// <summary>End of a training batch (<see cref="LearnerContext.BatchLoss"/> is set).</summary>
    public virtual void AfterBatch(LearnerContext context) { }

    /// <summary>End of the training pass.</summary>
    public virtual void AfterTrain(LearnerContext context) { }

    /// <summary>Before validation (model in eval mode, state reset).</summary>
    public virtual void BeforeValidate(LearnerContext context) { }

    /// <summary>After validation.</summary>
    public virtual void AfterValidate(LearnerContext context) { }

    /// <summary>End of an epoch (<see cref="LearnerContext.LastEpoch"/> is set, checkpoint written).</summary>
    public virtual void AfterEpoch(LearnerContext context) { }

    /// <summary>End of a fit.</summary>
    public virtual void AfterFit(LearnerContext context) { }

    internal void On(LearnerEvent e, LearnerContext context)
    {
        switch (e)
        {
            case LearnerEvent.BeforeFit: BeforeFit(context); break;
            case LearnerEvent.BeforeEpoch: BeforeEpoch(context); break;
            case LearnerEvent.BeforeTrain: BeforeTrain(context); break;
            case LearnerEvent.BeforeBatch: BeforeBatch(context); break;
            case LearnerEvent.AfterLoss: AfterLoss(context); break;
            case LearnerEvent.AfterBackward: AfterBackward(context); break;
            case LearnerEvent.BeforeStep: BeforeStep(context); break;
            case LearnerEvent.AfterStep: AfterStep(context); break;
            case LearnerEvent.AfterBatch: AfterBatch(context); break;
            case LearnerEvent.AfterTrain: AfterTrain(context); break;
            case LearnerEvent.BeforeValidate: BeforeValidate(context); break;
            case LearnerEvent.AfterValidate: AfterValidate(context); break;
            case LearnerEvent.AfterEpoch: AfterEpoch(context); break;
            case LearnerEvent.AfterFit: AfterFit(context); break;
        }
    }
}

/// <summary>The loop's events, in <see cref="LearnerCallback"/>'s order.</summary>
internal enum LearnerEvent
{
    BeforeFit, BeforeEpoch, BeforeTrain, BeforeBatch, AfterLoss, AfterBackward, BeforeStep, AfterStep, AfterBatch,
    AfterTrain, BeforeValidate, AfterValidate, AfterEpoch, AfterFit,
}

/// <summary>What the loop exposes to callbacks.</summary>
public sealed class LearnerContext
{
    /// <summary>Epoch index within the current fit.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Epochs of the current fit.</summary>
    public int Epochs { get; internal set; }

    /// <summary>Training iterations done in this fit.</summary>
    public long Iteration { get; internal set; }

    /// <summary>Training iterations of the whole fit.</summary>
    public long Iterations { get; internal set; }

    /// <summary>The current batch's output (valid until <see cref="LearnerCallback.AfterBatch"/> returns).</summary>
    public BatchOutput? Output { get; internal set; }

    /// <summary>The current training batch's reported loss.</summary>
    public double BatchLoss { get; internal set; }

    /// <summary>Smoothed training loss.</summary>
    public double SmoothedLoss { get; internal set; }

    /// <summary>Learning rate per parameter group applied to the current batch (the schedule's rate × <see cref="LearningRateScale"/>).</summary>
    public IReadOnlyList<double> LearningRates { get; internal set; } = Array.Empty<double>();

    /// <summary>The task's factor on the scheduled rates for this batch (variable-BPTT scaling; 1 otherwise).</summary>
    public double LearningRateScale { get; internal set; } = 1;

    /// <summary>β1 of the current batch.</summary>
    public double Momentum { get; internal set; }

    /// <summary>The tensor backward is called on: the task's loss (+ AR/TAR), or what a callback replaced it with in
    /// <see cref="LearnerCallback.AfterLoss"/> (a scaled loss). Valid until the batch ends.</summary>
    public Tensor? BackwardLoss { get; set; }

    /// <summary>The parameters the optimizer updates in this batch (their gradients are set after backward).</summary>
    public IReadOnlyList<Parameter> TrainableParameters { get; private set; } = Array.Empty<Parameter>();

    /// <summary>Set (in <see cref="LearnerCallback.AfterBackward"/> or <see cref="LearnerCallback.BeforeStep"/>) to skip
    /// this batch's optimizer step, e.g. on a loss-scale overflow; cleared before each batch.</summary>
    public bool SkipStep { get; set; }

    /// <summary>The most recent finished epoch.</summary>
    public EpochResult? LastEpoch { get; internal set; }

    /// <summary>Set to stop the fit after the current batch (fastai <c>CancelFitException</c>); the epoch is not completed.
    /// With a checkpoint path a mid-epoch checkpoint is written, from which a resumed fit continues at the next batch.</summary>
    public bool StopNow { get; set; }

    /// <summary>Set (e.g. in <see cref="LearnerCallback.AfterBatch"/>) to write a mid-epoch checkpoint after the current
    /// batch, when the fit has a checkpoint path; cleared once written.</summary>
    public bool CheckpointNow { get; set; }

    /// <summary>Set to stop the fit after the current epoch (after its checkpoint is written).</summary>
    public bool StopAfterEpoch { get; set; }

    internal void StartBatch(IReadOnlyList<double> rates, double scale, double momentum, IReadOnlyList<Parameter> trainable)
    {
        LearningRates = rates;
        LearningRateScale = scale;
        Momentum = momentum;
        TrainableParameters = trainable;
        SkipStep = false;
    }

    internal void EndBatch(double loss, double smoothedLoss)
    {
        BatchLoss = loss;
        SmoothedLoss = smoothedLoss;
        Iteration++;
    }
}

/// <summary>Prints fastai's results table, one line per epoch.</summary>
public sealed class ConsoleProgress : LearnerCallback
{
    private readonly TextWriter writer;

    /// <summary>Writes to <paramref name="writer"/> (standard output by default).</summary>
    public ConsoleProgress(TextWriter? writer = null) => this.writer = writer ?? Console.Out;

    /// <inheritdoc />
    public override void AfterEpoch(LearnerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        writer.WriteLine(context.LastEpoch?.ToString());
    }
}
