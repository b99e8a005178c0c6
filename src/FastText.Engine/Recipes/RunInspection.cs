using System.Globalization;
using FastText.Engine.Interpretation;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Reporting;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;

namespace FastText.Engine.Recipes;

/// <summary>What <see cref="RunInspection"/> computes, and where it finds the models.</summary>
public sealed record InspectionOptions
{
    /// <summary>The general language model (default: the run's <c>models/pretrained</c>).</summary>
    public string? Pretrained { get; init; }

    /// <summary>The fine-tuned language model (default: <c>models/finetuned</c>).</summary>
    public string? FineTuned { get; init; }

    /// <summary>The classifier (default: <c>models/classifier</c>).</summary>
    public string? Classifier { get; init; }

    /// <summary>The classifier's labelled corpus folder (default: the run's corpus whose vocabulary is the classifier's).</summary>
    public string? Corpus { get; init; }

    /// <summary>Prompts for the next-token table.</summary>
    public IReadOnlyList<string> Prompts { get; init; } = ["Click here to", "Thanks for the patch, I", "You have been selected", "The meeting"];

    /// <summary>Texts explained besides the top losses.</summary>
    public IReadOnlyList<string> Examples { get; init; } = UlmfitDemo.ExampleTexts;

    /// <summary>Top losses explained.</summary>
    public int TopLosses { get; init; } = 3;

    /// <summary>Cap of integrated gradients' path points for the top losses, which are often long (the examples, short,
    /// go to the explain command's 400).</summary>
    public int MaxSteps { get; init; } = 2 * ClassifierExplainer.DefaultSteps;

    /// <summary>Tokens placed on the embedding map.</summary>
    public int MapTokens { get; init; } = 300;

    /// <summary>How the map is laid out.</summary>
    public MapMethod MapMethod { get; init; } = MapMethod.TSne;

    /// <summary>Neighbours listed per token, and the tokens listed in the "what moved" table.</summary>
    public (int Neighbours, int Tokens) Moved { get; init; } = (8, 12);

    /// <summary>Tokens of the validation text whose surprisal is shown.</summary>
    public int SurprisalTokens { get; init; } = 160;

    /// <summary>POS-tagged sentences for the syntax probes (default: the shipped <c>samples/brown-tagged.txt.gz</c>);
    /// the probes are left out when there is none.</summary>
    public string? TaggedSentences { get; init; } = SampleLocations.TaggedBrown();

    /// <summary>Probe on the first this many tagged sentences only (null = all).</summary>
    public int? MaxTaggedSentences { get; init; }

    /// <summary>Whether to run the syntax probes and the agreement test at all.</summary>
    public bool Syntax { get; init; } = true;
}

/// <summary>
/// <c>fasttext inspect</c>: one self-contained page (<see cref="PageFile"/> in the run folder) with everything the
/// interpretation layer shows about a run's models — what the language model learned and why the classifier decides
/// (<see cref="InspectionPage"/>). A model the run does not have leaves its sections out, and the page says so.
/// </summary>
public static class RunInspection
{
    /// <summary>The page's file name in the run folder.</summary>
    public const string PageFile = "inspect.html";

    /// <summary>Writes the page; returns its path.</summary>
    public static string Write(string runFolder, IProgressSink progress, InspectionOptions? options = null, string? output = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(runFolder);
        ArgumentNullException.ThrowIfNull(progress);
        options ??= new InspectionOptions();
        if (!Directory.Exists(runFolder))
        {
            throw new DirectoryNotFoundException($"The run folder '{runFolder}' does not exist.");
        }
        string? pretrained = Find(options.Pretrained, runFolder, "pretrained", "language-model");
        string? fineTuned = Find(options.FineTuned, runFolder, "finetuned", "language-model");
        string? classifier = Find(options.Classifier, runFolder, "classifier", "classifier");
        if (pretrained is null && fineTuned is null && classifier is null)
        {
            throw new InvalidDataException($"'{runFolder}' has no models to inspect (looked for models/pretrained, models/finetuned and models/classifier).");
        }
        var page = new InspectionPage($"Inside the run '{runFolder}'");
        page.AddTable("Models", ModelRows([("pretrained", pretrained), ("fine-tuned", fineTuned), ("classifier", classifier)]));
        // The classifier's labelled corpus, found once: the surprisal view reads one of its mails, the evaluation all.
        string? labelled = classifier is null ? null : options.Corpus ?? FindCorpus(runFolder, classifier);
        using IProgressTask bar = progress.Start("inspecting", 4, "parts");
        if (fineTuned is not null || pretrained is not null)
        {
            LanguageModelParts(page, pretrained, fineTuned, labelled, runFolder, options);
        }
        bar.Report(2);
        cancellation.ThrowIfCancellationRequested();
        if (classifier is not null)
        {
            ClassifierParts(page, classifier, labelled, runFolder, options, bar, cancellation);
        }
        bar.Report(4);
        string path = output ?? Path.Combine(runFolder, PageFile);
        page.Write(path);
        return path;
    }

