using System.CommandLine;
using System.Diagnostics;
using FastText.Engine.Interpretation;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Text;

namespace FastText.Cli;

/// <summary>Arguments of <c>probe</c>.</summary>
/// <param name="Model">Language-model folder (forward).</param>
/// <param name="Tagged">Tagged sentences (<see cref="TaggedSentences"/>: word/tag tokens, one sentence per line).</param>
/// <param name="RandomControl">Also probe a randomly initialised model of the same sizes.</param>
/// <param name="Seed">Seed of the random control's initialisation.</param>
/// <param name="Steps">Adam steps of each probe.</param>
/// <param name="Threads">Torch threads.</param>
public sealed record ProbeRequest(string Model, string Tagged, bool RandomControl, int Seed, int Steps, int? Threads);

/// <summary>Arguments of <c>agreement</c>.</summary>
/// <param name="Model">Language-model folder (forward).</param>
/// <param name="Corpus">Tokenized corpus folder whose training documents the bigram baseline counts (the LM's own).</param>
/// <param name="K">Add-k smoothing constant of the bigram baseline.</param>
/// <param name="Threads">Torch threads.</param>
public sealed record AgreementRequest(string Model, string? Corpus, double K, int? Threads);

/// <summary>What the syntax commands do (tests substitute a recorder).</summary>
public interface ISyntaxCommandHandlers
{
    /// <summary>Runs <c>probe</c>.</summary>
    Task<int> ProbeAsync(ProbeRequest request, CancellationToken cancellation);

    /// <summary>Runs <c>agreement</c>.</summary>
    Task<int> AgreementAsync(AgreementRequest request, CancellationToken cancellation);
}

/// <summary>The <c>probe</c> and <c>agreement</c> commands ("does the language model learn syntax?").</summary>
public static class SyntaxCommands
{
    /// <summary>Adds both commands to <paramref name="root"/>; <paramref name="handlers"/> null = the real ones on the console.</summary>
    public static void Add(RootCommand root, Option<string> model, ISyntaxCommandHandlers? handlers)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(model);
        ISyntaxCommandHandlers Handlers() => handlers ?? new SyntaxCommandHandlers(TerminalProgress.ForConsole());

        var tagged = new Option<string>("--tagged") { Description = "POS-tagged sentences: one per line, word/tag tokens, Brown's tags or the universal ones (e.g. samples/brown-tagged.txt.gz).", Required = true };
        var control = new Option<bool>("--random-control") { Description = "Also probe a randomly initialised model of the same sizes (the control: what a probe gets from random features)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the random control's initialisation.", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Adam steps of each linear probe.", DefaultValueFactory = _ => new SyntaxProbeOptions().Steps };
        var probe = new Command("probe", "Does the language model know parts of speech? Linear probes on the embedding and every LSTM layer, trained on 4 in 5 tagged sentences and scored on the rest, against the majority and word-identity baselines.")
        {
            model, tagged, control, seed, steps,
        };
        probe.SetAction((parse, cancel) => Handlers().ProbeAsync(new ProbeRequest(parse.GetValue(model)!, parse.GetValue(tagged)!,
            parse.GetValue(control), parse.GetValue(seed), parse.GetValue(steps), parse.GetValue(FastTextCommandLine.Threads)), cancel));
        root.Subcommands.Add(probe);

        var corpus = new Option<string?>("--corpus", "-c") { Description = "Tokenized corpus folder the model was trained on: its training documents' bigram counts are the baseline." };
        var k = new Option<double>("--add-k") { Description = "Add-k smoothing of the bigram baseline.", DefaultValueFactory = _ => 0.1 };
        var agreement = new Command("agreement", "Subject-verb agreement: on 360 minimal pairs (\"The author of the books is/are\"), how often the model prefers the verb that agrees, with and without attractor nouns, against a bigram baseline.")
        {
            model, corpus, k,
        };
        agreement.SetAction((parse, cancel) => Handlers().AgreementAsync(new AgreementRequest(parse.GetValue(model)!, parse.GetValue(corpus),
            parse.GetValue(k), parse.GetValue(FastTextCommandLine.Threads)), cancel));
        root.Subcommands.Add(agreement);
    }
}

