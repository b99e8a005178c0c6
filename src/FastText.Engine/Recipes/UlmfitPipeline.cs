using System.Diagnostics;
using System.Globalization;
using FastText.Engine.Data;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Models.Pretrained;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;

namespace FastText.Engine.Pipeline;

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
public sealed class UlmfitPipeline
{
    /// <summary>ULMFiT's ratio between the learning rates of consecutive layer groups.</summary>
    public const double DiscriminativeFactor = 2.6;

    private readonly IProgressSink progress;
    private readonly List<LossCurve> curves = [];
    private readonly bool backwards;

    /// <summary>Creates a run writing into <paramref name="runFolder"/>.</summary>
    public UlmfitPipeline(string runFolder, UlmfitPreset preset, IProgressSink? progress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(runFolder);
        RunFolder = Path.GetFullPath(runFolder);
        Preset = preset ?? throw new ArgumentNullException(nameof(preset));
        this.progress = progress ?? NullProgress.Instance;
        Directory.CreateDirectory(RunFolder);
        Report = new RunReport($"ULMFiT run ({preset.Name} preset)");
        Report.AddSetting("preset", preset.Name);
        Report.AddSetting("model", FormattableString.Invariant($"AWD-LSTM emb {preset.EmbeddingSize}, hidden {preset.HiddenSize}, {preset.Layers} layers"));
        Report.AddSetting("torch threads", torch.get_num_threads().ToString(CultureInfo.InvariantCulture));
        Report.AddSetting("precision", preset.Precision switch
        {
            ComputePrecision.Float32 => "fp32",
            ComputePrecision.BFloat16 => "bf16 matrix products, fp32 master weights, gates, cell state and loss",
            _ => "bf16 decoder matrix products only (the classifier has none: fp32), fp32 elsewhere",
        });
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

    /// <summary>Training-loss curves of every stage so far.</summary>
    public IReadOnlyList<LossCurve> Curves => curves;

    /// <summary>The language-model sizes of the preset with its LM dropout multiplier.</summary>
    public AwdLstmConfig LanguageModelConfig => (AwdLstmConfig.LanguageModel with
    {
        EmbeddingSize = Preset.EmbeddingSize,
        HiddenSize = Preset.HiddenSize,
        Layers = Preset.Layers,
    }).WithDropoutMultiplier(Preset.LanguageModelDropMultiplier);

    /// <summary>Tokenizes texts (fastai rules, then <see cref="SubwordModel"/> if set), builds or reuses a vocabulary,
    /// splits, and saves <c>corpus/&lt;name&gt;</c>.</summary>
    public TextDataset Tokenize(string name, IReadOnlyList<LabelledText> texts, Vocabulary? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var clock = Stopwatch.StartNew();
        TextDataset dataset = TextDataset.Create(texts, Path.Combine(RunFolder, "corpus", name),
            Preset.Data(labelled: texts.Count > 0 && texts[0].ClassName is not null) with { SubwordModel = SubwordModel }, vocabulary, progress);
        double seconds = clock.Elapsed.TotalSeconds;
        string line = FormattableString.Invariant(
            $"{dataset.DocumentCount:N0} documents, {dataset.Corpus.TokenCount:N0} tokens ({dataset.Training.Count:N0} train / {dataset.Validation.Count:N0} valid docs), vocabulary {dataset.Vocabulary.Count:N0}, {dataset.Tokenization.Description}, tokenized in {seconds:F1} s ({dataset.Corpus.TokenCount / Math.Max(seconds, 1e-9):N0} tokens/s)");
        Report.AddSetting($"corpus {name}", line);
        progress.Log($"{name}: {line}");
        return dataset;
    }

    /// <summary>Trains a language model from scratch (fastai <c>fit_one_cycle(epochs, lr)</c>) and saves <c>models/&lt;name&gt;</c>.</summary>
    public LanguageModelArtifact Pretrain(TextDataset corpus, string name = "pretrained")
    {
        ArgumentNullException.ThrowIfNull(corpus);
        StageCheckpoints stage = Stage(name, "pretrain", StageKey(corpus, "pretrain"));
        if (Reused(stage, name, LanguageModelArtifact.Open) is { } reused)
        {
            return reused;
        }
        torch.manual_seed(Preset.Seed);
        using var model = new AwdLstmLanguageModel(corpus.Vocabulary.Count, LanguageModelConfig) { Precision = Preset.Precision };
        RunLanguageModel(model, corpus, corpus.Training, corpus.Validation, stage, null,
            [("pretrain", (learner, fit) => learner.FitOneCycle(Preset.PretrainEpochs, LearningRates.Uniform(Preset.PretrainLearningRate), fit, Cancellation))]);
        return Completed(stage, LanguageModelArtifact.Save(ArtifactFolder(name), model, corpus.Vocabulary, corpus.Tokenization, corpus.MaxTokens, Backwards));
    }

    /// <summary>
    /// Fine-tunes <paramref name="pretrained"/> on <paramref name="corpus"/> (its vocabulary matched token by token,
    /// fastai <c>match_embeds</c>): one frozen cycle (only embedding/decoder), then unfrozen cycles; saves the model
    /// and its encoder into <c>models/&lt;name&gt;</c>. Runs the learning-rate finder first when <paramref name="findLearningRate"/>.
    /// </summary>
    /// <exception cref="PretrainedWeightsException">The pretrained model's sizes are not the preset's.</exception>
    /// <exception cref="InvalidDataException">The pretrained model and the corpus were tokenized differently (word vs
    /// subword, or two SentencePiece models), or the pretrained model reads text in the other direction than
    /// <see cref="Backwards"/>; the message names both.</exception>
    public LanguageModelArtifact FineTune(LanguageModelArtifact pretrained, TextDataset corpus, string name = "finetuned", bool findLearningRate = true)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        ArgumentNullException.ThrowIfNull(corpus);
        pretrained.Tokenization.EnsureSameAs(corpus.Tokenization, $"the pretrained language model '{pretrained.Folder}'", $"the corpus '{corpus.Folder}'");
        pretrained.EnsureDirection(Backwards, "the pretrained language model", ThisRun);
        CheckPretrainedSizes(pretrained.Card.Config, pretrained.Folder);
        return RunFineTune(model => ModelWeights.LoadPretrained(model, pretrained.WeightsPath, corpus.Vocabulary.Tokens), corpus, name, findLearningRate,
            $"pretrained {FileStamp(pretrained.WeightsPath)} vocabulary {pretrained.Vocabulary.Hash:x16}");
    }

