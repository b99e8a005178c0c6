using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;
using Xunit.Abstractions;

namespace FastText.Engine.Tests.Classifier;

/// <summary>
/// The classifier's epoch-time regression check, alongside the language model's (<see cref="EpochTimeRegression"/>):
/// a fixed tiny classifier epoch (sentence encoder over a 3-layer AWD-LSTM, head, AR/TAR, fastai Adam, bucketed
/// batches of mail-like lengths), timed against a matmul calibration interleaved in the same process (medians),
/// normalised and compared with perf-results/ClassifierEpochTimeRegression.json. Run:
/// <c>FASTTEXT_EPOCH_CHECK=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~ClassifierEpochTimeRegression</c>;
/// <c>FASTTEXT_EPOCH_CHECK=update</c> rewrites the baseline.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class ClassifierEpochTimeRegression(ITestOutputHelper output)
{
    private sealed record Baseline(double NormalizedEpoch, double EpochSeconds, double CalibrationSeconds, double AllowedSlowdown, string Measured, string Command);

    [EnvironmentFact("FASTTEXT_EPOCH_CHECK")]
    public void Tiny_classifier_epoch_is_not_clearly_slower_than_the_baseline()
    {
        TorchTestSetup.Use();
        string path = Path.Combine(Repository.Root(), "perf-results", "ClassifierEpochTimeRegression.json");
        // 96 documents with a long-tailed, mail-like length distribution (median ~60 tokens, a few of 300).
        var random = new Random(5);
        var documents = Enumerable.Range(0, 96).Select(i =>
        {
            int length = Math.Min(300, 8 + (int)(-40 * Math.Log(1 - random.NextDouble())));
            return Enumerable.Range(0, length).Select(_ => 2 + random.Next(1998)).ToArray();
        }).ToList();
        var corpus = new InMemoryTokenCorpus(documents, documents.Select((_, i) => i % 2).ToList(), ["ham", "spam"]);
        torch.manual_seed(0);
        using TextClassifier model = TextClassifier.Create(2000, new AwdLstmConfig(EmbeddingSize: 64, HiddenSize: 128, Layers: 3), 2, bptt: 36);
        using var loader = new ClassifierLoader(corpus, ClassifierLoaderOptions.Training with { BatchSize = 16, SequenceLength = 36, Seed = 1 });
        using var learner = new Learner<ClassifierBatch>(new ClassifierTask(model), loader);
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
        Console.WriteLine("ClassifierEpochTimeRegression: " + figures);
        if (Environment.GetEnvironmentVariable("FASTTEXT_EPOCH_CHECK") == "update" || !File.Exists(path))
        {
            var fresh = new Baseline(normalized, epoch, calibration, 1.75, DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
                "FASTTEXT_EPOCH_CHECK=update dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~ClassifierEpochTimeRegression");
            Repository.WriteAtomically(path, JsonSerializer.Serialize(fresh, new JsonSerializerOptions { WriteIndented = true }));
            output.WriteLine($"baseline written to {path}");
            return;
        }
        Baseline baseline = JsonSerializer.Deserialize<Baseline>(File.ReadAllText(path))!;
        double ratio = normalized / baseline.NormalizedEpoch;
        string verdict = FormattableString.Invariant($"normalised epoch {normalized:F3} vs baseline {baseline.NormalizedEpoch:F3} ({baseline.Measured}): {ratio:F2}× (limit {baseline.AllowedSlowdown:F2}×)");
        output.WriteLine(verdict);
        Console.WriteLine("ClassifierEpochTimeRegression: " + verdict);
        Assert.True(ratio <= baseline.AllowedSlowdown, "Classifier epoch time regression: " + verdict + "; " + figures);
    }

    // A fixed amount of matmul work: the machine's speed right now, in this process and thread setting.
    private static double Calibrate(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 40; i++)
        {
            using var c = a.mm(b);
            using var d = c.tanh();
        }
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values) => values.Order().ToList()[values.Count / 2];
}
