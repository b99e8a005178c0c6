using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FastText.Engine.Data;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Training;

/// <summary>A fact that runs only when an environment variable is set (checks that CI runs on purpose, such as the epoch-time
/// regression checks; long measurement runs live in bench/FastText.Benchmarks, <c>--run NAME</c>).</summary>
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
    [EnvironmentFact(EpochTimeCheck.Variable)]
    public void Tiny_language_model_epoch_is_not_clearly_slower_than_the_baseline()
    {
        TorchTestSetup.Use();
        var data = new PatternLanguageModelData(PatternLanguageModelData.PatternStream(16 * 36 * 12 + 1, 2000, seed: 3), rows: 16, bptt: 36);
        torch.manual_seed(0);
        using var model = new AwdLstmLanguageModel(2000, new AwdLstmConfig(EmbeddingSize: 64, HiddenSize: 128, Layers: 3));
        using var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), data);
        EpochTimeCheck.Run(nameof(EpochTimeRegression), () => learner.FitOneCycle(1, 1e-3), output);
    }
}

/// <summary>
/// The shared measurement behind the epoch-time checks: one warm-up epoch (jit compile, allocator, optimizer state),
/// then five epochs interleaved with a fixed matmul calibration; the median epoch ÷ the median calibration is compared
/// with <c>perf-results/{name}.json</c> and fails beyond its allowed slowdown, printing every figure.
/// <c>FASTTEXT_EPOCH_CHECK=update</c> (or a missing file) writes the baseline instead.
/// </summary>
internal static class EpochTimeCheck
{
    public const string Variable = "FASTTEXT_EPOCH_CHECK";
    private const double AllowedSlowdown = 1.75;

    private sealed record Baseline(double NormalizedEpoch, double EpochSeconds, double CalibrationSeconds, double AllowedSlowdown, string Measured, string Command);

    public static void Run(string name, Action epoch, ITestOutputHelper output)
    {
        string path = Path.Combine(Repository.Root(), "perf-results", name + ".json");
        using Tensor a = torch.randn(384, 384);
        using Tensor b = torch.randn(384, 384);
        epoch();
        Calibrate(a, b);
        var epochs = new List<double>();
        var calibrations = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            calibrations.Add(Calibrate(a, b));
            var clock = Stopwatch.StartNew();
            epoch();
            epochs.Add(clock.Elapsed.TotalSeconds);
        }
        double median = Median(epochs), calibration = Median(calibrations), normalized = median / calibration;
        string figures = FormattableString.Invariant(
            $"epoch {median * 1000:F0} ms (runs {string.Join(", ", epochs.Select(e => (e * 1000).ToString("F0", CultureInfo.InvariantCulture)))}), calibration {calibration * 1000:F0} ms, normalised {normalized:F3}");
        Report(name, figures, output);

        if (Environment.GetEnvironmentVariable(Variable) == "update" || !File.Exists(path))
        {
            var fresh = new Baseline(normalized, median, calibration, AllowedSlowdown, DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
                $"{Variable}=update dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~{name}");
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(fresh, new JsonSerializerOptions { WriteIndented = true }));
            Report(name, $"baseline written to {path}", output);
            return;
        }
        Baseline baseline = JsonSerializer.Deserialize<Baseline>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"{path} holds no baseline.");
        double ratio = normalized / baseline.NormalizedEpoch;
        string verdict = FormattableString.Invariant($"normalised epoch {normalized:F3} vs baseline {baseline.NormalizedEpoch:F3} ({baseline.Measured}): {ratio:F2}× (limit {baseline.AllowedSlowdown:F2}×)");
        Report(name, verdict, output);
        Assert.True(ratio <= baseline.AllowedSlowdown, $"{name}: epoch time regression: {verdict}; {figures}");
    }

    private static void Report(string name, string line, ITestOutputHelper output)
    {
        output.WriteLine(line);
        Console.WriteLine($"{name}: {line}");
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

    private static double Median(List<double> values) => values.Order().ToList()[values.Count / 2];
}