    private static string? Find(string? given, string runFolder, string name, string kind)
    {
        if (given is not null)
        {
            return given;      // opened later, with its own clear error if it is not a model of that kind
        }
        string folder = Path.Combine(runFolder, "models", name);
        return ModelCard.KindOf(folder) == kind ? folder : null;
    }

    private static List<IReadOnlyList<string>> ModelRows(IEnumerable<(string Role, string? Folder)> models)
    {
        var rows = new List<IReadOnlyList<string>> { new[] { "role", "folder", "AWD-LSTM", "direction", "vocabulary" } };
        foreach (var (role, folder) in models)
        {
            if (folder is null)
            {
                rows.Add([role, "not in this run", "", "", ""]);
                continue;
            }
            ModelArtifact artifact = role == "classifier" ? ClassifierArtifact.Open(folder) : LanguageModelArtifact.Open(folder);
            ModelCard c = artifact.Card;
            rows.Add([role, folder, FormattableString.Invariant($"{c.EmbeddingSize}/{c.HiddenSize}/{c.Layers}"), ModelArtifact.DirectionName(c.Backwards),
                artifact.Vocabulary.Count.ToString("N0", CultureInfo.InvariantCulture)]);
        }
        return rows;
    }

    // labelled: the classifier's corpus, or null (the surprisal view then scores an example text).
    private static void LanguageModelParts(InspectionPage page, string? pretrained, string? fineTuned, string? labelled, string runFolder, InspectionOptions options)
    {
        LanguageModelArtifact main = LanguageModelArtifact.Open(fineTuned ?? pretrained!);
        using AwdLstmLanguageModel model = main.LoadModel();
        if (!main.Backwards)
        {
            LanguageModelLens lens = main.CreateLens(model);
            page.AddNextTokens(options.Prompts.Select(p => (p, lens.NextTokens(main.Numericalize(p), 6))).ToList());
            var (name, ids) = SurprisalText(labelled, main, options);
            IReadOnlyList<TokenSurprisal> scored = lens.Surprisal(ids);
            page.AddSurprisal(name, main.Vocabulary[ids[0]], scored);
        }
        if (pretrained is not null && fineTuned is not null)
        {
            LanguageModelArtifact general = LanguageModelArtifact.Open(pretrained);
            using AwdLstmLanguageModel generalModel = general.LoadModel();
            page.AddMovedTokens("pretrained", "fine-tuned", MovedTokens(new LanguageModelLens(generalModel, general.Vocabulary), general.Vocabulary,
                new LanguageModelLens(model, main.Vocabulary), main.Vocabulary, options.Moved.Neighbours, options.Moved.Tokens));
        }
        EmbeddingMapResult map = EmbeddingMap.Create(model, main.Vocabulary, options.MapTokens, options.MapMethod);
        string png = Path.Combine(runFolder, "plots", "embedding-map.png");
        EmbeddingMap.SavePng(map, png,
            $"{(map.Method == MapMethod.Pca ? "PCA" : "t-SNE")} of the {map.Points.Count} most frequent tokens: {(fineTuned is null ? "pretrained" : "fine-tuned")} language model");
        page.AddMap(map, File.ReadAllBytes(png));
        if (options.Syntax)
        {
            SyntaxParts(page, pretrained ?? fineTuned!, fineTuned is not null && pretrained is not null ? fineTuned : null, runFolder, options);
        }
    }

