using FastText.Engine.Recipes.Experiments;
using FastText.Engine.IO;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Models.Baselines;
using FastText.Engine.Native;
using FastText.Engine.Recipes;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;

namespace FastText.Cli;

/// <summary>The real command implementations: each one calls the library's ULMFiT pipeline.</summary>
public sealed class PipelineCommandHandlers : ICommandHandlers
{
    private readonly IProgressSink progress;

    /// <summary>Creates the handlers, reporting to <paramref name="progress"/>.</summary>
    public PipelineCommandHandlers(IProgressSink progress) => this.progress = progress;

    /// <inheritdoc />
    public Task<int> TokenizeAsync(TokenizeRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        UlmfitPreset preset = request.Overrides.Apply(UlmfitPreset.Named(request.Preset));
        NoteUnused(request.Overrides, "tokenize", corpusCommand: true);
        using OutputFolder claim = OutputFolder.Claim(request.Output, OutputKind.Corpus);
        var texts = new List<LabelledText>();
        foreach (string input in request.Inputs)
        {
            ITextDocumentSource source = request.Format switch
            {
                "brown" => new BrownDocumentSource(input, labelByGenre: false),
                "spam-assassin" => new SpamAssassinDocumentSource(input),
                "lines" => new LineDocumentSource(input),
                _ when input.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || input.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase)
                    => new TarGzDocumentSource(input),
                _ => new FolderDocumentSource(input),
            };
            texts.AddRange(SampleReaders.Read(source).Select(t => request.NoLabels ? t with { ClassName = null } : t));
        }
        Vocabulary? vocabulary = null;
        string? subwordModel = request.SubwordModel;
        if (request.VocabularyFrom is { } from)
        {
            // A reused vocabulary only means something with the tokenization it was built with: take that too.
            vocabulary = Vocabulary.Load(Path.Combine(from, TextDataset.VocabularyFileName));
            Tokenization tokenization = Tokenization.Open(from);
            if (subwordModel is not null)
            {
                Tokenization.FromSentencePiece(subwordModel).EnsureSameAs(tokenization, "--subword-model", $"the --vocabulary-from folder '{from}'");
            }
            subwordModel = tokenization.SubwordModelPath;
        }
        bool labelled = texts.Any(t => t.ClassName is not null);
        TextDatasetOptions options = preset.Data(labelled) with { SubwordModel = subwordModel };
        if (!labelled && request.Overrides.Settings.Any(s => s.Key == "max-tokens"))
        {
            // A preset's cap is a classifier's (an LM corpus stays whole by default), but one asked for here applies: e.g.
            // unlabelled mails for the LM, cut as the classifier's corpus cuts them.
            options = options with { MaxTokens = preset.MaxTokensPerDocument };
            progress.Log(preset.MaxTokensPerDocument == 0 ? "--max-tokens 0: this unlabelled corpus keeps its documents whole."
                : FormattableString.Invariant($"--max-tokens {preset.MaxTokensPerDocument}: this unlabelled corpus keeps at most that many tokens per document (a language model's corpus is whole unless asked)."));
        }
        using TextDataset dataset = TextDataset.Create(texts, request.Output, options, vocabulary, progress);
        progress.Log($"{dataset.DocumentCount:N0} documents, {dataset.Corpus.TokenCount:N0} tokens, vocabulary {dataset.Vocabulary.Count:N0}, {dataset.Tokenization.Description}"
            + (dataset.ClassNames.Count > 0 ? $", classes {string.Join('/', dataset.ClassNames)}" : "") + $" → {request.Output}");
        return Task.FromResult(0);
    }

    /// <inheritdoc />
    public Task<int> PretrainAsync(LanguageModelRequest request, CancellationToken cancellation)
    {
        return OffThread(() =>
        {
            ArgumentNullException.ThrowIfNull(request);
            TorchRuntime.Initialize(request.Threads);
            UlmfitPreset preset = WithOverrides(request, "pretrain");
            using OutputFolder claim = OutputFolder.Claim(request.Output, OutputKind.LanguageModel);
            UlmfitPipeline run = TrainingRun(request.Output, preset, request.Resume, request.CheckpointEvery, request.Backwards, cancellation);
            using TextDataset corpus = TextDataset.Load(request.Corpus);
            LanguageModelArtifact artifact = run.Pretrain(corpus, name: ".");
            run.SaveReport();
            progress.Log($"language model → {artifact.Folder}");
            return 0;
        });
    }

    /// <inheritdoc />
    public Task<int> FineTuneAsync(LanguageModelRequest request, CancellationToken cancellation)
    {
        return OffThread(() =>
        {
            ArgumentNullException.ThrowIfNull(request);
            TorchRuntime.Initialize(request.Threads);
            UlmfitPreset preset = WithOverrides(request, "fine-tune");
            if (string.IsNullOrEmpty(request.Pretrained))
            {
                throw new ArgumentException("fine-tune needs --pretrained: a language-model folder or fastai .pth weights.");
            }
            using OutputFolder claim = OutputFolder.Claim(request.Output, OutputKind.LanguageModel);
            UlmfitPipeline run = TrainingRun(request.Output, preset, request.Resume, request.CheckpointEvery, request.Backwards, cancellation);
            using TextDataset corpus = TextDataset.Load(request.Corpus);
            // A model folder, or fastai's .pth (+ .pkl) converted on the fly.
            LanguageModelArtifact artifact = run.FineTune(request.Pretrained, corpus, name: ".", pretrainedVocabulary: request.PretrainedVocabulary);
            run.SaveReport();
            progress.Log($"fine-tuned language model and encoder → {artifact.Folder}");
            return 0;
        });
    }

    /// <inheritdoc />
    public Task<int> TrainClassifierAsync(ClassifierRequest request, CancellationToken cancellation)
    {
        return OffThread(() =>
        {
            ArgumentNullException.ThrowIfNull(request);
            TorchRuntime.Initialize(request.Threads);
            NoteUnused(request.Overrides, "train-classifier", corpusCommand: false);
            using OutputFolder claim = OutputFolder.Claim(request.Output, OutputKind.Classifier);
            UlmfitPipeline run = TrainingRun(request.Output, request.Overrides.Apply(UlmfitPreset.Named(request.Preset), request.Precision),
                request.Resume, request.CheckpointEvery, request.Backwards, cancellation);
            using TextDataset corpus = TextDataset.Load(request.Corpus);
            LanguageModelArtifact? encoder = request.Encoder is null ? null : LanguageModelArtifact.Open(request.Encoder);
            using ClassifierResult result = run.TrainClassifier(corpus, encoder, trainingExamples: request.Labelled, artifact: ".");
            run.Report.AddSection("Validation", result.Evaluation.Metrics.ToMarkdown());
            run.SaveReport();
            progress.Log(result.Evaluation.Metrics.ToMarkdown());
            progress.Log($"classifier → {result.Artifact?.Folder}");
            return 0;
        });
    }

    /// <inheritdoc />
    public Task<int> SampleEfficiencyAsync(SampleEfficiencyRequest request, CancellationToken cancellation)
    {
        return OffThread(() =>
        {
            ArgumentNullException.ThrowIfNull(request);
            TorchRuntime.Initialize(request.Threads);
            if (request.Encoder is null)
            {
                throw new ArgumentException("sample-efficiency needs --encoder: the fine-tuned language model the ULMFiT classifiers start from.");
            }
            List<int?> sizes = [];
            foreach (string item in request.Sizes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (item == "all")
                {
                    sizes.Add(null);
                }
                else if (int.TryParse(item, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0)
                {
                    sizes.Add(n);
                }
                else
                {
                    throw new ArgumentException($"--sizes: '{item}' is neither a positive number nor 'all'.");
                }
            }
            List<int>? seeds = null;
            if (request.Seeds is not null)
            {
                seeds = [];
                foreach (string item in request.Seeds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (!int.TryParse(item, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int seed) || seeds.Contains(seed))
                    {
                        throw new ArgumentException($"--seeds: '{item}' is not a whole number, or is given twice.");
                    }
                    seeds.Add(seed);
                }
                if (seeds.Count == 0)
                {
                    throw new ArgumentException("--seeds: no seed given.");
                }
            }
            NoteUnused(request.Overrides, "sample-efficiency", corpusCommand: false);
            UlmfitPreset preset = request.Overrides.Apply(UlmfitPreset.Named(request.Preset), request.Precision);
            if (preset.Augmentation.Kind != AugmentationKind.None)
            {
                throw new ArgumentException($"--augment {preset.Augmentation.Name}: sample-efficiency compares augmentations as arms beside the plain ones; give --augment-arms {preset.Augmentation.Name}.");
            }
            List<AugmentationSettings> arms = [];
            foreach (string item in (request.AugmentArms ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                AugmentationKind kind = AugmentationSettings.Names.TryGetValue(item, out AugmentationKind k) && k != AugmentationKind.None
                    ? k : throw new ArgumentException($"--augment-arms: '{item}' is not eda, contextual or command.");
                if (arms.Any(a => a.Kind == kind))
                {
                    throw new ArgumentException($"--augment-arms: '{item}' is given twice.");
                }
                AugmentationSettings arm = preset.Augmentation with { Kind = kind };
                arm.Validate();
                arms.Add(arm);
            }
            using OutputFolder claim = OutputFolder.Claim(request.Output, OutputKind.Run);
            var run = new UlmfitPipeline(request.Output, preset, progress)
            {
                Cancellation = cancellation,
                Backwards = request.Backwards,
            };
            using TextDataset labelled = TextDataset.Load(request.Corpus);
            SampleEfficiencyExperiment.Run(run, labelled, LanguageModelArtifact.Open(request.Encoder), sizes, gradualUnfreezing: !request.OneCycle, seeds: seeds,
                augmentations: arms);
            progress.Log($"report: {run.SaveReport()}");
            return 0;
        });
    }

    /// <inheritdoc />
    public Task<int> PredictAsync(PredictRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        TorchRuntime.Initialize(request.Threads);
        List<(string Name, string Text)> texts = ReadTexts(request.Texts, request.File);
        if (texts.Count == 0)
        {
            throw new ArgumentException("Nothing to classify: give texts as arguments or --file.");
        }
        using var classifiers = new LoadedClassifiers(request.Models);
        List<string> inputs = texts.Select(t => t.Text).ToList();
        if (classifiers.Artifacts.Count == 1)
        {
            foreach (var (item, prediction) in texts.Zip(classifiers.Predictors[0].Predict(inputs)))
            {
                progress.Log($"{prediction.ClassName}\t{Probabilities(prediction)}\t{item.Name}");
            }
            return Task.FromResult(0);
        }
        // An ensemble: each model's line, then the average's, per text (the first column says whose).
        LogMembers(classifiers.Artifacts);
        var ensemble = new ClassifierEnsemble(classifiers.Predictors);
        foreach (var (item, prediction) in texts.Zip(ensemble.Predict(inputs)))
        {
            for (int m = 0; m < prediction.Members.Count; m++)
            {
                progress.Log($"model {m + 1}\t{prediction.Members[m].ClassName}\t{Probabilities(prediction.Members[m])}\t{item.Name}");
            }
            progress.Log($"ensemble\t{prediction.Ensemble.ClassName}\t{Probabilities(prediction.Ensemble)}\t{item.Name}");
        }
        return Task.FromResult(0);

        string Probabilities(Prediction prediction) => string.Join(", ", classifiers.Predictors[0].ClassNames.Select((c, i) => FormattableString.Invariant($"{c} {prediction.Probabilities[i]:F4}")));
    }

    // Texts given as arguments, then each file of --file (a folder: every file in it, in name order).
    private static List<(string Name, string Text)> ReadTexts(IReadOnlyList<string> arguments, string? file)
    {
        var texts = new List<(string Name, string Text)>();
        texts.AddRange(arguments.Select((t, i) => ($"text {i + 1}", t)));
        if (file is not null)
        {
            IEnumerable<string> files = Directory.Exists(file) ? Directory.GetFiles(file).Order(StringComparer.Ordinal) : [file];
            foreach (string path in files)
            {
                string content = File.ReadAllText(path);
                // A mail (headers, empty line, body) is classified by its body, like the training data.
                bool mail = content.StartsWith("From ", StringComparison.Ordinal) || content.StartsWith("Return-Path:", StringComparison.Ordinal);
                texts.Add((path, mail ? SampleReaders.MailBody(content) : content));
            }
        }
        return texts;
    }

    /// <inheritdoc />
    public Task<int> ExplainAsync(ExplainRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Steps < 1)
        {
            throw new ArgumentException($"--steps must be at least 1; got {request.Steps}.");
        }
        TorchRuntime.Initialize(request.Threads);
        List<(string Name, string Text)> texts = ReadTexts(request.Texts, request.File);
        if (texts.Count == 0)
        {
            throw new ArgumentException("Nothing to explain: give texts as arguments or --file.");
        }
        ClassifierArtifact artifact = ClassifierArtifact.Open(request.Model);
        using var model = artifact.LoadModel();
        ClassifierExplainer explainer = artifact.CreateExplainer(model);
        bool colour = AttributionTerminal.UseColour(progress is TerminalProgress { Interactive: true });
        var explained = new List<ExplainedText>();
        using IProgressTask bar = progress.Start("explaining", texts.Count, "texts");
        foreach (var (name, text) in texts)
        {
            cancellation.ThrowIfCancellationRequested();
            bar.Report(explained.Count);
            if (artifact.Numericalize(text).Length == 0)
            {
                progress.Log($"{name}: no tokens, skipped.");
                continue;
            }
            ExplainedText e = artifact.ExplainText(explainer, name, text, request.Class, request.Steps, Math.Max(request.Steps, ClassifierExplainer.DefaultMaxSteps));
            explained.Add(e);
            foreach (string line in AttributionTerminal.Lines(e, colour))
            {
                progress.Log(line);
            }
        }
        if (request.Html is { } page && explained.Count > 0)
        {
            AttributionPage.Write(page, explained, $"Why '{Path.GetFileName(Path.GetFullPath(request.Model))}' decided");
            progress.Log($"page → {page}");
        }
        return Task.FromResult(explained.Count > 0 ? 0 : 1);
    }

    /// <inheritdoc />
    public Task<int> EvaluateAsync(EvaluateRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        TorchRuntime.Initialize(request.Threads);
        using TextDataset corpus = TextDataset.Load(request.Corpus);
        using var classifiers = new LoadedClassifiers(request.Models);
        foreach (ClassifierArtifact artifact in classifiers.Artifacts)
        {
            artifact.Tokenization.EnsureSameAs(corpus.Tokenization, $"the classifier '{artifact.Folder}'", $"the corpus '{request.Corpus}'");
            if (corpus.Vocabulary.Hash != artifact.Vocabulary.Hash)
            {
                throw new InvalidDataException($"The corpus in '{request.Corpus}' was numericalized with another vocabulary than the classifier's; re-run tokenize with --vocabulary-from {artifact.Folder}.");
            }
        }
        // The corpus in reading order: a backwards classifier's predictor reverses each document itself.
        ITokenCorpus validation = corpus.Subset(corpus.Validation);
        ClassifierEvaluation evaluation;
        if (classifiers.Artifacts.Count == 1 && !request.WithNgramBaseline)
        {
            evaluation = classifiers.Predictors[0].Evaluate(validation, request.TopLosses);
        }
        else
        {
            LogMembers(classifiers.Artifacts);
            EnsembleEvaluation ensemble = new ClassifierEnsemble(classifiers.Predictors).Evaluate(validation, request.TopLosses);
            if (request.WithNgramBaseline)
            {
                // The baseline learns the corpus's class indices; the ensemble averages index by index.
                if (!corpus.ClassNames.SequenceEqual(classifiers.Predictors[0].ClassNames, StringComparer.Ordinal))
                {
                    throw new InvalidDataException(
                        $"--with-ngram-baseline: the corpus '{request.Corpus}' has the classes [{string.Join(", ", corpus.ClassNames)}], the classifiers [{string.Join(", ", classifiers.Predictors[0].ClassNames)}]; the baseline's probabilities would be averaged with other classes'.");
                }
                ensemble = ClassifierEnsemble.Average([.. ensemble.Members.Select(m => m.Probabilities), NgramBaseline(corpus, classifiers.Artifacts.Count + 1)],
                    corpus.Validation.Select(corpus.Corpus.Label).ToArray(), classifiers.Predictors[0].ClassNames, request.TopLosses);
            }
            for (int m = 0; m < ensemble.Members.Count; m++)
            {
                progress.Log(Summary($"model {m + 1}", ensemble.Members[m]));
            }
            progress.Log(Summary("ensemble", ensemble.Ensemble));
            evaluation = ensemble.Ensemble;
            progress.Log("ensemble (mean probabilities):");
        }
        progress.Log(evaluation.Metrics.ToMarkdown());
        progress.Log(FormattableString.Invariant($"validation loss {evaluation.Loss:F4}"));
        IReadOnlyList<string> classes = classifiers.Predictors[0].ClassNames;
        List<TopLoss> worst = evaluation.TopLosses.Take(request.TopLosses).ToList();
        foreach (TopLoss loss in worst)
        {
            progress.Log(FormattableString.Invariant($"top loss: document {corpus.Validation[loss.Index]} actual {classes[loss.Actual]} predicted {classes[loss.Predicted]} p={loss.Probability:F3} loss={loss.Loss:F3}"));
        }
        if (request.Report is { } folder)
        {
            // Each top loss explained for the class the model chose: which tokens pulled it the wrong way. An ensemble's
            // losses are explained by its first model (an average of probabilities has no embedding layer of its own).
            ClassifierArtifact first = classifiers.Artifacts[0];
            ClassifierExplainer explainer = first.CreateExplainer(classifiers.Models[0]);
            // The report refines integrated gradients to 100 path points at most (the explain command goes to 1,000): top
            // losses are often long texts, and each page shows its completeness gap either way.
            const int ReportMaxSteps = 2 * ClassifierExplainer.DefaultSteps;
            var explained = new List<ExplainedText>();
            using IProgressTask bar = progress.Start("explaining top losses", worst.Count, "texts");
            foreach (TopLoss loss in worst)
            {
                cancellation.ThrowIfCancellationRequested();
                bar.Report(explained.Count);
                int document = corpus.Validation[loss.Index];
                int[] ids = corpus.Document(document);
                if (ids.Length == 0)
                {
                    continue;
                }
                string name = FormattableString.Invariant($"document {document}: actual {classes[loss.Actual]}, predicted {classes[loss.Predicted]} (p {loss.Probability:F3}, loss {loss.Loss:F3})");
                explained.Add(first.ExplainIds(explainer, name, ids, loss.Predicted, maxSteps: ReportMaxSteps));
            }
            string models = classifiers.Artifacts.Count == 1 ? $"'{first.Folder}'" : $"{classifiers.Artifacts.Count} classifiers";
            string who = classifiers.Artifacts.Count == 1 && !request.WithNgramBaseline ? models
                : $"the ensemble of {models}{(request.WithNgramBaseline ? " and the fastText-style baseline" : "")} (top losses explained by '{first.Folder}')";
            EvaluationReport.Write(folder, evaluation, explained, $"Evaluation of {who} on '{request.Corpus}'");
            progress.Log($"report → {Path.Combine(folder, EvaluationReport.PageFile)}, {Path.Combine(folder, EvaluationReport.ConfusionFile)}");
        }
        return Task.FromResult(0);

        // The fastText-style model trained on the corpus's training split, its probabilities of the validation documents.
        float[][] NgramBaseline(TextDataset dataset, int member)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var baseline = HashedNgramClassifier.Train(dataset.Corpus, dataset.Training, new HashedNgramOptions(), UlmfitPreset.Small.Seed);
            progress.Log(FormattableString.Invariant(
                $"model {member}: {baseline.Name}, trained on the corpus's {dataset.Training.Count:N0} training documents in {clock.Elapsed.TotalSeconds:F1} s"));
            return dataset.Validation.Select(d => baseline.Probabilities(dataset.Corpus, d)).ToArray();
        }

        static string Summary(string who, ClassifierEvaluation e) =>
            FormattableString.Invariant($"{who}: accuracy {e.Metrics.Accuracy * 100:F2}%, macro F1 {e.Metrics.MacroF1:F4}, loss {e.Loss:F4}");
    }

    /// <inheritdoc />
    public Task<int> GenerateAsync(GenerateRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        TorchRuntime.Initialize(request.Threads);
        LanguageModelArtifact artifact = LanguageModelArtifact.Open(request.Model);
        using var model = artifact.LoadModel();
        // The model folder's own tokenization (words or its spm.model) and direction: a backwards model writes what
        // precedes the prompt.
        int[] text = artifact.Generate(model, request.Prompt, request.Words, new GenerationOptions(request.Temperature, Seed: request.Seed));
        progress.Log(artifact.Tokenization.Decode(text.Select(id => artifact.Vocabulary[id])));
        return Task.FromResult(0);
    }

    /// <inheritdoc />
    public Task<int> NextTokensAsync(NextTokensRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Top < 1)
        {
            throw new ArgumentException($"--top must be at least 1; got {request.Top}.");
        }
        TorchRuntime.Initialize(request.Threads);
        LanguageModelArtifact artifact = LanguageModelArtifact.Open(request.Model);
        using var model = artifact.LoadModel();
        LanguageModelLens lens = artifact.CreateLens(model);
        int[] ids = artifact.Numericalize(request.Prompt);
        progress.Log($"after: {string.Join(' ', ids.Select(id => artifact.Vocabulary[id]))}");
        foreach (NextToken candidate in lens.NextTokens(ids, request.Top))
        {
            progress.Log(FormattableString.Invariant($"{candidate.Probability,8:F4}  {candidate.Token}"));
        }
        return Task.FromResult(0);
    }

    // The pipeline of a training command (pretrain, fine-tune, train-classifier): its run options in one place.
    private UlmfitPipeline TrainingRun(string output, UlmfitPreset preset, bool resume, int? checkpointEvery, bool backwards, CancellationToken cancellation) =>
        new(output, preset, progress)
        {
            Cancellation = cancellation,
            Resume = resume,
            CheckpointEveryBatches = checkpointEvery,
            Backwards = backwards,
        };

    /// <inheritdoc />
    public Task<int> CompactAsync(CompactRequest request, CancellationToken cancellation)
    {
        return OffThread(() =>
        {
            ArgumentNullException.ThrowIfNull(request);
            TorchRuntime.Initialize(request.Threads);
            LanguageModelArtifact source = LanguageModelArtifact.Open(request.Model);
            using OutputFolder claim = OutputFolder.Claim(request.Output, OutputKind.LanguageModel);
            LanguageModelArtifact copy = source.SaveCompact(request.Output);
            long Size(LanguageModelArtifact a) => new FileInfo(a.WeightsPath).Length + new FileInfo(a.EncoderPath).Length;
            progress.Log(FormattableString.Invariant($"bf16 copy of {source.Folder} ({Size(source) / 1e6:F1} MB of weights) → {copy.Folder} ({Size(copy) / 1e6:F1} MB)"));
            return 0;
        });
    }

    /// <inheritdoc />
    public Task<int> NeighboursAsync(NeighboursRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Top < 1)
        {
            throw new ArgumentException($"--top must be at least 1; got {request.Top}.");
        }
        TorchRuntime.Initialize(request.Threads);
        var lenses = new List<(string Folder, LanguageModelLens Lens, IDisposable Model)>();
        try
        {
            foreach (string folder in request.Models)
            {
                LanguageModelArtifact artifact = LanguageModelArtifact.Open(folder);
                var model = artifact.LoadModel();
                lenses.Add((folder, new LanguageModelLens(model, artifact.Vocabulary), model));   // embeddings: either direction
            }
            bool found = false;
            foreach (string token in request.Tokens)
            {
                foreach (var (folder, lens, _) in lenses)
                {
                    IReadOnlyList<Neighbour>? near = lens.Neighbours(token, request.Top);
                    found |= near is not null;
                    string who = lenses.Count > 1 ? $" ({folder})" : "";
                    progress.Log(near is null
                        ? $"{token}{who}: not in the vocabulary"
                        : $"{token}{who}: " + string.Join(", ", near.Select(n => FormattableString.Invariant($"{n.Token} {n.Cosine:F3}"))));
                }
            }
            return Task.FromResult(found ? 0 : 1);
        }
        finally
        {
            foreach (var (_, _, model) in lenses)
            {
                model.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public Task<int> MapAsync(MapRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        MapMethod method = ParseMapMethod(request.Method);
        if (request.Count < 3)
        {
            throw new ArgumentException($"--count must be at least 3; got {request.Count}.");
        }
        TorchRuntime.Initialize(request.Threads);
        LanguageModelArtifact artifact = LanguageModelArtifact.Open(request.Model);
        using var model = artifact.LoadModel();
        EmbeddingMapResult result = EmbeddingMap.Create(model, artifact.Vocabulary, request.Count, method);
        string what = method == MapMethod.Pca
            ? FormattableString.Invariant($"PCA of {result.Points.Count} tokens' embeddings: {result.ExplainedVariance.First:P1} + {result.ExplainedVariance.Second:P1} of the variance")
            : FormattableString.Invariant($"t-SNE of {result.Points.Count} tokens' embeddings (perplexity {result.Perplexity:0.#}; KL {result.Divergence:F3})");
        EmbeddingMap.SavePng(result, request.Output, $"{what}: {request.Model}");
        progress.Log($"{what} → {request.Output}");
        return Task.FromResult(0);
    }

    /// <inheritdoc />
    public Task<int> InspectAsync(InspectRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        var options = new InspectionOptions
        {
            Pretrained = request.Pretrained,
            FineTuned = request.FineTuned,
            Classifier = request.Classifier,
            Corpus = request.Corpus,
            MapMethod = ParseMapMethod(request.MapMethod),
        };
        TorchRuntime.Initialize(request.Threads);
        string page = RunInspection.Write(request.Run, progress, options, request.Output, cancellation);
        progress.Log($"inspection → {page}");
        return Task.FromResult(0);
    }

    private static MapMethod ParseMapMethod(string name) => name.ToLowerInvariant() switch
    {
        "pca" => MapMethod.Pca,
        "tsne" or "t-sne" => MapMethod.TSne,
        _ => throw new ArgumentException($"--method must be pca or tsne; got '{name}'."),
    };

    /// <inheritdoc />
    public Task<int> SurprisalAsync(SurprisalRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        TorchRuntime.Initialize(request.Threads);
        List<(string Name, string Text)> texts = ReadTexts(request.Texts, request.File);
        if (texts.Count == 0)
        {
            throw new ArgumentException("Nothing to score: give texts as arguments or --file.");
        }
        LanguageModelArtifact artifact = LanguageModelArtifact.Open(request.Model);
        using var model = artifact.LoadModel();
        LanguageModelLens lens = artifact.CreateLens(model);
        var pages = new List<(string, string, IReadOnlyList<TokenSurprisal>)>();
        foreach (var (name, text) in texts)
        {
            cancellation.ThrowIfCancellationRequested();
            int[] ids = artifact.Numericalize(text);
            IReadOnlyList<TokenSurprisal> scored = lens.Surprisal(ids);
            if (scored.Count == 0)
            {
                progress.Log($"{name}: fewer than two tokens, nothing to score.");
                continue;
            }
            double bits = scored.Average(t => t.Bits);
            progress.Log(FormattableString.Invariant($"{name}: {scored.Count} tokens, mean {bits:F2} bits/token, perplexity {Math.Pow(2, bits):F1}"));
            foreach (TokenSurprisal t in scored.OrderByDescending(t => t.Bits).Take(5))
            {
                progress.Log(FormattableString.Invariant($"  {t.Bits,5:F1} bits  {t.Token}  (expected {string.Join(", ", t.Expected.Select(x => $"{x.Token} {x.Probability:F3}"))})"));
            }
            pages.Add((name, artifact.Vocabulary[ids[0]], scored));
        }
        if (request.Html is { } page && pages.Count > 0)
        {
            SurprisalPage.Write(page, pages, $"Where '{Path.GetFileName(Path.GetFullPath(request.Model))}' is surprised");
            progress.Log($"page → {page}");
        }
        return Task.FromResult(pages.Count > 0 ? 0 : 1);
    }

    /// <inheritdoc />
    public Task<int> DemoAsync(DemoRequest request, CancellationToken cancellation)
    {
        return OffThread(() =>
        {
            ArgumentNullException.ThrowIfNull(request);
            int threads = TorchRuntime.Initialize(request.Threads);
            var (brown, mails) = SampleLocations.Resolve(request.Samples);
            progress.Log($"libtorch loaded ({threads} intra-op thread(s)); Brown from {brown.Description}, SpamAssassin from {mails.Description}.");
            UlmfitPreset preset = request.Overrides.Apply(UlmfitPreset.Named(request.Preset), request.Precision);
            preset = preset with
            {
                Mails = request.Mails is int m ? (m > 0 ? m : null) : preset.Mails,
                PretrainDocuments = request.BrownDocuments is int b ? (b > 0 ? b : null) : preset.PretrainDocuments,
            };
            using OutputFolder claim = OutputFolder.Claim(request.Output, OutputKind.Run);
            UlmfitDemo.Run(brown, mails, request.Output, preset, progress, request.SampleEfficiency, subwordModel: request.SubwordModel,
                cancellation: cancellation, resume: request.Resume, pretrained: request.Pretrained, unlabelledMails: request.UnlabelledMails);
            return 0;
        });
    }

    private void LogMembers(IReadOnlyList<ClassifierArtifact> artifacts)
    {
        for (int m = 0; m < artifacts.Count; m++)
        {
            progress.Log($"model {m + 1}: {artifacts[m].Folder} ({ModelArtifact.DirectionName(artifacts[m].Backwards)})");
        }
    }

    /// <summary>The classifiers of predict/evaluate, loaded with their predictors (each its own tokenization and direction).</summary>
    private sealed class LoadedClassifiers : IDisposable
    {
        private readonly List<Engine.Models.Classifier.TextClassifier> models = [];

        public LoadedClassifiers(IReadOnlyList<string> folders)
        {
            try
            {
                foreach (string folder in folders)
                {
                    ClassifierArtifact artifact = ClassifierArtifact.Open(folder);
                    var model = artifact.LoadModel();
                    models.Add(model);
                    Artifacts.Add(artifact);
                    Predictors.Add(artifact.CreatePredictor(model));
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public List<ClassifierArtifact> Artifacts { get; } = [];

        public List<ClassifierPredictor> Predictors { get; } = [];

        public IReadOnlyList<Engine.Models.Classifier.TextClassifier> Models => models;

        public void Dispose()
        {
            foreach (var model in models)
            {
                model.Dispose();
            }
        }
    }

    // Training runs on a pool thread so the returned task is pending while it runs: System.CommandLine installs its
    // Ctrl+C handler (cancel the token, wait for the action) only after the action has returned its task, and a
    // synchronous handler would return it finished — Ctrl+C would kill the process before a checkpoint is written.
    private static Task<int> OffThread(Func<int> work) => Task.Run(work);

    // Settings that only shape a corpus (tokenize, demo) or only a model and its training (the training commands, demo).
    private static readonly HashSet<string> CorpusSettings = ["max-vocab", "min-freq", "max-tokens"];

    private static readonly HashSet<string> ClassifierOnlySettings = ["augment", "augment-share", "eda-alpha", "contextual-rate", "augment-command", "synonyms"];

    // Says once per setting given to a command that does not use it (the run goes on: the value is simply not used).
    private void NoteUnused(PresetOverrides overrides, string command, bool corpusCommand)
    {
        foreach (var (name, _) in overrides.Settings)
        {
            if (ClassifierOnlySettings.Contains(name) && command is "pretrain" or "fine-tune" or "tokenize")
            {
                progress.Log($"note: --{name} has no effect on {command}: it changes how the classifier trains.");
                continue;
            }
            bool corpus = CorpusSettings.Contains(name);
            if (corpusCommand ? !corpus && name != "seed" : corpus)
            {
                progress.Log(corpus
                    ? $"note: --{name} has no effect on {command}: it shapes the corpus, which tokenize (or demo) builds."
                    : $"note: --{name} has no effect on {command}, which trains no model.");
            }
        }
    }

    // The preset with --config and the settings, then --epochs / --lr / --all-text, which set the command's own stage.
    private UlmfitPreset WithOverrides(LanguageModelRequest request, string command)
    {
        NoteUnused(request.Overrides, command, corpusCommand: false);
        UlmfitPreset preset = request.Overrides.Apply(UlmfitPreset.Named(request.Preset), request.Precision);
        if (request.Epochs is int epochs)
        {
            string value = epochs.ToString(System.Globalization.CultureInfo.InvariantCulture);
            preset = PresetSettings.Apply(PresetSettings.Apply(preset, "pretrain-epochs", value, "--epochs"), "finetune-epochs", value, "--epochs");
        }
        if (request.LearningRate is double rate)
        {
            string value = rate.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            preset = PresetSettings.Apply(PresetSettings.Apply(preset, "pretrain-lr", value, "--lr"), "finetune-lr", value, "--lr");
        }
        return preset with { FineTuneOnAllText = request.AllText ?? preset.FineTuneOnAllText };
    }
}
