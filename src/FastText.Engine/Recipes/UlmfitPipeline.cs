using System.Diagnostics;
using System.Globalization;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Reporting;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;

namespace FastText.Engine.Recipes;

/// <summary>
/// fastai's high-level text workflow (fastbook chapter 10) in a few calls, each saving its artifact into the run folder:
/// <code>
/// var run = new UlmfitPipeline("runs/demo", UlmfitPreset.Small, progress);
/// TextDataset english = run.Tokenize("brown", SampleReaders.ReadBrown(brownFolder));
/// TextDataset mails = run.Tokenize("spam-assassin", SampleReaders.ReadSpamAssassin(mailFolder));
/// LanguageModelArtifact general = run.Pretrain(english);             // the role of fastai's WikiText-103 model
/// LanguageModelArtifact tuned = run.FineTune(general, mails);         // frozen epoch, then unfrozen
/// ClassifierResult spam = run.TrainClassifier(mails, tuned);          // gradual unfreezing, 2.6× discriminative LRs
/// Prediction p = spam.Predictor.Predict("Cheap meds, click here!!!");
/// run.SaveReport();
/// </code>
/// ULMFiT's bidirectional ensemble trains the same recipe a second time with <see cref="Backwards"/> and averages the two
/// classifiers' probabilities:
/// <code>
/// var backwardRun = new UlmfitPipeline("runs/demo-bwd", UlmfitPreset.Small, progress) { Backwards = true };
/// ClassifierResult spamBwd = backwardRun.TrainClassifier(mails, backwardRun.FineTune(backwardRun.Pretrain(english), mails));
/// var ensemble = new ClassifierEnsemble([spam.Predictor, spamBwd.Predictor]);
/// </code>
/// </summary>
public sealed partial class UlmfitPipeline
{
    // Each stage seeds torch with the preset's seed plus its own offset, so a stage run alone (one CLI command) starts
    // from the weights it gets inside the whole recipe, and no two stages draw the same random stream.
    internal const int PretrainSeedOffset = 0, FineTuneSeedOffset = 1, ClassifierSeedOffset = 2, BatchingSeedOffset = 3;

    private readonly List<LossCurve> curves = [];
    private readonly bool backwards;

    /// <summary>Creates a run writing into <paramref name="runFolder"/>.</summary>
    public UlmfitPipeline(string runFolder, UlmfitPreset preset, IProgressSink? progress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(runFolder);
        RunFolder = Path.GetFullPath(runFolder);
        Preset = preset ?? throw new ArgumentNullException(nameof(preset));
        Progress = progress ?? NullProgress.Instance;
        Directory.CreateDirectory(RunFolder);
        Report = new RunReport($"ULMFiT run ({preset.Name} preset)");
        Report.AddSetting("preset", preset.Name);
        if (PresetSettings.Differences(preset) is { Length: > 0 } changed)
        {
            Report.AddSetting("settings changed from the preset", changed);
        }
        Report.AddSetting("model", FormattableString.Invariant($"AWD-LSTM emb {preset.Model.EmbeddingSize}, hidden {preset.Model.HiddenSize}, {preset.Model.Layers} layers"));
        Report.AddSetting("torch threads", torch.get_num_threads().ToString(CultureInfo.InvariantCulture));
        Report.AddSetting("precision", preset.Precision.Describe());
    }

    /// <summary>Where artifacts, the report and plots go.</summary>
    public string RunFolder { get; }

    /// <summary>Sizes and schedules.</summary>
    public UlmfitPreset Preset { get; }

    /// <summary>The report being built (epochs are added as they finish).</summary>
    public RunReport Report { get; }

    /// <summary>
    /// A SentencePiece <c>.model</c> for subword mode: <see cref="Tokenize"/> splits the texts into its pieces after
    /// fastai's rules (<see cref="TextDatasetOptions.SubwordModel"/>) and every model trained on them carries it; null =
    /// fastai's word tokenization.
    /// </summary>
    public string? SubwordModel { get; init; }

    /// <summary>
    /// fastai's <c>backwards=True</c>: every stage reads each document's tokens reversed (<see cref="ReversedTokenCorpus"/>,
    /// <c>xxbos</c> last) — language-model streams, classifier batches, the validation metrics — and every saved model
    /// records it (<see cref="ModelArtifact.Backwards"/>), so its predictor reverses texts too. Stages of one direction
    /// are never reused by a run of the other (<see cref="Resume"/>); language models of the other direction are refused
    /// as a start. ULMFiT ensembles a forward and a backward classifier (<see cref="ClassifierEnsemble"/>). Default false.
    /// </summary>
    public bool Backwards
    {
        get => backwards;
        init
        {
            backwards = value;
            if (value)
            {
                Report.AddSetting("direction", "backwards (fastai backwards=True): every document's tokens reversed, xxbos last");
            }
        }
    }