    // Does the language model learn syntax? POS probes per layer on the general model (Brown's own tags), against the
    // same probe on a random-init model and the baselines; subject–verb agreement of each model against a bigram
    // baseline counted on its own training corpus.
    private static void SyntaxParts(InspectionPage page, string general, string? tuned, string runFolder, InspectionOptions options)
    {
        LanguageModelArtifact artifact = LanguageModelArtifact.Open(general);
        if (artifact.Backwards)
        {
            page.AddText("Does it learn syntax?", "The probes read a forward language model; this run's is backwards.");
            return;
        }
        if (options.TaggedSentences is { } tagged)
        {
            IReadOnlyList<TaggedSentence> sentences = TaggedSentences.Read(tagged);
            if (options.MaxTaggedSentences is int most)
            {
                sentences = sentences.Take(most).ToList();
            }
            var probe = new SyntaxProbe(artifact.Tokenization, artifact.Vocabulary);
            SyntaxProbeReport trained, random;
            using (AwdLstmLanguageModel model = artifact.LoadModel())
            {
                trained = probe.Run(model, sentences);
            }
            random = probe.RunRandomControl(artifact.Card.Config, seed: 1, sentences);
            var rows = new List<IReadOnlyList<string>> { new[] { "layer", "held-out words", "of them unseen in training", "same probe, random-init model" } };
            rows.AddRange(trained.Layers.Zip(random.Layers, (t, r) => (IReadOnlyList<string>)[t.Layer, P(t.TestAccuracy), P(t.UnseenAccuracy), P(r.TestAccuracy)]));
            page.AddTable("Does it learn syntax? Linear part-of-speech probes per layer", rows, FormattableString.Invariant(
                $"The general language model's hidden states, {sentences.Count:N0} tagged Brown sentences ({tagged}), 12 universal tags, every 5th sentence held out ({trained.TestWords:N0} words). ")
                + FormattableString.Invariant($"Baselines: majority tag ({trained.MajorityTag}) {P(trained.MajorityBaseline)}, word identity {P(trained.WordIdentityBaseline)} ({P(trained.MajorityOnUnseen)} on unseen words), previous word + word {P(trained.PreviousWordBaseline)}."));
        }
        else
        {
            page.AddText("Does it learn syntax?", "No POS-tagged sample found (samples/brown-tagged.txt.gz); the probes are left out.");
        }
        IReadOnlyList<AgreementPair> pairs = AgreementTest.TemplatePairs();
        var agreement = new List<IReadOnlyList<string>> { new[] { "model", "condition", "pairs", "LM right", "bigram right", "LM number shift", "bigram number shift" } };
        foreach (var (role, folder) in new[] { ("pretrained", general), ("fine-tuned", tuned) })
        {
            if (folder is null)
            {
                continue;
            }
            LanguageModelArtifact lm = LanguageModelArtifact.Open(folder);
            string? corpus = FindCorpus(runFolder, lm.Vocabulary.Hash, labelled: null);
            BigramModel? bigram = null;
            if (corpus is not null)
            {
                using TextDataset dataset = TextDataset.Load(corpus);
                bigram = AgreementTest.BigramBaseline(dataset, lm, pairs);
            }
            using AwdLstmLanguageModel model = lm.LoadModel();
            AgreementReport report = AgreementTest.Run(pairs, lm.Tokenization, lm.Vocabulary, new LanguageModelScorer(lm.CreateLens(model)), bigram);
            agreement.AddRange(report.Scores.Select(score => (IReadOnlyList<string>)[role, score.Condition?.ToString() ?? "all",
                score.Pairs.ToString(CultureInfo.InvariantCulture), P(score.LanguageModelAccuracy), score.BaselineAccuracy is { } b ? P(b) : "–",
                P(score.LanguageModelShiftAccuracy), score.BaselineShiftAccuracy is { } bs ? P(bs) : "–"]));
        }
        page.AddTable("Subject–verb agreement: \"The author of the books is / are\"", agreement,
            "360 template pairs (is/are, was/were, has/have; with an attractor noun of the same or the other number). Right: the agreeing verb is the more probable. "
            + "Number shift: between a singular-subject pair and its plural twin, the odds move towards the agreeing verb. The bigram baseline is counted on each model's training corpus.");

        static string P(double v) => double.IsNaN(v) ? "–" : v.ToString("P1", CultureInfo.InvariantCulture);
    }

    // The task's frequent words (letters only, 3 or more) present in both vocabularies, those whose neighbourhoods
    // changed most first.
    internal static List<MovedToken> MovedTokens(LanguageModelLens before, Vocabulary beforeWords, LanguageModelLens after, Vocabulary afterWords, int neighbours, int count)
    {
        const int Candidates = 400;
        var moved = new List<MovedToken>();
        for (int id = 0; id < afterWords.Count && moved.Count < Candidates; id++)
        {
            string token = afterWords[id];
            if (token.Length < 3 || !token.All(char.IsLetter) || SpecialTokens.All.Contains(token) || !beforeWords.Contains(token))
            {
                continue;
            }
            moved.Add(new MovedToken(token, before.Neighbours(token, neighbours)!, after.Neighbours(token, neighbours)!));
        }
        return moved.Select((m, rank) => (m, rank)).OrderBy(x => x.m.Overlap).ThenBy(x => x.rank).Take(count).Select(x => x.m).ToList();
    }

