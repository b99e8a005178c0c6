using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastText.Engine.IO;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Native;
using FastText.Engine.Recipes;
using FastText.Engine.Reporting;
using FastText.Engine.Text;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// Do the explanations tell the truth (issue 16)? The deletion test on SpamAssassin's held-out mails: per mail, delete
/// the k tokens each method ranks highest for the predicted class and the drop of that class's probability, against k
/// random tokens (<see cref="DeletionCurve"/>); plus the completeness gaps and path points integrated gradients needed,
/// and seconds per explanation. The classifier: the whole-recipe comparison's (AWD-LSTM 128/384/3, Brown → mails),
/// trained here in bf16 unless FASTTEXT_FAITHFULNESS_RUN names a run folder of that recipe (its models/classifier… and
/// corpus/spam-assassin are used). Knobs: FASTTEXT_FAITHFULNESS_MAILS (held-out mails explained, default 100, a seeded
/// sample), FASTTEXT_FAITHFULNESS_MODEL (model folder name in the run, default classifier), FASTTEXT_FAITHFULNESS_RESULTS
/// (results name, default AttributionFaithfulness). Writes perf-results/&lt;name&gt;.md and .png.
/// </summary>
internal static class ExplainFaithfulnessRun
{
    private static readonly int[] Ks = [1, 2, 5, 10, 20];

