using System.Diagnostics;
using FastText.Engine.Data;
using FastText.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>
/// fastai's <c>Learner</c> for one task: Adam (= AdamW, β2 0.99, ε 1e-5, wd 0.01), one-cycle per parameter group,
/// discriminative learning rates, freezing, validation metrics, a learning-rate finder and exact-resume checkpoints.
/// Everything else that shapes a step (gradient clipping, loss scaling, progress, early stops) is a <see cref="LearnerCallback"/>.
/// </summary>
/// <typeparam name="TBatch">Batch type (<see cref="LanguageModelBatch"/> or <see cref="ClassifierBatch"/>).</typeparam>
public sealed partial class Learner<TBatch> : IDisposable where TBatch : IDisposable
{
    private readonly ILearnerTask<TBatch> task;
    private readonly LearnerOptimizer optimizer;
    private readonly List<EpochResult> history = new();
    private readonly SmoothedLoss smoothed = new();
    private readonly double[] appliedRates;
    private int completedEpochs;

    /// <summary>Creates a learner; all groups start trainable (call <see cref="Freeze"/> after loading pretrained weights).</summary>
    public Learner(ILearnerTask<TBatch> task, IBatchSource<TBatch> training, IBatchSource<TBatch>? validation = null,
        LearnerOptions? options = null, IReadOnlyList<IMetric>? metrics = null)
    {
        this.task = task ?? throw new ArgumentNullException(nameof(task));
        Training = training ?? throw new ArgumentNullException(nameof(training));
        Validation = validation;
        Options = options ?? new LearnerOptions();
        Metrics = metrics ?? Array.Empty<IMetric>();
        optimizer = new LearnerOptimizer(task.ParameterGroups, Options);
        appliedRates = new double[optimizer.Groups.Count];
    }

    /// <summary>The task (model, loss).</summary>
    public ILearnerTask<TBatch> Task => task;

    /// <summary>Training batches.</summary>
    public IBatchSource<TBatch> Training { get; }

    /// <summary>Validation batches, or null.</summary>
    public IBatchSource<TBatch>? Validation { get; }

    /// <summary>Optimizer settings.</summary>
    public LearnerOptions Options { get; }

    /// <summary>Validation metrics.</summary>
    public IReadOnlyList<IMetric> Metrics { get; }

    /// <summary>Loop hooks, called in list order.</summary>
    public IList<LearnerCallback> Callbacks { get; } = new List<LearnerCallback>();

    /// <summary>Every epoch's results since the learner was created (or restored).</summary>
    public IReadOnlyList<EpochResult> History => history;

    /// <summary>Parameter groups (deduplicated: a tied matrix appears once).</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups => optimizer.Groups;

    /// <summary>Index of the first trainable group (0 = unfrozen).</summary>
    public int FrozenUpTo => optimizer.FrozenUpTo;

    /// <summary>Epochs trained in total (seeds the loaders' shuffling so consecutive fits see new orders).</summary>
    public int CompletedEpochs => completedEpochs;

    /// <summary>The parameters the optimizer currently updates (unique).</summary>
    public IReadOnlyList<Parameter> TrainableParameters => optimizer.Trainable;

    /// <summary>fastai <c>freeze_to(n)</c>: groups before n stop training (negative n counts from the end); the optimizer is
    /// recreated, which clears Adam's state as fastai does. Parameters flagged <c>TrainWhenFrozen</c> stay trainable.</summary>
    public void FreezeTo(int group) => optimizer.FreezeTo(group);

    /// <summary>fastai <c>freeze()</c>: only the last group trains.</summary>
    public void Freeze() => FreezeTo(-1);

    /// <summary>fastai <c>unfreeze()</c>: every group trains.</summary>
    public void Unfreeze() => FreezeTo(0);

