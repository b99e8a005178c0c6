using System.Diagnostics;
using System.Globalization;
using FastText.Engine.Data;
using FastText.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>Optimizer and loop settings (fastai defaults for text learners).</summary>
/// <param name="WeightDecay">Decoupled weight decay (fastai <c>wd</c>, 0.01); not applied to parameters flagged without decay.</param>
/// <param name="Beta2">Adam β2 (fastai <c>sqr_mom</c>, 0.99).</param>
/// <param name="Epsilon">Adam ε (fastai <c>eps</c>, 1e-5).</param>
/// <param name="GradientClip">Max global gradient norm, or null (fastai text learners: none).</param>
/// <param name="LossScaler">Dynamic loss scaling (fp16 on GPU), or null.</param>
public sealed record LearnerOptions(double WeightDecay = 0.01, double Beta2 = 0.99, double Epsilon = 1e-5,
    double? GradientClip = null, DynamicLossScaler? LossScaler = null);

/// <summary>Per-fit options.</summary>
/// <param name="Schedule">One-cycle shape (fastai defaults for text learners).</param>
/// <param name="CheckpointPath">When set, an atomic checkpoint is written after every epoch, and in the middle of an epoch
/// every <paramref name="CheckpointEveryBatches"/> batches, when a callback sets <see cref="LearnerContext.CheckpointNow"/>
/// or <see cref="LearnerContext.StopNow"/>, and when the fit is cancelled (then at the last finished batch).</param>
/// <param name="Resume">When true and <paramref name="CheckpointPath"/> holds a checkpoint of this same fit, continue from
/// it — after its last epoch, or at the next batch of a mid-epoch checkpoint.</param>
/// <param name="CheckpointEveryBatches">Mid-epoch checkpoint interval in training batches (needs a checkpoint path), or null.</param>
public sealed record FitOptions(OneCycleSchedule? Schedule = null, string? CheckpointPath = null, bool Resume = false,
    int? CheckpointEveryBatches = null);

/// <summary>
/// fastai's <c>Learner</c> for one task: Adam (= AdamW, β2 0.99, ε 1e-5, wd 0.01), one-cycle per parameter group,
/// discriminative learning rates, freezing, validation metrics, a learning-rate finder and exact-resume checkpoints.
/// </summary>
/// <typeparam name="TBatch">Batch type (<see cref="LanguageModelBatch"/> or <see cref="ClassifierBatch"/>).</typeparam>
public sealed partial class Learner<TBatch> : IDisposable where TBatch : IDisposable
{
    private readonly ILearnerTask<TBatch> task;
    private readonly IReadOnlyList<ParameterGroup> groups;
    private readonly List<EpochResult> history = new();
    private readonly SmoothedLoss smoothed = new();
    private AdamW? optimizer;
    private List<(int Group, AdamW.ParamGroup Optimizer)> optimizerGroups = new();
    private List<Parameter> trainable = new();
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
        groups = Deduplicate(task.ParameterGroups);
        appliedRates = new double[groups.Count];
        FreezeTo(0);
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
    public IReadOnlyList<ParameterGroup> ParameterGroups => groups;

    /// <summary>Index of the first trainable group (0 = unfrozen).</summary>
    public int FrozenUpTo { get; private set; }

    /// <summary>Epochs trained in total (seeds the loaders' shuffling so consecutive fits see new orders).</summary>
    public int CompletedEpochs => completedEpochs;

    /// <summary>The parameters the optimizer currently updates (unique).</summary>
    public IReadOnlyList<Parameter> TrainableParameters => trainable;