/// <summary>The real <c>probe</c> and <c>agreement</c>.</summary>
public sealed class SyntaxCommandHandlers(IProgressSink progress) : ISyntaxCommandHandlers
{
    /// <inheritdoc />
    public Task<int> ProbeAsync(ProbeRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Steps < 1)
        {
            throw new ArgumentException($"--steps must be at least 1; got {request.Steps}.");
        }
        TorchRuntime.Initialize(request.Threads);
        IReadOnlyList<TaggedSentence> sentences = TaggedSentences.Read(request.Tagged);
        LanguageModelArtifact artifact = OpenForward(request.Model, "the syntax probe");
        var probe = new SyntaxProbe(artifact.Tokenization, artifact.Vocabulary, new SyntaxProbeOptions(Steps: request.Steps));
        var clock = Stopwatch.StartNew();
        SyntaxProbeReport trained;
        using (AwdLstmLanguageModel model = artifact.LoadModel())
        {
            trained = Run(probe, model, sentences, "probing the trained model", cancellation);
        }
        SyntaxProbeReport? random = null;
        if (request.RandomControl)
        {
            using IProgressTask bar = progress.Start("probing a random-init model", sentences.Count, "sentences");
            random = probe.RunRandomControl(artifact.Card.Config, request.Seed, sentences, new Progress(bar, cancellation));
        }
        progress.Log($"{sentences.Count:N0} sentences ({request.Tagged}): {trained.TrainWords:N0} training words, {trained.TestWords:N0} held-out words (every 5th sentence), "
            + $"{trained.SkippedWords:N0} skipped (no token of their own); {trained.Tags.Count} tags; {clock.Elapsed.TotalSeconds:F0} s");
        // test = all held-out words; ambiguous = those with several tags in training; unseen = absent from training.
        progress.Log("layer        dims   train    test  ambiguous  unseen" + (random is null ? "" : "   random-init: test  ambiguous  unseen"));
        for (int l = 0; l < trained.Layers.Count; l++)
        {
            LayerProbe row = trained.Layers[l];
            string line = FormattableString.Invariant($"{row.Layer,-11} {row.Dimensions,5}  {row.TrainAccuracy,6:P1}  {row.TestAccuracy,6:P1}  {row.AmbiguousAccuracy,9:P1}  {row.UnseenAccuracy,6:P1}");
            progress.Log(random?.Layers[l] is { } r ? line + FormattableString.Invariant($"  {r.TestAccuracy,18:P1}  {r.AmbiguousAccuracy,9:P1}  {r.UnseenAccuracy,6:P1}") : line);
        }
        progress.Log(FormattableString.Invariant($"baselines: majority tag ({trained.MajorityTag}) {trained.MajorityBaseline:P1}; word identity (most frequent training tag per word) {trained.WordIdentityBaseline:P1}, ")
            + FormattableString.Invariant($"on the {trained.AmbiguousWords:N0} ambiguous words {trained.WordIdentityOnAmbiguous:P1}, on the {trained.UnseenWords:N0} unseen words {trained.MajorityOnUnseen:P1}; ")
            + FormattableString.Invariant($"previous word + word {trained.PreviousWordBaseline:P1}, on the ambiguous words {trained.PreviousWordOnAmbiguous:P1}"));
        return Task.FromResult(0);
    }

    /// <inheritdoc />
    public Task<int> AgreementAsync(AgreementRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!(request.K > 0))
        {
            throw new ArgumentException($"--add-k must be positive; got {request.K}.");
        }
        TorchRuntime.Initialize(request.Threads);
        LanguageModelArtifact artifact = OpenForward(request.Model, "the agreement test");
        IReadOnlyList<AgreementPair> pairs = AgreementTest.TemplatePairs();
        BigramModel? bigram = request.Corpus is { } folder ? CountBigrams(folder, artifact, pairs, request.K) : null;
        using AwdLstmLanguageModel model = artifact.LoadModel();
        AgreementReport report = AgreementTest.Run(pairs, artifact.Tokenization, artifact.Vocabulary, new LanguageModelScorer(artifact.CreateLens(model)), bigram);
        foreach (var (pair, reason) in report.Skipped.Take(5))
        {
            progress.Log($"skipped \"{pair.Prefix} {pair.Grammatical}\": {reason}");
        }
        // "right": the agreeing verb is the more probable one; "shift": the subject's number moves the odds the right way.
        progress.Log(bigram is null ? "condition              pairs  LM right  groups  LM shift" : "condition              pairs  LM right  bigram right  groups  LM shift  bigram shift");
        foreach (AgreementScore score in report.Scores)
        {
            string name = score.Condition?.ToString() ?? "all";
            progress.Log(bigram is null
                ? FormattableString.Invariant($"{name,-21} {score.Pairs,6}  {score.LanguageModelAccuracy,8:P1}  {score.Groups,6}  {score.LanguageModelShiftAccuracy,8:P1}")
                : FormattableString.Invariant($"{name,-21} {score.Pairs,6}  {score.LanguageModelAccuracy,8:P1}  {score.BaselineAccuracy,12:P1}  {score.Groups,6}  {score.LanguageModelShiftAccuracy,8:P1}  {score.BaselineShiftAccuracy,12:P1}"));
        }
        return Task.FromResult(report.Overall.Pairs > 0 ? 0 : 1);
    }

    private static LanguageModelArtifact OpenForward(string folder, string what)
    {
        LanguageModelArtifact artifact = LanguageModelArtifact.Open(folder);
        artifact.EnsureDirection(false, $"the language model '{folder}'", what);
        return artifact;
    }

    private SyntaxProbeReport Run(SyntaxProbe probe, AwdLstmLanguageModel model, IReadOnlyList<TaggedSentence> sentences, string what, CancellationToken cancellation)
    {
        using IProgressTask bar = progress.Start(what, sentences.Count, "sentences");
        return probe.Run(model, sentences, new Progress(bar, cancellation));
    }

    // The bigram baseline from the corpus's training documents, in the model's ids.
    private BigramModel CountBigrams(string folder, LanguageModelArtifact artifact, IReadOnlyList<AgreementPair> pairs, double k)
    {
        using TextDataset dataset = TextDataset.Load(folder);
        BigramModel bigram = AgreementTest.BigramBaseline(dataset, artifact, pairs, k);
        progress.Log($"bigram baseline: {dataset.Training.Count:N0} training documents of '{folder}'");
        return bigram;
    }

    // Sentences done → the bar; cancellation is checked between sentences.
    private sealed class Progress(IProgressTask bar, CancellationToken cancellation) : IProgress<int>
    {
        public void Report(int value)
        {
            cancellation.ThrowIfCancellationRequested();
            bar.Report(value);
        }
    }
}