    public static int Execute(RunContext context)
    {
        int threads = TorchRuntime.Initialize();
        int mailCount = RunContext.Knob("FASTTEXT_FAITHFULNESS_MAILS", 100, 1);
        string? given = Environment.GetEnvironmentVariable("FASTTEXT_FAITHFULNESS_RUN");
        string runFolder = given ?? Path.Combine(Path.GetTempPath(), $"fasttext-faithfulness-{Environment.ProcessId}");
        string modelName = Environment.GetEnvironmentVariable("FASTTEXT_FAITHFULNESS_MODEL") ?? "classifier";
        string name = Environment.GetEnvironmentVariable("FASTTEXT_FAITHFULNESS_RESULTS") ?? "AttributionFaithfulness";
        var clock = Stopwatch.StartNew();
        try
        {
            if (given is null)
            {
                Train(runFolder);
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;
            using TextDataset mails = TextDataset.Load(Path.Combine(runFolder, "corpus", "spam-assassin"));
            ClassifierArtifact artifact = ClassifierArtifact.Open(Path.Combine(runFolder, "models", modelName));
            using TextClassifier model = artifact.LoadModel();
            List<int> chosen = mails.Validation.OrderBy(d => new Random(d * 7919 + 17).Next()).Take(mailCount).ToList();
            List<int[]> documents = chosen.Select(d => mails.Document(d)).ToList();
            clock.Restart();
            DeletionResult result = new DeletionCurve(artifact.CreateExplainer(model)).Measure(documents, Ks,
                done => { if (done % 10 == 0) { Console.WriteLine($"{done}/{documents.Count} mails explained ({clock.Elapsed.TotalSeconds:F0} s)"); } });
            double explainSeconds = clock.Elapsed.TotalSeconds;
            string report = Report(context, name, result, documents, artifact, threads, trainSeconds, explainSeconds, given is not null);
            Console.Write(report);
            context.Write(name + ".md", report);
            Plot(Path.Combine(context.ResultsDirectory, name + ".png"), result);
            return result.Points[0].IntegratedGradients > result.Points[0].Random ? 0 : 1;
        }
        finally
        {
            if (given is null && Directory.Exists(runFolder))
            {
                Directory.Delete(runFolder, recursive: true);
            }
        }
    }

    // The whole-recipe comparison's recipe in bf16 (~4 minutes on 2 idle Zen 5 cores), into runFolder.
    private static void Train(string runFolder)
    {
        UlmfitPreset preset = UlmfitPeerRun.Preset(ComputePrecision.BFloat16);
        var run = new UlmfitPipeline(runFolder, preset, NullProgress.Instance);
        var (brownSource, mailSource) = SampleLocations.Resolve(null);
        using TextDataset english = run.Tokenize("brown", SampleReaders.Read(brownSource, preset.PretrainDocuments, preset.Seed).Select(t => t with { ClassName = null }).ToList());
        using TextDataset mails = run.Tokenize("spam-assassin", SampleReaders.Read(mailSource, preset.Mails, preset.Seed));
        LanguageModelArtifact general = run.Pretrain(english);
        LanguageModelArtifact tuned = run.FineTune(general, mails, findLearningRate: false);
        using ClassifierResult classifier = run.TrainClassifier(mails, tuned);
        Console.WriteLine($"classifier trained: accuracy {classifier.Evaluation.Metrics.Accuracy:P2}");
    }

    private static string Report(RunContext context, string name, DeletionResult result, List<int[]> documents, ClassifierArtifact artifact, int threads,
        double trainSeconds, double explainSeconds, bool reused)
    {
        static string F(double v, string f = "F3") => v.ToString(f, CultureInfo.InvariantCulture);
        var gaps = result.CompletenessGaps.Order().ToList();
        int[] steps = result.Steps.Order().ToArray();
        var text = new StringBuilder();
        text.AppendLine("# Do the explanations tell the truth? The deletion test").AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- machine: {CpuInfo.Describe()}; {threads} threads; measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine(CultureInfo.InvariantCulture, $"- command: `{context.CommandWith("FASTTEXT_FAITHFULNESS_RUN", "FASTTEXT_FAITHFULNESS_MAILS", "FASTTEXT_FAITHFULNESS_MODEL", "FASTTEXT_FAITHFULNESS_RESULTS")}`");
        string origin = reused
            ? $"from `{artifact.Folder}` (its run folder's report.md says how it was trained)"
            : $"the whole-recipe comparison's (Brown LM → mail LM → classifier, bf16 training; UlmfitVsPyTorch.md), trained in this run ({F(trainSeconds, "F0")} s)";
        text.AppendLine(CultureInfo.InvariantCulture, $"- classifier: AWD-LSTM {artifact.Card.EmbeddingSize}/{artifact.Card.HiddenSize}/{artifact.Card.Layers}, {origin}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- texts: {documents.Count} held-out SpamAssassin mails (a seeded sample of the validation split; bodies capped at {artifact.Card.MaxTokens} tokens; {F(documents.Average(d => d.Length), "F0")} tokens on average)");
        text.AppendLine("- protocol: explain each mail for its predicted class (fp32), delete its k top-ranked tokens (the text closes up), and record the drop of that class's probability; random = k random tokens, mean of 3 seeded draws. Integrated gradients rank by signed score (most in favour first); intrinsic attention by its unsigned score.");
        text.AppendLine(CultureInfo.InvariantCulture, $"- explaining took {F(explainSeconds / documents.Count, "F2")} s per mail (both methods and the {Ks.Length} × 5 deletion forwards; the machine may have been shared)").AppendLine();
        text.AppendLine("| tokens deleted | mails | integrated gradients | intrinsic attention | random | IG ÷ random | IA ÷ random |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        // A ratio to a random drop near zero says nothing: shown from a random drop of 0.005 up.
        string Ratio(double drop, double random) => random >= 0.005 ? F(drop / random, "F1") + "×" : "—";
        foreach (DeletionPoint p in result.Points)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {p.Deleted} | {p.Texts} | {F(p.IntegratedGradients)} | {F(p.IntrinsicAttention)} | {F(p.Random)} | {Ratio(p.IntegratedGradients, p.Random)} | {Ratio(p.IntrinsicAttention, p.Random)} |");
        }
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Mean drop of the predicted class's probability. Integrated gradients' completeness gap: median {F(100 * gaps[gaps.Count / 2], "F2")} %, max {F(100 * gaps[^1], "F2")} %, within 1 % on {gaps.Count(g => g <= IntegratedGradients.CompletenessTolerance)} of {gaps.Count} mails; path points used: {steps.Count(s => s == ClassifierExplainer.DefaultSteps)} mails at the default {ClassifierExplainer.DefaultSteps}, median {steps[steps.Length / 2]}, max {steps[^1]} (cap {ClassifierExplainer.DefaultMaxSteps}).");
        text.AppendLine().AppendLine($"![deletion curve]({name}.png)");
        return text.ToString();
    }

    private static void Plot(string path, DeletionResult result) => TrainingPlots.SaveLines(path,
        result.Points.Select(p => (double)p.Deleted).ToArray(),
        new Dictionary<string, IReadOnlyList<double>>
        {
            ["integrated gradients"] = result.Points.Select(p => p.IntegratedGradients).ToArray(),
            ["intrinsic attention"] = result.Points.Select(p => p.IntrinsicAttention).ToArray(),
            ["random"] = result.Points.Select(p => p.Random).ToArray(),
        },
        "Deleting the top-k tokens: drop of the predicted class's probability", "tokens deleted (k)", "mean probability drop");
}