    /// <summary>
    /// Stops training between batches (Ctrl+C in the CLI): the phase running first writes its checkpoint into
    /// <c>checkpoints/</c>, then <see cref="OperationCanceledException"/> propagates. A run with <see cref="Resume"/>
    /// continues from there.
    /// </summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// Continue an interrupted run in <see cref="RunFolder"/>: a stage completed with the same settings and data is not
    /// trained again (its saved artifact is reused) and the interrupted phase continues from its checkpoint, so the
    /// result is the one an uninterrupted run gives. False (default) trains every stage afresh.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>
    /// Checkpoint every this many training batches as well as at epoch ends (null, the default: epoch ends and Ctrl+C
    /// only), so a run killed outright (kill -9, a power cut) loses at most that many batches; <see cref="Resume"/> then
    /// continues from the last one to the same result. Each checkpoint writes the model and Adam state.
    /// </summary>
    public int? CheckpointEveryBatches { get; init; }

    // Where the recipes and experiments report progress.
    internal IProgressSink Progress { get; }

    /// <summary>Training-loss curves of every stage so far.</summary>
    public IReadOnlyList<LossCurve> Curves => curves;

    /// <summary>Tokenizes texts (fastai rules, then <see cref="SubwordModel"/> if set), builds or reuses a vocabulary,
    /// splits, and saves <c>corpus/&lt;name&gt;</c>.</summary>
    /// <param name="name">Folder name under <c>corpus/</c>.</param>
    /// <param name="texts">The documents, with or without labels and a split of their own.</param>
    /// <param name="vocabulary">A vocabulary to reuse (null: build one from the training documents).</param>
    /// <param name="maxTokens">Tokens kept per document, 0 = all (null: the preset's rule, which cuts labelled documents
    /// at <see cref="UlmfitPreset.MaxTokensPerDocument"/> and keeps unlabelled ones whole).</param>
    public TextDataset Tokenize(string name, IReadOnlyList<LabelledText> texts, Vocabulary? vocabulary = null, int? maxTokens = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (maxTokens is int given)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(given, nameof(maxTokens));
        }
        var clock = Stopwatch.StartNew();
        TextDatasetOptions options = Preset.Data(labelled: texts.Count > 0 && texts[0].ClassName is not null) with { SubwordModel = SubwordModel };
        TextDataset dataset = TextDataset.Create(texts, Path.Combine(RunFolder, "corpus", name),
            maxTokens is int cap ? options with { MaxTokens = cap } : options, vocabulary, Progress);
        double seconds = clock.Elapsed.TotalSeconds;
        string line = FormattableString.Invariant(
            $"{dataset.DocumentCount:N0} documents, {dataset.Corpus.TokenCount:N0} tokens ({dataset.Training.Count:N0} train / {dataset.Validation.Count:N0} valid docs), vocabulary {dataset.Vocabulary.Count:N0}, {dataset.Tokenization.Description}, tokenized in {seconds:F1} s ({dataset.Corpus.TokenCount / Math.Max(seconds, 1e-9):N0} tokens/s)");
        Report.AddSetting($"corpus {name}", line);
        Progress.Log($"{name}: {line}");
        return dataset;
    }

    /// <summary>Writes the loss-curve plot and <c>report.md</c> into the run folder.</summary>
    public string SaveReport()
    {
        foreach (var (languageModel, file, title) in new[] { (true, "losses-lm.png", "Language models"), (false, "losses-classifier.png", "Classifier") })
        {
            var selected = curves.Where(c => c.IsLanguageModel == languageModel && !c.Name.StartsWith("batching", StringComparison.Ordinal)).ToList();
            if (selected.Count > 0)
            {
                TrainingPlots.SaveLossCurves(Path.Combine(RunFolder, "plots", file), selected, $"{title}: smoothed training loss by phase");
                Report.AddImage($"{title}: training loss by phase (validation loss at epoch ends)", "plots/" + file);
            }
        }
        string path = Path.Combine(RunFolder, "report.md");
        Report.Save(path);
        return path;
    }

    /// <summary>Folder of artifact <paramref name="name"/>: <c>models/&lt;name&gt;</c>, or the run folder itself for ".".</summary>
    public string ArtifactFolder(string name) => name == "." ? RunFolder : Path.Combine(RunFolder, "models", name);

    // Checkpoints are named after the artifact, or after the kind of stage when the artifact is the run folder itself (CLI).
    private StageCheckpoints Stage(string name, string kind, string key)
    {
        string stageName = name == "." ? kind : name;
        var stage = new StageCheckpoints(RunFolder, stageName, key, Resume, CheckpointEveryBatches);
        if (stage.Resuming && !stage.Completed)
        {
            Progress.Log($"{stageName}: continuing from the checkpoint in {Path.Combine(RunFolder, "checkpoints")}");
            Report.AddSetting($"resumed {name}", "continued from its checkpoint (the report's epoch tables list only the epochs run after resuming)");
        }
        return stage;
    }

    // What a stage is run with: a completed stage is reused only if all of it is the same (the direction too: a
    // backwards stage's checkpoints and artifact are of a model that reads the other way).
    // The preset without its augmentation: that changes the classifier only, whose key names it itself.
    private string StageKey(TextDataset corpus, string what) => FormattableString.Invariant(
        $"{what} | {Preset with { Augmentation = AugmentationSettings.None }} | stages {string.Join(' ', Preset.ClassifierStages)} | corpus {corpus.Folder} vocabulary {corpus.Vocabulary.Hash:x16} documents {corpus.DocumentCount} tokens {corpus.Corpus.TokenCount} | {corpus.Tokenization.Description} | {ModelArtifact.DirectionName(Backwards)}");

    // The documents as this run's models read them: reversed in a backwards run (after the token cap, which keeps a
    // document's first tokens whichever way it is read).
    internal ITokenCorpus Documents(TextDataset corpus) => Backwards ? new ReversedTokenCorpus(corpus.Corpus) : corpus.Corpus;

    // This run, as named in direction-mismatch errors.
    private string ThisRun => $"this run (run folder '{RunFolder}')";

    // The preset's classifier on a fresh encoder, in the preset's precision (weights stay fp32, only its LSTMs' products change).
    internal TextClassifier NewClassifier(TextDataset labelled)
    {
        TextClassifier model = TextClassifier.Create(labelled.Vocabulary.Count, Preset.Model, labelled.ClassNames.Count,
            Preset.ClassifierDropMultiplier, Preset.ClassifierSequenceLength);
        model.Precision = Preset.Precision;
        return model;
    }

    // A file as a stage's input: path, size and last write (weights retrained in place change the key).
    private static string FileStamp(string path)
    {
        var file = new FileInfo(path);
        return FormattableString.Invariant($"{file.FullName} ({file.Length} bytes, written {file.LastWriteTimeUtc:O})");
    }

    private T? Reused<T>(StageCheckpoints stage, string name, Func<string, T> open) where T : class
    {
        if (!stage.Completed)
        {
            return null;
        }
        string folder = ArtifactFolder(name);
        T artifact;
        try
        {
            artifact = open(folder);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            Progress.Log($"{name}: the completed stage's artifact in {folder} cannot be read ({e.Message}); training it again");
            return null;
        }
        Progress.Log($"{name}: completed earlier in this run folder with the same settings and data, reusing {folder}");
        Report.AddSetting($"resumed {name}", $"completed earlier with the same settings and data; reused {folder}");
        return artifact;
    }

    private static T Completed<T>(StageCheckpoints stage, T artifact)
    {
        stage.Complete();
        return artifact;
    }

    // The callbacks of one fit call: its progress (one per phase, so the report shows one table per phase like
    // fastbook's) and the preset's gradient clipping.
    private void UsePhaseCallbacks<TBatch>(Learner<TBatch> learner, ProgressCallback progress) where TBatch : IDisposable
    {
        learner.Callbacks.Clear();
        learner.Callbacks.Add(progress);
        if (Preset.GradientClip > 0)
        {
            learner.Callbacks.Add(new GradientClipping(Preset.GradientClip));
        }
    }

    private void RecordStage(ProgressCallback callback)
    {
        curves.Add(callback.Curve);
        foreach (EpochSummary epoch in callback.Epochs)
        {
            Report.AddEpoch(epoch);
        }
    }

    // The predictor of a classifier and its metrics on the corpus's validation split (read forwards: the predictor
    // reverses documents itself in a backwards run, as the saved artifact's does).
    private (ClassifierPredictor Predictor, ClassifierEvaluation Evaluation) Evaluate(TextClassifier model, TextDataset labelled)
    {
        var predictor = new ClassifierPredictor(model, labelled.ClassNames, labelled.Numericalize) { Backwards = Backwards };
        return (predictor, predictor.Evaluate(labelled.Subset(labelled.Validation)));
    }

}