    /// <summary>
    /// Fine-tunes from <paramref name="pretrained"/>: a language-model folder of this pipeline, or fastai's pretrained
    /// pair (<c>pretrained_fnames</c>: a <c>.pth</c> such as WikiText-103's <c>lstm_fwd.pth</c>, a <c>learn.save</c>
    /// file, or a folder holding one <c>.pth</c>; with its pickled vocabulary <paramref name="pretrainedVocabulary"/>, or
    /// the <c>.pkl</c> found beside it, see <see cref="FastAiArtifacts.ResolvePair"/>). fastai weights are converted on
    /// the fly, by key name, with the rows matched to <paramref name="corpus"/>'s vocabulary token by token; nothing is
    /// written besides the fine-tuned model. fastai's weights record no direction: they are taken to read text in this
    /// run's direction (<see cref="Backwards"/>). fastai publishes WikiText-103 as two downloads, <c>AWD_LSTM</c>'s
    /// <c>url</c> (<c>lstm_fwd.pth</c>) and <c>url_bwd</c> (<c>lstm_bwd.pth</c>), and its <c>language_model_learner</c>
    /// takes the second for backwards data; give a backwards run the backward file, nothing here can tell them apart.
    /// </summary>
    /// <exception cref="FileNotFoundException">The weights or their vocabulary were not found (the message says where it looked).</exception>
    /// <exception cref="PretrainedWeightsException">Not a fastai AWD-LSTM language model (a key is missing), the
    /// vocabulary does not fit the embedding, or the sizes are not the preset's (the message names a preset that fits).</exception>
    /// <exception cref="InvalidDataException">The checkpoint's keys or shapes do not match the model (missing/unexpected keys named),
    /// or the vocabulary is word-level and the corpus subword (or the reverse).</exception>
    public LanguageModelArtifact FineTune(string pretrained, TextDataset corpus, string name = "finetuned", bool findLearningRate = true,
        string? pretrainedVocabulary = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pretrained);
        ArgumentNullException.ThrowIfNull(corpus);
        if (Directory.Exists(pretrained) && File.Exists(Path.Combine(pretrained, "model.json")))
        {
            if (pretrainedVocabulary is not null)
            {
                throw new ArgumentException($"'{pretrained}' is a saved language-model folder with its own vocabulary; a separate vocabulary file only goes with fastai weights (.pth).", nameof(pretrainedVocabulary));
            }
            return FineTune(LanguageModelArtifact.Open(pretrained), corpus, name, findLearningRate);
        }
        var (weightsPath, vocabularyPath) = FastAiArtifacts.ResolvePair(pretrained, pretrainedVocabulary);
        IReadOnlyList<string> tokens = FastAiVocabularyFile.Read(vocabularyPath);
        using PyTorchStateDictionary state = PyTorchCheckpointFile.Read(weightsPath);
        var (config, rows) = FastAiArtifacts.InferLanguageModel(state);
        if (rows != tokens.Count)
        {
            throw new PretrainedWeightsException(weightsPath, "0.encoder.weight",
                $"{rows:N0} embedding rows, but the vocabulary '{vocabularyPath}' lists {tokens.Count:N0} tokens: they are not a pair");
        }
        // fastai's pair carries no SentencePiece model; its vocabulary shows whether it was trained on pieces. Two
        // SentencePiece vocabularies are matched piece by piece, like words.
        bool subwordVocabulary = Tokenization.LooksLikeSentencePiece(tokens);
        if (subwordVocabulary != corpus.Tokenization.IsSubword)
        {
            throw new InvalidDataException(
                $"Tokenization mismatch: the fastai weights '{weightsPath}' come with {(subwordVocabulary ? "a SentencePiece" : "a word-level")} vocabulary ('{vocabularyPath}'), but the corpus '{corpus.Folder}' uses {corpus.Tokenization.Description}; the same text would map to other ids.");
        }
        CheckPretrainedSizes(config, weightsPath);
        string source = FormattableString.Invariant(
            $"fastai weights {Path.GetFileName(weightsPath)} + vocabulary {Path.GetFileName(vocabularyPath)} ({tokens.Count:N0} tokens), converted on the fly, taken as {ModelArtifact.DirectionName(Backwards)} (the file records no direction)");
        Report.AddSetting("pretrained", source);
        progress.Log($"pretrained: {source}");
        return RunFineTune(model => ModelWeights.LoadPretrained(model, state.Tensors, tokens, corpus.Vocabulary.Tokens, weightsPath), corpus, name, findLearningRate,
            $"fastai weights {FileStamp(weightsPath)}");
    }

    private LanguageModelArtifact RunFineTune(Func<AwdLstmLanguageModel, VocabularyMatch> loadPretrained, TextDataset corpus, string name, bool findLearningRate,
        string source)
    {
        StageCheckpoints stage = Stage(name, "fine-tune", StageKey(corpus, $"fine-tune from {source}"));
        if (Reused(stage, name, LanguageModelArtifact.Open) is { } reused)
        {
            return reused;
        }
        torch.manual_seed(Preset.Seed + 1);
        using var model = new AwdLstmLanguageModel(corpus.Vocabulary.Count, LanguageModelConfig) { Precision = Preset.Precision };
        VocabularyMatch match = loadPretrained(model);
        Report.AddSetting("vocabulary match", FormattableString.Invariant($"{match.Matched:N0} tokens from the pretrained model, {match.New:N0} new (mean embedding)"));
        (IReadOnlyList<int> lmTraining, IReadOnlyList<int> lmValidation) = Preset.FineTuneOnAllText
            ? SplitAllText(corpus.DocumentCount, Preset.LanguageModelValidationShare, Preset.Seed)
            : (corpus.Training, corpus.Validation);
        if (Preset.FineTuneOnAllText)
        {
            Report.AddSetting("fine-tuning text", FormattableString.Invariant(
                $"all {corpus.DocumentCount:N0} documents' text, labels unused (fastbook: IMDb train + test + unsup): {lmTraining.Count:N0} train / {lmValidation.Count:N0} LM-validation docs, a seeded random split"));
        }
        RunLanguageModel(model, corpus, lmTraining, lmValidation, stage,
            learner =>
            {
                learner.Freeze();
                if (findLearningRate && !stage.Resuming)    // (a resumed run continues with the rates it started with)
                {
                    FindLearningRate(learner, "fine-tune (frozen)");
                }
            },
            [
                ($"fine-tune · freeze() · lr {Preset.FineTuneFrozenLearningRate.ToString(CultureInfo.InvariantCulture)}", (learner, fit) =>
                {
                    learner.Freeze();
                    learner.FitOneCycle(Preset.FineTuneFrozenEpochs, LearningRates.Uniform(Preset.FineTuneFrozenLearningRate), fit, Cancellation);
                }),
                ($"fine-tune · unfreeze() · lr {Preset.FineTuneLearningRate.ToString(CultureInfo.InvariantCulture)}", (learner, fit) =>
                {
                    learner.Unfreeze();
                    learner.FitOneCycle(Preset.FineTuneEpochs, LearningRates.Uniform(Preset.FineTuneLearningRate), fit, Cancellation);
                }),
            ]);
        return Completed(stage, LanguageModelArtifact.Save(ArtifactFolder(name), model, corpus.Vocabulary, corpus.Tokenization, corpus.MaxTokens, Backwards));
    }

    /// <summary>
    /// Trains the ULMFiT classifier on <paramref name="labelled"/>. With <paramref name="languageModel"/>, its encoder is
    /// loaded and the gradual-unfreezing recipe runs (head only at lr, then <c>freeze_to(-2)</c>, <c>-3</c>, unfrozen at
    /// <c>slice(lr/2.6⁴, lr)</c>); without, the same number of epochs runs unfrozen in one cycle (freezing a random
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
    /// <exception cref="InvalidDataException">The language model and the corpus were tokenized differently, or the language
    /// model reads text in the other direction than <see cref="Backwards"/>; the message names both.</exception>
    public ClassifierResult TrainClassifier(TextDataset labelled, LanguageModelArtifact? languageModel, string name = "classifier",
        int? trainingExamples = null, bool save = true, ClassifierOrder order = ClassifierOrder.Sorted, int epochScale = 1, string? artifact = null,
        bool gradualUnfreezing = true, int? seed = null)
    {
        int runSeed = seed ?? Preset.Seed;
        ArgumentOutOfRangeException.ThrowIfLessThan(epochScale, 1);
        ArgumentNullException.ThrowIfNull(labelled);
        languageModel?.Tokenization.EnsureSameAs(labelled.Tokenization, $"the language model '{languageModel.Folder}'", $"the corpus '{labelled.Folder}'");
        languageModel?.EnsureDirection(Backwards, "the language model whose encoder starts the classifier", ThisRun);
        if (labelled.ClassNames.Count < 2)
        {
            throw new ArgumentException("The classifier needs a corpus with at least two classes.", nameof(labelled));
        }
        // Only a saved classifier is a stage of the run (checkpointed, resumable); comparison runs are not.
        StageCheckpoints? stage = save
            ? Stage(artifact ?? name, "classifier", StageKey(labelled, FormattableString.Invariant(
                $"classifier from {(languageModel is null ? "scratch" : FileStamp(languageModel.EncoderPath))} examples {trainingExamples} order {order} scale {epochScale} gradual {gradualUnfreezing} seed {runSeed}")))
            : null;
        if (stage is not null && Reused(stage, artifact ?? name, ClassifierArtifact.Open) is { } reused)
        {
            return Evaluated(reused, labelled, Math.Min(trainingExamples ?? int.MaxValue, labelled.Training.Count));
        }
        torch.manual_seed(runSeed + 2);
        TextClassifier model = NewClassifier(labelled);
        try
        {
            if (languageModel is not null)
            {
                var encoder = ((AwdLstmClassifierEncoder)model.SentenceEncoder.Encoder).Encoder;
                ModelWeights.LoadEncoder(encoder, languageModel.EncoderPath, labelled.Vocabulary.Tokens);
            }
            IReadOnlyList<int> training = trainingExamples is int n && n < labelled.Training.Count
                ? SampleStratified(labelled, n, runSeed) : labelled.Training;
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
            using var trainLoader = new ClassifierLoader(Documents(labelled), trainOptions, training);
            using var validLoader = new ClassifierLoader(Documents(labelled), validOptions, labelled.Validation);
            using var learner = new Learner<ClassifierBatch>(new ClassifierTask(model), trainLoader, validLoader, metrics: [Metrics.Accuracy]);
            var phases = new List<ProgressCallback>();   // the phases that ran (a resumed run skips finished ones)
            int phaseIndex = 0;
            // One callback per fit call, so the report shows one table per unfreezing phase like fastbook's.
            void Fit(string phase, int epochs, LearningRates rates)
            {
                var callback = new ProgressCallback(progress, phase, trainLoader.BatchCount, languageModel: false,
                    () => trainLoader.LastEpochPadding.Share);
                learner.Callbacks.Clear();
                learner.Callbacks.Add(callback);
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
            var clock = Stopwatch.StartNew();
            if (languageModel is not null && gradualUnfreezing)
            {
                for (int s = 0; s < Preset.ClassifierStages.Count; s++)
                {
                    var (freezeTo, stageEpochs, rate) = Preset.ClassifierStages[s];
                    int epochs = stageEpochs * epochScale;
                    learner.FreezeTo(freezeTo);
                    LearningRates rates = s == 0 ? LearningRates.Uniform(rate) : LearningRates.Slice(rate / Math.Pow(DiscriminativeFactor, 4), rate);
                    Fit(FormattableString.Invariant($"{name} · {(freezeTo == 0 ? "unfreeze()" : $"freeze_to({freezeTo})")} · lr {rates}"), epochs, rates);
                }
            }
            else
            {
                learner.Unfreeze();
                LearningRates rates = LearningRates.Uniform(Preset.ClassifierStages[0].LearningRate / 4);
                Fit(FormattableString.Invariant($"{name} · {(languageModel is null ? "from scratch" : "unfrozen, one cycle")} · lr {rates}"), Preset.ClassifierStages.Sum(s => s.Epochs) * epochScale, rates);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            foreach (ProgressCallback phase in phases)
            {
                RecordStage(phase);
            }
            var (predictor, evaluation) = Evaluate(model, labelled);
            ClassifierArtifact? saved = stage is not null
                ? Completed(stage, ClassifierArtifact.Save(ArtifactFolder(artifact ?? name), model, LanguageModelConfig, labelled.Vocabulary, labelled.Tokenization,
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

    /// <summary>
    /// Times one classifier training epoch with fastai's length bucketing (SortedDL) and with random batches, on fresh
    /// models in the same process (same data, sizes and seeds), twice: with this engine's sentence encoder (fastai v2: only
    /// rows whose text has started are fed) and with one that feeds every row (fastai v1,
    /// <see cref="SentenceEncoder.FeedEveryRow"/>), so the report shows what bucketing saves each of them.
    /// </summary>
    public BatchingComparison CompareBatching(TextDataset labelled)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        BatchingEpoch Time(ClassifierOrder order, bool feedEveryRow)
        {
            torch.manual_seed(Preset.Seed + 3);
            using TextClassifier model = NewClassifier(labelled);
            model.SentenceEncoder.FeedEveryRow = feedEveryRow;
            var options = ClassifierLoaderOptions.Training with
            {
                BatchSize = Preset.ClassifierBatchSize,
                SequenceLength = Preset.ClassifierSequenceLength,
                Seed = Preset.Seed,
                Order = order,
            };
            using var loader = new ClassifierLoader(Documents(labelled), options, labelled.Training);
            using var learner = new Learner<ClassifierBatch>(new ClassifierTask(model), loader);
            var callback = new ProgressCallback(progress, $"batching: {order}{(feedEveryRow ? ", every row fed" : "")}", loader.BatchCount, languageModel: false);
            learner.Callbacks.Add(callback);
            EpochResult result = learner.FitOneCycle(1, LearningRates.Uniform(1e-3), null, Cancellation)[0];
            return new BatchingEpoch(order, feedEveryRow, result.Seconds, loader.LastEpochPadding.Share, result.TrainTokensPerSecond);
        }
        var comparison = new BatchingComparison(
        [
            Time(ClassifierOrder.Sorted, feedEveryRow: false), Time(ClassifierOrder.Random, feedEveryRow: false),
            Time(ClassifierOrder.Sorted, feedEveryRow: true), Time(ClassifierOrder.Random, feedEveryRow: true),
        ]);
        Report.AddSection("Classifier epoch: length bucketing vs random batches", comparison.ToMarkdown());
        progress.Log(FormattableString.Invariant(
            $"bucketing vs random per classifier epoch: {comparison.Speedup(feedEveryRow: false):F2}× (started rows fed), {comparison.Speedup(feedEveryRow: true):F2}× (every row fed)"));
        return comparison;
    }

    /// <summary>
    /// ULMFiT's sample-efficiency experiment: classifiers with and without the fine-tuned language model on seeded,
    /// stratified subsets of <paramref name="sizes"/> labelled training mails (null = all), evaluated on the same
    /// validation split. Smaller subsets get proportionally more epochs (at most <paramref name="maxEpochScale"/>×) so
    /// that each run takes a comparable number of optimizer steps; the recipe is otherwise the preset's. With several
    /// <paramref name="seeds"/> every point is trained once per seed (another subset, initialisation and shuffle) and the
    /// report gives the mean, each seed's accuracy and how often the ULMFiT arm won: at 100 labels one seed's accuracy
    /// moves by several points, so a single run cannot show which arm is better.
    /// </summary>
    /// <param name="labelled">Labelled corpus.</param>
    /// <param name="languageModel">The fine-tuned language model of the ULMFiT arm.</param>
    /// <param name="sizes">Training-set sizes (null = all).</param>
    /// <param name="maxEpochScale">Largest epoch multiplier for small sets.</param>
    /// <param name="gradualUnfreezing">False runs the ULMFiT arm with the from-scratch arm's schedule (ablation: only
    /// the initial weights differ between the arms).</param>
    /// <param name="seeds">Seeds to repeat every point with (null = the preset's seed only).</param>
    public IReadOnlyList<SampleEfficiencyPoint> CompareSampleEfficiency(TextDataset labelled, LanguageModelArtifact languageModel, IReadOnlyList<int?> sizes,
        int maxEpochScale = 8, bool gradualUnfreezing = true, IReadOnlyList<int>? seeds = null)
    {
        ArgumentNullException.ThrowIfNull(labelled);
        ArgumentNullException.ThrowIfNull(sizes);
        seeds ??= [Preset.Seed];
        if (seeds.Count == 0 || seeds.Distinct().Count() != seeds.Count)
        {
            throw new ArgumentException("Give at least one seed, each once.", nameof(seeds));
        }
        var points = new List<SampleEfficiencyPoint>();
        foreach (int? size in sizes)
        {
            foreach (int seed in seeds)
            {
                foreach (bool pretrained in new[] { true, false })
                {
                    string name = FormattableString.Invariant(
                        $"sample-efficiency {(size is int s ? s.ToString(CultureInfo.InvariantCulture) : "all")} {(pretrained ? "ULMFiT" : "scratch")}{(seeds.Count > 1 ? $" seed {seed}" : "")}");
                    int available = labelled.Training.Count;
                    int scale = size is int n && n < available ? Math.Clamp((int)Math.Round((double)available / n), 1, maxEpochScale) : 1;
                    using ClassifierResult result = TrainClassifier(labelled, pretrained ? languageModel : null, name, size, save: false, epochScale: scale,
                        gradualUnfreezing: gradualUnfreezing, seed: seed);
                    points.Add(new SampleEfficiencyPoint(result.TrainingExamples, pretrained, result.Evaluation.Metrics.Accuracy, result.Seconds) { Seed = seed });
                }
            }
        }
        string arm = gradualUnfreezing ? "ULMFiT (pretrained + fine-tuned LM)" : "fine-tuned LM encoder, scratch schedule";
        Report.AddSection("Sample efficiency (validation accuracy)", SampleEfficiencyPoint.ToMarkdown(points, arm));
        string plot = Path.Combine(RunFolder, "plots", "sample-efficiency.png");
        IReadOnlyList<(int, double)> Means(bool pretrained) =>
            points.Where(p => p.Pretrained == pretrained).GroupBy(p => p.Examples).Select(g => (g.Key, g.Average(p => p.Accuracy))).ToList();
        TrainingPlots.SaveSampleEfficiency(plot, new Dictionary<string, IReadOnlyList<(int, double)>>
        {
            ["ULMFiT"] = Means(pretrained: true),
            ["from scratch"] = Means(pretrained: false),
        });
        Report.AddImage(seeds.Count > 1 ? $"Sample efficiency (mean of {seeds.Count} seeds)" : "Sample efficiency", "plots/sample-efficiency.png");
        return points;
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

    // The preset decides the model's sizes (as fastai's config does); pretrained weights of other sizes cannot load.
    private void CheckPretrainedSizes(AwdLstmConfig pretrained, string source)
    {
        static bool Fits(UlmfitPreset preset, AwdLstmConfig config) => preset.EmbeddingSize == config.EmbeddingSize
            && preset.Layers == config.Layers && (config.Layers == 1 || preset.HiddenSize == config.HiddenSize);
        if (Fits(Preset, pretrained))
        {
            return;
        }
        UlmfitPreset? fitting = new[] { UlmfitPreset.Large, UlmfitPreset.Small, UlmfitPreset.Tiny }.FirstOrDefault(p => Fits(p, pretrained));
        string advice = fitting is not null
            ? $"use the '{fitting.Name}' preset (--preset {fitting.Name})"
            : FormattableString.Invariant($"use a preset with its sizes (UlmfitPreset.{Preset.Name} with {{ EmbeddingSize = {pretrained.EmbeddingSize}, HiddenSize = {pretrained.HiddenSize}, Layers = {pretrained.Layers} }})");
        throw new PretrainedWeightsException(source, null, FormattableString.Invariant(
            $"the pretrained model is an AWD-LSTM with embedding {pretrained.EmbeddingSize}, hidden {pretrained.HiddenSize}, {pretrained.Layers} layers, but the '{Preset.Name}' preset builds embedding {Preset.EmbeddingSize}, hidden {Preset.HiddenSize}, {Preset.Layers} layers; {advice}"));
    }

    private void RunLanguageModel(AwdLstmLanguageModel model, TextDataset corpus, IReadOnlyList<int> training, IReadOnlyList<int> validation,
        StageCheckpoints stage, Action<Learner<LanguageModelBatch>>? prepare,
        IReadOnlyList<(string Phase, Action<Learner<LanguageModelBatch>, FitOptions> Fit)> phases)
    {
        var trainOptions = LanguageModelLoaderOptions.Training with
        {
            BatchSize = Preset.LanguageModelBatchSize,
            SequenceLength = Preset.LanguageModelSequenceLength,
            Seed = Preset.Seed,
        };
        var validOptions = LanguageModelLoaderOptions.Validation with
        {
            BatchSize = Preset.LanguageModelBatchSize,
            SequenceLength = Preset.LanguageModelSequenceLength,
        };
        using var train = new LanguageModelLoader(Documents(corpus), trainOptions, training);
        using var valid = new LanguageModelLoader(Documents(corpus), validOptions, validation);
        using var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), train, valid, metrics: Metrics.LanguageModel);
        prepare?.Invoke(learner);
        // One callback per phase, so the report shows one table per phase like fastbook's.
        for (int i = 0; i < phases.Count; i++)
        {
            var (phase, fit) = phases[i];
            var callback = new ProgressCallback(progress, phase, train.BatchCount, languageModel: true);
            learner.Callbacks.Clear();
            learner.Callbacks.Add(callback);
            Cancellation.ThrowIfCancellationRequested();
            if (stage.RunPhase(i, learner, options => fit(learner, options)))
            {
                RecordStage(callback);
            }
        }
    }

    // Checkpoints are named after the artifact, or after the kind of stage when the artifact is the run folder itself (CLI).
    private StageCheckpoints Stage(string name, string kind, string key)
    {
        var stage = new StageCheckpoints(RunFolder, name == "." ? kind : name, key, Resume);
        if (stage.Resuming && !stage.Completed)
        {
            progress.Log($"{name}: continuing from the checkpoint in {Path.Combine(RunFolder, "checkpoints")}");
            Report.AddSetting($"resumed {name}", "continued from its checkpoint (the report's epoch tables list only the epochs run after resuming)");
        }
        return stage;
    }

    // What a stage is run with: a completed stage is reused only if all of it is the same (the direction too: a
    // backwards stage's checkpoints and artifact are of a model that reads the other way).
    private string StageKey(TextDataset corpus, string what) => FormattableString.Invariant(
        $"{what} | {Preset} | stages {string.Join(' ', Preset.ClassifierStages)} | corpus {corpus.Folder} vocabulary {corpus.Vocabulary.Hash:x16} documents {corpus.DocumentCount} tokens {corpus.Corpus.TokenCount} | {corpus.Tokenization.Description} | {ModelArtifact.DirectionName(Backwards)}");

    // The documents as this run's models read them: reversed in a backwards run (after the token cap, which keeps a
    // document's first tokens whichever way it is read).
    private ITokenCorpus Documents(TextDataset corpus) => Backwards ? new ReversedTokenCorpus(corpus.Corpus) : corpus.Corpus;

    // This run, as named in direction-mismatch errors.
    private string ThisRun => $"this run (run folder '{RunFolder}')";

    // The preset's classifier on a fresh encoder, in the preset's precision (weights stay fp32, only its LSTMs' products change).
    private TextClassifier NewClassifier(TextDataset labelled)
    {
        TextClassifier model = TextClassifier.Create(labelled.Vocabulary.Count, LanguageModelConfig, labelled.ClassNames.Count,
            Preset.ClassifierDropMultiplier, Preset.ClassifierSequenceLength);
        ((AwdLstmClassifierEncoder)model.SentenceEncoder.Encoder).Encoder.Precision = Preset.Precision;
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
            progress.Log($"{name}: the completed stage's artifact in {folder} cannot be read ({e.Message}); training it again");
            return null;
        }
        progress.Log($"{name}: completed earlier in this run folder with the same settings and data, reusing {folder}");
        Report.AddSetting($"resumed {name}", $"completed earlier with the same settings and data; reused {folder}");
        return artifact;
    }

    private static T Completed<T>(StageCheckpoints stage, T artifact)
    {
        stage.Complete();
        return artifact;
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

    private void FindLearningRate<TBatch>(Learner<TBatch> learner, string stage) where TBatch : IDisposable
    {
        progress.Log($"learning-rate finder ({stage})…");
        Training.LearningRateFinderResult result = learner.FindLearningRate(iterations: Math.Min(60, Math.Max(20, learner.Training.BatchCount)));
        TrainingPlots.SaveLearningRateFinder(Path.Combine(RunFolder, "plots", "lr-finder.png"), result, $"Learning-rate finder: {stage}");
        Report.AddImage($"Learning-rate finder ({stage})", "plots/lr-finder.png");
        Report.AddSetting($"lr_find ({stage})", result.ToString());      // the suggestions, or why there are none
        progress.Log($"lr_find ({stage}): {result}");
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

    // fastbook fine-tunes the IMDb language model on every review's text (train, test and unsup) with a random 10 % held
    // out for the LM's own validation; the same here over all documents of the corpus, labels unused.
    internal static (IReadOnlyList<int> Training, IReadOnlyList<int> Validation) SplitAllText(int documentCount, double validationShare, int seed)
    {
        int[] all = Enumerable.Range(0, documentCount).ToArray();
        new Random(seed).Shuffle(all);
        int held = Math.Clamp((int)Math.Round(all.Length * validationShare), 1, Math.Max(1, all.Length - 1));
        int[] validation = all[..held], training = all[held..];
        Array.Sort(validation);
        Array.Sort(training);
        return (training, validation);
    }

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

/// <summary>One timed classifier epoch of <see cref="UlmfitPipeline.CompareBatching"/>.</summary>
/// <param name="Order">Batch order.</param>
/// <param name="FeedEveryRow">Whether the sentence encoder fed every row (fastai v1) or only rows whose text has started.</param>
/// <param name="Seconds">Epoch time.</param>
/// <param name="Padding">Share of padded batch cells.</param>
/// <param name="TokensPerSecond">Training tokens per second, padding included.</param>
public sealed record BatchingEpoch(ClassifierOrder Order, bool FeedEveryRow, double Seconds, double Padding, double TokensPerSecond);

/// <summary>
/// Classifier epoch times with length bucketing and random batches (<see cref="UlmfitPipeline.CompareBatching"/>), for
/// each sentence-encoder mode measured.
/// </summary>
/// <param name="Epochs">The timed epochs: a bucketed and a random one per encoder mode.</param>
public sealed record BatchingComparison(IReadOnlyList<BatchingEpoch> Epochs)
{
    /// <summary>Torch intra-op threads the epochs ran with (the speed-up depends on it, see perf-results/ClassifierBucketing.md).</summary>
    public int Threads { get; init; } = torch.get_num_threads();

    /// <summary>Random-batch epoch time ÷ bucketed epoch time with the given encoder mode.</summary>
    public double Speedup(bool feedEveryRow) => Epoch(ClassifierOrder.Random, feedEveryRow).Seconds / Math.Max(Epoch(ClassifierOrder.Sorted, feedEveryRow).Seconds, 1e-9);

    /// <summary>The epoch of <paramref name="order"/> with the given encoder mode.</summary>
    /// <exception cref="InvalidOperationException">That epoch was not measured.</exception>
    public BatchingEpoch Epoch(ClassifierOrder order, bool feedEveryRow) =>
        Epochs.FirstOrDefault(e => e.Order == order && e.FeedEveryRow == feedEveryRow)
        ?? throw new InvalidOperationException($"No {order} epoch with {(feedEveryRow ? "every row" : "started rows")} fed was measured.");

    /// <summary>Markdown table.</summary>
    public string ToMarkdown()
    {
        var table = new System.Text.StringBuilder("| batching | sentence encoder feeds | epoch time | padding | tokens/s (padding included) |\n|---|---|---|---|---|\n");
        foreach (BatchingEpoch e in Epochs)
        {
            table.Append(CultureInfo.InvariantCulture,
                $"| {(e.Order == ClassifierOrder.Sorted ? "length buckets (SortedDL)" : "random")} | {(e.FeedEveryRow ? "every row (fastai v1)" : "started rows (fastai v2, default)")} | {e.Seconds:F1} s | {e.Padding * 100:F1}% | {e.TokensPerSecond:N0} |\n");
        }
        table.Append('\n');
        foreach (bool every in Epochs.Select(e => e.FeedEveryRow).Distinct())
        {
            table.Append(CultureInfo.InvariantCulture,
                $"Speed-up of bucketing, {(every ? "every row fed" : "started rows fed")}: **{Speedup(every):F2}×** (target ≥ 1.5×). ");
        }
        table.Append(CultureInfo.InvariantCulture,
            $"{Threads} torch thread(s). Random = the same loader with documents shuffled into batches regardless of length (rows still longest first, same chunk-safe padding), same model code and settings. Fed only the rows whose text has started, the encoder never computes leading padding, so both orders do nearly the same encoder work and bucketing saves serial steps; an encoder that feeds every row computes the random batches' padding, which is what bucketing removes.");
        return table.ToString();
    }
}

/// <summary>One point of the sample-efficiency comparison.</summary>
/// <param name="Examples">Labelled training documents.</param>
/// <param name="Pretrained">Whether the classifier started from the fine-tuned language model.</param>
/// <param name="Accuracy">Validation accuracy.</param>
/// <param name="Seconds">Training time.</param>
public sealed record SampleEfficiencyPoint(int Examples, bool Pretrained, double Accuracy, double Seconds)
{
    /// <summary>Seed of the subset, initialisation and shuffles.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Markdown table, one row per training-set size: each arm's mean accuracy over the seeds (and each seed's, when there
    /// are several), how many seeds the pretrained arm won, and the mean training times.
    /// </summary>
    /// <param name="points">Both arms' points, every size and seed.</param>
    /// <param name="arm">Heading of the pretrained arm's column.</param>
    public static string ToMarkdown(IReadOnlyList<SampleEfficiencyPoint> points, string arm)
    {
        ArgumentNullException.ThrowIfNull(points);
        bool severalSeeds = points.Select(p => p.Seed).Distinct().Count() > 1;
        var table = new System.Text.StringBuilder(severalSeeds
            ? $"| labelled mails | {arm}: mean (per seed) | from scratch: mean (per seed) | pretrained arm better | training time (ULMFiT / scratch) |\n|---|---|---|---|---|\n"
            : $"| labelled mails | {arm} | from scratch | training time (ULMFiT / scratch) |\n|---|---|---|---|\n");
        foreach (var group in points.GroupBy(p => p.Examples))
        {
            var with = group.Where(p => p.Pretrained).OrderBy(p => p.Seed).ToList();
            var without = group.Where(p => !p.Pretrained).OrderBy(p => p.Seed).ToList();
            string Cell(List<SampleEfficiencyPoint> runs) => severalSeeds
                ? FormattableString.Invariant($"{runs.Average(p => p.Accuracy) * 100:F2}% ({string.Join(", ", runs.Select(p => FormattableString.Invariant($"{p.Accuracy * 100:F1}")))})")
                : FormattableString.Invariant($"{runs[0].Accuracy * 100:F2}%");
            string times = $"{RunReport.FormatDuration(with.Average(p => p.Seconds))} / {RunReport.FormatDuration(without.Average(p => p.Seconds))}";
            if (severalSeeds)
            {
                int wins = with.Count(w => without.Any(o => o.Seed == w.Seed && w.Accuracy > o.Accuracy));
                table.Append(CultureInfo.InvariantCulture, $"| {group.Key:N0} | {Cell(with)} | {Cell(without)} | {wins} of {with.Count} seeds | {times} |\n");
            }
            else
            {
                table.Append(CultureInfo.InvariantCulture, $"| {group.Key:N0} | {Cell(with)} | {Cell(without)} | {times} |\n");
            }
        }
        if (severalSeeds)
        {
            table.Append(CultureInfo.InvariantCulture, $"\nSeeds {string.Join(", ", points.Select(p => p.Seed).Distinct().Order())}, each with its own stratified subset, initialisation and shuffles; per-seed accuracies in seed order.\n");
        }
        return table.ToString();
    }
}
