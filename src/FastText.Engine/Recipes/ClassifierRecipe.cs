using System.Diagnostics;
using FastText.Engine.Data;
using FastText.Engine.Data.Augmentation;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;

namespace FastText.Engine.Recipes;

// The classifier half of the recipe: the fine-tuned encoder under a pooling head, trained with gradual unfreezing and
// discriminative rates (the preset's factor, ULMFiT's 2.6).
public sealed partial class UlmfitPipeline
{
    // A classifier trained in one unfrozen cycle (from scratch, or the ablation) uses this share of the head-only phase's
    // rate: the whole network moves at once, so it takes the smaller steps fastbook's last, unfrozen phase takes.
    private const double FromScratchRateFraction = 0.25;

    /// <summary>
    /// Trains the ULMFiT classifier on <paramref name="labelled"/>. With <paramref name="languageModel"/>, its encoder is
    /// loaded and the gradual-unfreezing recipe runs (head only at lr, then <c>freeze_to(-2)</c>, <c>-3</c>, unfrozen at
    /// <c>slice(lr/2.6⁴, lr)</c>, 2.6 being <see cref="UlmfitPreset.ClassifierDiscriminativeFactor"/>); without, the same number of epochs runs unfrozen in one cycle (freezing a random
    /// encoder would only slow it down). Evaluates on the validation split and saves <c>models/&lt;name&gt;</c>.
    /// </summary>
    /// <param name="labelled">Labelled corpus (its validation split is the test set).</param>
    /// <param name="languageModel">Fine-tuned language model whose encoder starts the classifier, or null.</param>
    /// <param name="name">Stage and artifact name.</param>
    /// <param name="trainingExamples">Use only this many training documents (seeded random, stratified), or all.</param>
    /// <param name="save">Write the artifact.</param>
    /// <param name="order">Batch order (<see cref="ClassifierOrder.Sorted"/> = fastai's SortedDL bucketing).</param>
    /// <param name="artifact">Artifact name when it differs from the stage name ("." = the run folder itself).</param>
    /// <param name="epochScale">Multiplies every phase's epochs (the sample-efficiency runs give small training sets
    /// more epochs so every run gets a comparable number of optimizer steps).</param>
    /// <param name="gradualUnfreezing">With a language model: false trains it like the from-scratch classifier (unfrozen,
    /// one cycle at the same uniform rate and epochs) — an ablation that changes only the initial weights.</param>
    /// <param name="seed">Seed of the training subset, the initialisation and the shuffles (null = the preset's).</param>
    /// <param name="augmentation">Training-time augmentation (null = the preset's <see cref="UlmfitPreset.Augmentation"/>).</param>
    /// <param name="validateEveryEpoch">Score the validation split after every epoch (the report's per-epoch table); false
    /// scores it once, at the end (comparison runs: the result is the same, the validation passes are not repeated).</param>
    /// <exception cref="InvalidDataException">The language model and the corpus were tokenized differently, or the language
    /// model reads text in the other direction than <see cref="Backwards"/>; the message names both.</exception>
    public ClassifierResult TrainClassifier(TextDataset labelled, LanguageModelArtifact? languageModel, string name = "classifier",
        int? trainingExamples = null, bool save = true, ClassifierOrder order = ClassifierOrder.Sorted, int epochScale = 1, string? artifact = null,
        bool gradualUnfreezing = true, int? seed = null, AugmentationSettings? augmentation = null,
        bool validateEveryEpoch = true)
    {
        int runSeed = seed ?? Preset.Seed;
        augmentation ??= Preset.Augmentation;
        ArgumentOutOfRangeException.ThrowIfLessThan(epochScale, 1);
        ArgumentNullException.ThrowIfNull(labelled);
        languageModel?.Tokenization.EnsureSameAs(labelled.Tokenization, $"the language model '{languageModel.Folder}'", $"the corpus '{labelled.Folder}'");
        languageModel?.EnsureDirection(Backwards, "the language model whose encoder starts the classifier", ThisRun);
        if (labelled.ClassNames.Count < 2)
        {
            throw new ArgumentException(labelled.ClassNames.Count == 0
                ? $"The corpus in '{labelled.Folder}' has no labels (tokenized with --no-labels, or from unlabelled text); a classifier needs at least two classes."
                : $"The corpus in '{labelled.Folder}' has one class ('{labelled.ClassNames[0]}'); a classifier needs at least two classes.", nameof(labelled));
        }
        // Only a saved classifier is a stage of the run (checkpointed, resumable); comparison runs are not.
        StageCheckpoints? stage = save
            ? Stage(artifact ?? name, "classifier", StageKey(labelled, FormattableString.Invariant(
                $"classifier from {(languageModel is null ? "scratch" : FileStamp(languageModel.EncoderPath))} examples {trainingExamples} order {order} scale {epochScale} gradual {gradualUnfreezing} seed {runSeed} augment {augmentation}")))
            : null;
        if (stage is not null && Reused(stage, artifact ?? name, ClassifierArtifact.Open) is { } reused)
        {
            return Evaluated(reused, labelled, Math.Min(trainingExamples ?? int.MaxValue, labelled.Training.Count));
        }
        // Two per class at least: a batch of one row leaves BatchNorm's running variance NaN, and a class without
        // examples cannot be learnt. Checked before anything trains, in the command line's words.
        if (trainingExamples is int wanted && labelled.ClassNames.Count > 0 && wanted < 2 * labelled.ClassNames.Count)
        {
            throw new ArgumentException(FormattableString.Invariant(
                $"--labelled {wanted}: a classifier of {labelled.ClassNames.Count} classes needs at least {2 * labelled.ClassNames.Count} labelled documents (two per class)."));
        }
        // The augmenter first (a paraphrase command or the language model's sampling can take a while, and counts as
        // training time); it leaves torch's generator as it found it.
        var clock = Stopwatch.StartNew();
        IReadOnlyList<int> training = TrainingSubset(labelled, trainingExamples, runSeed);
        ClassifierAugmentation? augmenter = ClassifierAugmentations.Build(augmentation, labelled, Documents(labelled), training, languageModel,
            Backwards, runSeed, Progress, Cancellation);
        torch.manual_seed(runSeed + ClassifierSeedOffset);
        TextClassifier model = NewClassifier(labelled);
        try
        {
            if (languageModel is not null)
            {
                ModelWeights.LoadEncoder(model.AwdLstmEncoder, languageModel.EncoderPath, labelled.Vocabulary.Tokens);
            }
            var trainOptions = ClassifierLoaderOptions.Training with
            {
                BatchSize = Math.Min(Preset.ClassifierBatchSize, training.Count),
                SequenceLength = Preset.ClassifierSequenceLength,
                Seed = runSeed,
                Order = order,
            };
            var validOptions = ClassifierLoaderOptions.Validation with
            {
                BatchSize = Preset.ClassifierBatchSize,
                SequenceLength = Preset.ClassifierSequenceLength,
            };
            using var trainLoader = new ClassifierLoader(Documents(labelled), trainOptions, training, augmenter);
            using ClassifierLoader? validLoader = validateEveryEpoch ? new ClassifierLoader(Documents(labelled), validOptions, labelled.Validation) : null;
            using var learner = new Learner<ClassifierBatch>(new ClassifierTask(model), trainLoader, validLoader, metrics: [Metrics.Accuracy]);
            var phases = new List<ProgressCallback>();   // the phases that ran (a resumed run skips finished ones)
            int phaseIndex = 0;
            // One callback per fit call, so the report shows one table per unfreezing phase like fastbook's.
            void Fit(string phase, int epochs, LearningRates rates)
            {
                var callback = new ProgressCallback(Progress, phase, trainLoader.BatchCount, languageModel: false,
                    () => trainLoader.LastEpochPadding.Share);
                UsePhaseCallbacks(learner, callback);
                Cancellation.ThrowIfCancellationRequested();
                bool ran = true;
                if (stage is null)
                {
                    learner.FitOneCycle(epochs, rates, null, Cancellation);
                }
                else
                {
                    ran = stage.RunPhase(phaseIndex, learner, fit => learner.FitOneCycle(epochs, rates, fit, Cancellation));
                }
                phaseIndex++;
                if (ran)
                {
                    phases.Add(callback);
                }
            }
            if (languageModel is not null && gradualUnfreezing)
            {
                for (int s = 0; s < Preset.ClassifierStages.Count; s++)
                {
                    var (freezeTo, stageEpochs, rate) = Preset.ClassifierStages[s];
                    int epochs = stageEpochs * epochScale;
                    learner.FreezeTo(freezeTo);
                    LearningRates rates = s == 0 ? LearningRates.Uniform(rate) : LearningRates.Slice(rate / Math.Pow(Preset.ClassifierDiscriminativeFactor, 4), rate);
                    Fit(FormattableString.Invariant($"{name} · {(freezeTo == 0 ? "unfreeze()" : $"freeze_to({freezeTo})")} · lr {rates}"), epochs, rates);
                }
            }
            else
            {
                learner.Unfreeze();
                LearningRates rates = LearningRates.Uniform(Preset.ClassifierStages[0].LearningRate * FromScratchRateFraction);
                Fit(FormattableString.Invariant($"{name} · {(languageModel is null ? "from scratch" : "unfrozen, one cycle")} · lr {rates}"), Preset.ClassifierStages.Sum(s => s.Epochs) * epochScale, rates);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            foreach (ProgressCallback phase in phases)
            {
                RecordStage(phase);
            }
            var (predictor, evaluation) = Evaluate(model, labelled);
            ClassifierArtifact? saved = stage is not null
                ? Completed(stage, ClassifierArtifact.Save(ArtifactFolder(artifact ?? name), model, Preset.LanguageModel, labelled.Vocabulary, labelled.Tokenization,
                    labelled.ClassNames, Preset.ClassifierDropMultiplier, labelled.MaxTokens, Backwards))
                : null;
            return new ClassifierResult(model, predictor, evaluation, phases.SelectMany(p => p.Epochs).ToList(), training.Count, seconds, saved);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private ClassifierResult Evaluated(ClassifierArtifact artifact, TextDataset labelled, int trainingExamples)
    {
        TextClassifier model = artifact.LoadModel();
        try
        {
            var (predictor, evaluation) = Evaluate(model, labelled);
            return new ClassifierResult(model, predictor, evaluation, [], trainingExamples, 0, artifact);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    // The training documents a classifier run with `seed` trains on: all of them, or a seeded stratified subset of `count`
    // when that is fewer (the baselines of the sample-efficiency experiment take the same one).
    internal static IReadOnlyList<int> TrainingSubset(TextDataset labelled, int? count, int seed) =>
        count is int n && n < labelled.Training.Count ? SampleStratified(labelled, n, seed) : labelled.Training;

    private static int[] SampleStratified(TextDataset labelled, int count, int seed)
    {
        var random = new Random(seed);
        int[] shuffled = labelled.Training.ToArray();
        random.Shuffle(shuffled);
        // Keep every class represented even in tiny samples: take round-robin over classes.
        var byClass = shuffled.GroupBy(d => labelled.Corpus.Label(d)).Select(g => new Queue<int>(g)).ToList();
        var chosen = new List<int>(count);
        while (chosen.Count < count && byClass.Any(q => q.Count > 0))
        {
            foreach (Queue<int> queue in byClass)
            {
                if (chosen.Count < count && queue.Count > 0)
                {
                    chosen.Add(queue.Dequeue());
                }
            }
        }
        chosen.Sort();
        return chosen.ToArray();
    }
}

/// <summary>A trained classifier with its evaluation. Dispose to free the model.</summary>
/// <param name="Model">The classifier (eval mode after training).</param>
/// <param name="Predictor">Predicts raw texts.</param>
/// <param name="Evaluation">Metrics on the validation split.</param>
/// <param name="Epochs">Per-epoch results.</param>
/// <param name="TrainingExamples">Labelled training documents used.</param>
/// <param name="Seconds">Training wall time.</param>
/// <param name="Artifact">The saved artifact, when saved.</param>
public sealed record ClassifierResult(TextClassifier Model, ClassifierPredictor Predictor, ClassifierEvaluation Evaluation,
    IReadOnlyList<EpochSummary> Epochs, int TrainingExamples, double Seconds, ClassifierArtifact? Artifact) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}