    /// <summary>fastai <c>fine_tune</c>: frozen one-cycle (pct 0.99) at slice(lr), then unfrozen at slice(lr/2/100, lr/2), pct 0.3, div 5.</summary>
    public IReadOnlyList<EpochResult> FineTune(int epochs, double baseLearningRate = 2e-3, int frozenEpochs = 1, double learningRateMultiplier = 100)
    {
        var results = new List<EpochResult>();
        Freeze();
        results.AddRange(FitOneCycle(frozenEpochs, LearningRates.Slice(baseLearningRate), new FitOptions(new OneCycleSchedule(PctStart: 0.99))));
        baseLearningRate /= 2;
        Unfreeze();
        results.AddRange(FitOneCycle(epochs, LearningRates.Slice(baseLearningRate / learningRateMultiplier, baseLearningRate),
            new FitOptions(new OneCycleSchedule(PctStart: 0.3, Div: 5))));
        return results;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The loop: fit → epochs → batches. Checkpoints are in Learner.Checkpoint.cs, the rate finder in
    // Learner.LearningRateFinder.cs, the optimizer in LearnerOptimizer.cs.

    /// <summary>
    /// fastai <c>fit_one_cycle(epochs, lr_max)</c>. Returns this fit's epochs (those completed by this call). With a
    /// checkpoint path the fit is saved after every epoch and at the points <see cref="FitOptions"/> lists; with
    /// <see cref="FitOptions.Resume"/> a matching checkpoint is continued, mid-epoch ones at the next batch.
    /// Cancelling <paramref name="cancellation"/> stops between batches with <see cref="OperationCanceledException"/>.
    /// </summary>
    public IReadOnlyList<EpochResult> FitOneCycle(int epochs, LearningRates maxLearningRate, FitOptions? fit = null, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentNullException.ThrowIfNull(maxLearningRate);
        fit ??= new FitOptions();
        OneCycleSchedule schedule = fit.Schedule ?? OneCycleSchedule.Default;
        FitPosition position = StartFit(epochs, maxLearningRate, schedule, fit);
        double[] maxRates = maxLearningRate.For(optimizer.Groups.Count);
        // The cycle spans the fit's exact batch count (variable BPTT: each epoch's own), so it ends at pos = 1.
        var context = new LearnerContext { Epochs = epochs, Iterations = CountIterations(completedEpochs - position.Epoch, epochs), Iteration = position.Iteration };
        var results = new List<EpochResult>();
        Raise(LearnerEvent.BeforeFit, context);
        while (position.Epoch < epochs && !context.StopNow)
        {
            context.Epoch = position.Epoch;
            Raise(LearnerEvent.BeforeEpoch, context);
            TrainEpoch(context, schedule, maxRates, position, fit.CheckpointEveryBatches, cancellation);
            if (context.StopNow)
            {
                SaveCheckpoint(position, context);   // resumes at the next batch
                break;
            }
            var clock = Stopwatch.StartNew();
            var (validLoss, metrics) = ValidateCore(context);
            completedEpochs++;
            var result = new EpochResult(position.Epoch, smoothed.Value, validLoss, metrics, position.TrainSeconds + clock.Elapsed.TotalSeconds,
                position.Tokens / Math.Max(position.TrainSeconds, 1e-9));
            history.Add(result);
            results.Add(result);
            context.LastEpoch = result;
            position.NextEpoch();
            task.ResetState();                       // the next epoch starts from zeros: nothing carried to save
            SaveCheckpoint(position, context);
            Raise(LearnerEvent.AfterEpoch, context);
            if (context.StopAfterEpoch)
            {
                break;
            }
        }
        task.ResetState();
        Raise(LearnerEvent.AfterFit, context);
        return results;
    }

    private void TrainEpoch(LearnerContext context, OneCycleSchedule schedule, double[] maxRates, FitPosition position, int? checkpointEvery,
        CancellationToken cancellation)
    {
        task.Model.train();
        if (position.Batches == 0)              // (a resumed epoch goes on from the carried state its checkpoint restored)
        {
            task.ResetState();
        }
        Raise(LearnerEvent.BeforeTrain, context);
        var rates = new double[maxRates.Length];
        position.StartClock();
        using IEnumerator<TBatch> batches = Training.EpochFrom(completedEpochs, position.Batches, cancellation).GetEnumerator();
        while (NextBatch(batches, position, context, cancellation))
        {
            using (TBatch batch = batches.Current)
            {
                double at = (double)context.Iteration / context.Iterations;
                double factor = schedule.LearningRateFactor(at);
                for (int g = 0; g < rates.Length; g++)
                {
                    rates[g] = maxRates[g] * factor;
                }
                position.Tokens += TrainBatch(batch, rates, schedule.Momentum(at), context);
                position.Batches++;
            }
            if (context.StopNow)
            {
                break;
            }
            if (context.CheckpointNow || position.Batches % (checkpointEvery ?? int.MaxValue) == 0)
            {
                SaveCheckpoint(position, context);
            }
        }
        position.StopClock();
        Raise(LearnerEvent.AfterTrain, context);
    }

    // One iteration, fastai 2.0 order: hyper-parameters → predict + loss (+AR/TAR) → backward → step → zero grads → record.
    // Callbacks change the step between those points: loss scaling in AfterLoss/AfterBackward, clipping in BeforeStep.
    private long TrainBatch(TBatch batch, double[] rates, double momentum, LearnerContext context)
    {
        using var scope = torch.NewDisposeScope();
        double scale = task.LearningRateScale(batch);
        for (int g = 0; g < rates.Length; g++)
        {
            appliedRates[g] = rates[g] * scale;
        }
        optimizer.SetHyperParameters(appliedRates, momentum);
        context.StartBatch(appliedRates, scale, momentum, optimizer.Trainable);
        Raise(LearnerEvent.BeforeBatch, context);

        BatchOutput output = task.Step(batch, training: true);
        double loss = output.Loss.item<float>();
        if (!double.IsFinite(loss) && LossScaler() is null)          // (with loss scaling, the scaler skips the step)
        {
            throw new TrainingDivergedException(FormattableString.Invariant(
                $"Training diverged at iteration {context.Iteration + 1} of {context.Iterations} (epoch {context.Epoch + 1} of {context.Epochs}): the loss is {loss}. The step was not applied and nothing was saved from it; the last checkpoint, if any, holds finite weights. Lower the learning rate (--lr), clip gradients (--clip) or check the data."));
        }
        context.Output = output;
        context.BackwardLoss = output.BackwardLoss;
        Raise(LearnerEvent.AfterLoss, context);
        context.BackwardLoss.backward();
        Raise(LearnerEvent.AfterBackward, context);
        Raise(LearnerEvent.BeforeStep, context);
        if (!context.SkipStep)
        {
            optimizer.Step();
        }
        Raise(LearnerEvent.AfterStep, context);
        optimizer.ZeroGradients();

        smoothed.Add(loss);
        context.EndBatch(loss, smoothed.Value);
        Raise(LearnerEvent.AfterBatch, context);
        context.Output = null;
        context.BackwardLoss = null;
        return output.Tokens;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Around the loop.

    // Checks the fit, resets the loss and the carried state, and finds where the fit starts: at its beginning, or where
    // a matching checkpoint left it. The signature names everything a checkpoint must agree on to be continued.
    private FitPosition StartFit(int epochs, LearningRates maxLearningRate, OneCycleSchedule schedule, FitOptions fit)
    {
        if (fit.CheckpointEveryBatches is < 1 || (fit.CheckpointEveryBatches is not null && fit.CheckpointPath is null))
        {
            throw new ArgumentException("CheckpointEveryBatches must be at least 1 and needs a CheckpointPath.", nameof(fit));
        }
        int batches = Training.BatchCount;
        if (batches < 1)
        {
            throw new InvalidDataException(
                "The training data yields no batches: it is too small for the batch size and sequence length (on the command line: --bs and --bptt for a language model, --clas-bs for a classifier); use smaller ones or more text.");
        }
        string callbacks = string.Concat(Callbacks.Select(c => c.FitSignature).Where(s => s is not null).Select(s => " " + s));
        string signature = FormattableString.Invariant($"one-cycle epochs={epochs} lr={maxLearningRate} {schedule.Signature()} batches={batches} {Options.Signature()}{callbacks}");
        smoothed.Reset();
        task.ResetState();
        return fit.Resume && fit.CheckpointPath is not null && File.Exists(fit.CheckpointPath)
            ? LoadCheckpoint(fit.CheckpointPath, signature)   // + carried state of a mid-epoch checkpoint
            : new FitPosition(signature, fit.CheckpointPath);
    }

    private long CountIterations(int firstLoaderEpoch, int epochs)
    {
        long total = 0;
        for (int e = 0; e < epochs; e++)
        {
            total += Training.CountBatches(firstLoaderEpoch + e);
        }
        return total;
    }

    // Cancellation surfaces here, between batches, where model, optimizer, schedule and loss are consistent: with a
    // checkpoint path the fit is saved (resumable at this batch) before the cancellation propagates.
    private bool NextBatch(IEnumerator<TBatch> batches, FitPosition position, LearnerContext context, CancellationToken cancellation)
    {
        try
        {
            cancellation.ThrowIfCancellationRequested();
            return batches.MoveNext();
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            position.StopClock();
            SaveCheckpoint(position, context);
            throw;
        }
    }

    /// <summary>One training iteration outside a fit (benchmarks): every group at <paramref name="learningRate"/>.</summary>
    internal double StepOnce(TBatch batch, double learningRate, double momentum)
    {
        var rates = new double[optimizer.Groups.Count];
        Array.Fill(rates, learningRate);
        var context = new LearnerContext { Epochs = 1, Iterations = 1 };
        TrainBatch(batch, rates, momentum, context);
        return context.BatchLoss;
    }

    /// <summary>Runs the validation set (state reset first) and returns the row-weighted loss and the metrics.</summary>
    public (double Loss, IReadOnlyDictionary<string, double> Metrics) Validate()
    {
        var result = ValidateCore(new LearnerContext());
        task.ResetState();
        return result;
    }

    private (double Loss, IReadOnlyDictionary<string, double> Metrics) ValidateCore(LearnerContext context)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (Validation is null)
        {
            return (double.NaN, metrics);
        }
        task.Model.eval();
        task.ResetState();
        Raise(LearnerEvent.BeforeValidate, context);
        double lossSum = 0, accuracySum = 0, rows = 0;
        bool counted = false;
        using (torch.no_grad())
        {
            foreach (TBatch batch in Validation.Epoch(0))
            {
                using (batch)
                using (var scope = torch.NewDisposeScope())
                {
                    BatchOutput output = task.Step(batch, training: false);
                    // fastai averages per-batch values weighted by rows, not tokens.
                    lossSum += output.Loss.item<float>() * output.Rows;
                    if (output.Correct is { } correct && output.Predictions > 0)
                    {
                        accuracySum += (double)correct.item<long>() / output.Predictions * output.Rows;
                        counted = true;
                    }
                    rows += output.Rows;
                }
            }
        }
        double loss = rows > 0 ? lossSum / rows : double.NaN;
        double accuracy = counted ? accuracySum / rows : double.NaN;
        foreach (IMetric metric in Metrics)
        {
            metrics[metric.Name] = metric.Compute(loss, accuracy);
        }
        Raise(LearnerEvent.AfterValidate, context);
        task.Model.train();
        return (loss, metrics);
    }

    // An index loop over the list and a switch, not a lambda per call: no delegate or closure allocated per batch.
    private void Raise(LearnerEvent e, LearnerContext context)
    {
        for (int i = 0; i < Callbacks.Count; i++)
        {
            Callbacks[i].On(e, context);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        optimizer.Dispose();
        (task as IDisposable)?.Dispose();             // the task's own buffers (not the model, which is the caller's)
    }
}