    // A validation document of the classifier's corpus (the first with at least 40 tokens, else the longest; cut to the
    // option's length), or the first example text when there is no corpus.
    private static (string Name, int[] Ids) SurprisalText(string? corpus, LanguageModelArtifact model, InspectionOptions options)
    {
        if (corpus is not null)
        {
            using TextDataset dataset = TextDataset.Load(corpus);
            if (dataset.Vocabulary.Hash == model.Vocabulary.Hash && dataset.Validation.Count > 0)
            {
                int chosen = dataset.Validation.FirstOrDefault(d => dataset.Document(d).Length >= 40, dataset.Validation.MaxBy(d => dataset.Document(d).Length));
                int[] ids = dataset.Document(chosen);
                if (ids.Length >= 2)
                {
                    return (FormattableString.Invariant($"validation document {chosen} of '{corpus}'"), ids[..Math.Min(ids.Length, options.SurprisalTokens)]);
                }
            }
        }
        return ("an example text", model.Numericalize(options.Examples.Count > 0 ? options.Examples[0] : "Hello world."));
    }

    // The run's labelled corpus numericalized with the classifier's vocabulary.
    private static string? FindCorpus(string runFolder, string classifier) =>
        FindCorpus(runFolder, ClassifierArtifact.Open(classifier).Vocabulary.Hash, labelled: true);

    // The run's corpus numericalized with the vocabulary of that hash (labelled: with two classes or more; null: any).
    private static string? FindCorpus(string runFolder, ulong vocabularyHash, bool? labelled)
    {
        string corpora = Path.Combine(runFolder, "corpus");
        if (!Directory.Exists(corpora))
        {
            return null;
        }
        foreach (string folder in Directory.GetDirectories(corpora).Order(StringComparer.Ordinal))
        {
            if (!File.Exists(Path.Combine(folder, "dataset.json")))
            {
                continue;
            }
            using TextDataset dataset = TextDataset.Load(folder);
            if (dataset.Vocabulary.Hash == vocabularyHash && (labelled is null || labelled == dataset.ClassNames.Count >= 2))
            {
                return folder;
            }
        }
        return null;
    }

    private static void ClassifierParts(InspectionPage page, string folder, string? corpus, string runFolder, InspectionOptions options, IProgressTask bar, CancellationToken cancellation)
    {
        ClassifierArtifact artifact = ClassifierArtifact.Open(folder);
        using TextClassifier model = artifact.LoadModel();
        ClassifierExplainer explainer = artifact.CreateExplainer(model);
        IReadOnlyList<string> classes = artifact.Card.ClassNames!;
        var explained = new List<ExplainedText>();
        for (int i = 0; i < options.Examples.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            // Short texts: refined as far as the explain command goes.
            explained.Add(artifact.ExplainText(explainer, $"example {i + 1}", options.Examples[i]));
        }
        bar.Report(3);
        if (corpus is null)
        {
            page.AddText("The classifier's evaluation", "No labelled corpus of this run has the classifier's vocabulary; give one (--corpus) to see the evaluation and the top losses.");
        }
        else
        {
            using TextDataset dataset = TextDataset.Load(corpus);
            artifact.Tokenization.EnsureSameAs(dataset.Tokenization, $"the classifier '{folder}'", $"the corpus '{corpus}'");
            if (dataset.Vocabulary.Hash != artifact.Vocabulary.Hash)
            {
                throw new InvalidDataException($"The corpus '{corpus}' was numericalized with another vocabulary than the classifier '{folder}'.");
            }
            ClassifierEvaluation evaluation = artifact.CreatePredictor(model).Evaluate(dataset.Subset(dataset.Validation));
            string png = Path.Combine(runFolder, "plots", EvaluationReport.ConfusionFile);
            TrainingPlots.SaveConfusionMatrix(png, evaluation.Metrics);
            page.AddEvaluation(evaluation, File.ReadAllBytes(png), corpus);
            foreach (TopLoss loss in evaluation.TopLosses.Take(options.TopLosses))
            {
                cancellation.ThrowIfCancellationRequested();
                int document = dataset.Validation[loss.Index];
                int[] ids = dataset.Document(document);
                if (ids.Length > 0)
                {
                    explained.Add(artifact.ExplainIds(explainer,
                        FormattableString.Invariant($"top loss: validation document {document}, actual {classes[loss.Actual]}, predicted {classes[loss.Predicted]} (p {loss.Probability:F3}, loss {loss.Loss:F3})"),
                        ids, loss.Predicted, maxSteps: options.MaxSteps));
                }
            }
        }
        page.AddExplained(explained);
    }
}