    /// <summary>fastai <c>freeze_to(n)</c>: groups before n stop training (negative n counts from the end); the optimizer is
    /// recreated, which clears Adam's state as fastai does. Parameters flagged <c>TrainWhenFrozen</c> stay trainable.</summary>
    public void FreezeTo(int group)
    {
        int n = group < 0 ? groups.Count + group : group;
        if (n < 0 || n >= groups.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(group), group, $"There are {groups.Count} parameter groups.");
        }
        FrozenUpTo = n;
        for (int g = 0; g < groups.Count; g++)
        {
            foreach (NamedParameter p in groups[g].Parameters)
            {
                bool train = g >= n || p.TrainWhenFrozen;
                p.Parameter.requires_grad = train;
                if (!train)
                {
                    p.Parameter.grad = null;   // no stale gradient, so nothing decays or moves it
                }
            }
        }
        CreateOptimizer();
    }

    /// <summary>fastai <c>freeze()</c>: only the last group trains.</summary>
    public void Freeze() => FreezeTo(-1);

    /// <summary>fastai <c>unfreeze()</c>: every group trains.</summary>
    public void Unfreeze() => FreezeTo(0);

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
        if (fit.CheckpointEveryBatches is < 1 || (fit.CheckpointEveryBatches is not null && fit.CheckpointPath is null))
        {
            throw new ArgumentException("CheckpointEveryBatches must be at least 1 and needs a CheckpointPath.", nameof(fit));
        }
        OneCycleSchedule schedule = fit.Schedule ?? OneCycleSchedule.Default;
        double[] maxRates = maxLearningRate.For(groups.Count);
        int batches = Training.BatchCount;
        if (batches < 1)
        {
            throw new InvalidDataException(
                "The training data yields no batches: it is too small for the batch size and sequence length (on the command line: --bs and --bptt for a language model, --clas-bs for a classifier); use smaller ones or more text.");
        }
        string signature = FormattableString.Invariant($"one-cycle epochs={epochs} lr={maxLearningRate} {schedule.Signature()} batches={batches} {Options with { LossScaler = null }}");
        smoothed.Reset();
        task.ResetState();
        var position = new FitPosition(signature, fit.CheckpointPath);
        if (fit.Resume && fit.CheckpointPath is not null && File.Exists(fit.CheckpointPath))
        {
            position = LoadCheckpoint(fit.CheckpointPath, signature);   // + carried state of a mid-epoch checkpoint
        }
        // The cycle spans the fit's exact batch count (variable BPTT: each epoch's own), so it ends at pos = 1.
        var context = new LearnerContext { Epochs = epochs, Iterations = CountIterations(completedEpochs - position.Epoch, epochs) };
        context.Iteration = position.Iteration;
        var results = new List<EpochResult>();
        Call(c => c.BeforeFit(context));
        while (position.Epoch < epochs && !context.StopNow)
        {
            context.Epoch = position.Epoch;
            Call(c => c.BeforeEpoch(context));
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
            Call(c => c.AfterEpoch(context));
            if (context.StopAfterEpoch)
            {
                break;
            }
        }
        task.ResetState();
        Call(c => c.AfterFit(context));
        return results;
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

    /// <summary>Runs the validation set (state reset first) and returns the row-weighted loss and the metrics.</summary>
    public (double Loss, IReadOnlyDictionary<string, double> Metrics) Validate()
    {
        var result = ValidateCore(new LearnerContext());
        task.ResetState();
        return result;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The loop.

    private void TrainEpoch(LearnerContext context, OneCycleSchedule schedule, double[] maxRates, FitPosition position, int? checkpointEvery,
        CancellationToken cancellation)
    {
        task.Model.train();
        if (position.Batches == 0)              // (a resumed epoch goes on from the carried state its checkpoint restored)
        {
            task.ResetState();
        }
        Call(c => c.BeforeTrain(context));
        var rates = new double[groups.Count];
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
        Call(c => c.AfterTrain(context));
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

    // One iteration, fastai 2.0 order: hyper-parameters → predict + loss (+AR/TAR) → backward → (unscale, clip) → step → zero grads → record.
    private long TrainBatch(TBatch batch, double[] rates, double momentum, LearnerContext context)
    {
        using var scope = torch.NewDisposeScope();
        double scale = task.LearningRateScale(batch);
        for (int g = 0; g < rates.Length; g++)
        {
            appliedRates[g] = rates[g] * scale;
        }
        ApplyHyperParameters(appliedRates, momentum);
        context.LearningRates = appliedRates;
        context.LearningRateScale = scale;
        context.Momentum = momentum;
        Call(c => c.BeforeBatch(context));

        BatchOutput output = task.Step(batch, training: true);
        context.Output = output;
        Call(c => c.AfterLoss(context));
        Tensor backward = Options.LossScaler is { } scaler ? scaler.ScaleLoss(output.BackwardLoss) : output.BackwardLoss;
        backward.backward();
        Call(c => c.AfterBackward(context));
        bool step = Options.LossScaler?.UnscaleOrSkip(trainable) ?? true;
        if (step && Options.GradientClip is { } clip)
        {
            torch.nn.utils.clip_grad_norm_(trainable, clip);
        }
        if (step)
        {
            FusedAdamStep.Step(optimizer!, torch.get_num_threads());     // AdamW's update, without its GC-owned Scalars
        }
        context.StepSkipped = !step;
        Call(c => c.AfterStep(context));
        optimizer!.zero_grad();

        double loss = output.Loss.item<float>();
        smoothed.Add(loss);
        context.BatchLoss = loss;
        context.SmoothedLoss = smoothed.Value;
        context.Iteration++;
        Call(c => c.AfterBatch(context));
        context.Output = null;
        return output.Tokens;
    }

    /// <summary>One training iteration outside a fit (benchmarks): every group at <paramref name="learningRate"/>.</summary>
    internal double StepOnce(TBatch batch, double learningRate, double momentum)
    {
        var rates = new double[groups.Count];
        Array.Fill(rates, learningRate);
        var context = new LearnerContext { Epochs = 1, Iterations = 1 };
        TrainBatch(batch, rates, momentum, context);
        return context.BatchLoss;
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
        Call(c => c.BeforeValidate(context));
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
        Call(c => c.AfterValidate(context));
        task.Model.train();
        return (loss, metrics);
    }

    private void ApplyHyperParameters(double[] rates, double momentum)
    {
        foreach (var (group, parameters) in optimizerGroups)
        {
            parameters.LearningRate = rates[group];
            parameters.Betas = (momentum, Options.Beta2);
        }
    }

    private void CreateOptimizer()
    {
        optimizer?.Dispose();
        optimizerGroups = new List<(int, AdamW.ParamGroup)>();
        trainable = new List<Parameter>();
        for (int g = 0; g < groups.Count; g++)
        {
            // Two optimizer groups per layer group: with and without decay (fastai: no decay on norm layers and Linear biases).
            foreach (bool decay in new[] { true, false })
            {
                var members = groups[g].Parameters.Where(p => p.WeightDecay == decay && p.Parameter.requires_grad).Select(p => p.Parameter).ToList();
                if (members.Count == 0)
                {
                    continue;
                }
                trainable.AddRange(members);
                var options = new AdamW.Options { LearningRate = 1e-3, beta1 = 0.9, beta2 = Options.Beta2, eps = Options.Epsilon, weight_decay = decay ? Options.WeightDecay : 0 };
                optimizerGroups.Add((g, new AdamW.ParamGroup(members, options)));
            }
        }
        if (optimizerGroups.Count == 0)
        {
            throw new InvalidOperationException("No trainable parameters: every group is frozen.");
        }
        optimizer = torch.optim.AdamW(optimizerGroups.Select(o => o.Optimizer), lr: 1e-3, beta1: 0.9, beta2: Options.Beta2,
            eps: Options.Epsilon, weight_decay: Options.WeightDecay);
    }

    // A tied matrix listed in two groups would get two Adam states and be decayed twice (torchsharp-notes §12):
    // keep its first occurrence, identified by storage address.
    private static IReadOnlyList<ParameterGroup> Deduplicate(IReadOnlyList<ParameterGroup> source)
    {
        var seen = new HashSet<(IntPtr, long)>();
        var result = new List<ParameterGroup>();
        foreach (ParameterGroup group in source)
        {
            var kept = group.Parameters.Where(p => seen.Add(Identity(p.Parameter))).ToArray();
            result.Add(group with { Parameters = kept });
        }
        return result;
    }

    internal static (IntPtr, long) Identity(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => (t.storage<float>().data_ptr(), t.storage_offset()),
        _ => (t.Handle, 0),
    };

    private void Call(Action<LearnerCallback> action)
    {
        foreach (LearnerCallback callback in Callbacks)
        {
            action(callback);
        }
    }

    /// <summary>Where a fit stands: epoch within the fit, training batches of that epoch done, the global schedule step,
    /// and the running epoch's tokens and training time (carried across a resume for its throughput).</summary>
    private sealed class FitPosition(string signature, string? checkpointPath, int epoch = 0, int batches = 0, long iteration = 0,
        long tokens = 0, double seconds = 0)
    {
        private readonly Stopwatch clock = new();

        public string Signature => signature;

        public string? CheckpointPath => checkpointPath;

        public int Epoch { get; private set; } = epoch;

        public int Batches { get; set; } = batches;

        public long Iteration => iteration;

        public long Tokens { get; set; } = tokens;

        public double TrainSeconds => seconds + clock.Elapsed.TotalSeconds;

        public void StartClock() => clock.Start();

        public void StopClock() => clock.Stop();

        public void NextEpoch()
        {
            Epoch++;
            Batches = 0;
            Tokens = 0;
            seconds = 0;
            clock.Reset();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        optimizer?.Dispose();
        optimizer = null;
        (task as IDisposable)?.Dispose();             // the task's own buffers (not the model, which is the caller's)
    }
}
