using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FastText.Engine.Data;
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

    public static void WriteAtomically(string path, string text)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
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
