using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using FastText.Engine.Data;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Native;
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

/// <summary>
/// CI's epoch-time regression check for the language model: a fixed tiny LM epoch against a bare LSTM language model of
/// the same shapes on the same batches (<see cref="BareRecurrentModel"/>), timed in the same process, interleaved; the
/// median ratio must stay within perf-results/EpochTimeRegression.json's limit (<see cref="EpochTimeCheck"/>). Run:
/// <c>FASTTEXT_EPOCH_CHECK=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~EpochTimeRegression</c>;
/// <c>FASTTEXT_EPOCH_CHECK=update</c> records this CPU's ratio.
/// </summary>
public sealed class EpochTimeRegression(ITestOutputHelper output) : EpochTimeChecks(output)
{
    private static readonly AwdLstmConfig Shape = new(EmbeddingSize: 64, HiddenSize: 128, Layers: 3);

    protected override string Name => nameof(EpochTimeRegression);

    protected override IEpochPair Create() => new LanguageModelEpochs();

    // The engine's epoch and the bare one, over the same deterministic batches.
    private sealed class LanguageModelEpochs : IEpochPair
    {
        private readonly PatternLanguageModelData data;
        private readonly AwdLstmLanguageModel model;
        private readonly Learner<LanguageModelBatch> learner;
        private readonly BareRecurrentModel bare;

        public LanguageModelEpochs()
        {
            TorchTestSetup.Use();
            data = new PatternLanguageModelData(PatternLanguageModelData.PatternStream(16 * 36 * 12 + 1, 2000, seed: 3), rows: 16, bptt: 36);
            torch.manual_seed(0);
            model = new AwdLstmLanguageModel(2000, Shape);
            learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), data);
            bare = BareRecurrentModel.LanguageModel(2000, Shape);
        }

        public void Engine() => learner.FitOneCycle(1, 1e-3);

        public void Bare() => bare.Epoch(data, 0);

        public void Dispose()
        {
            learner.Dispose();
            model.Dispose();
            bare.Dispose();
        }
    }
}

/// <summary>An engine epoch and a bare-LSTM epoch of the same shapes on the same batches.</summary>
public interface IEpochPair : IDisposable
{
    /// <summary>One epoch of the engine.</summary>
    void Engine();

    /// <summary>One epoch of the bare baseline.</summary>
    void Bare();
}

/// <summary>The two epoch-time facts, for each <see cref="IEpochPair"/>: the engine is not clearly slower than its
/// baseline, and an engine made 2× slower is caught (see <see cref="EpochTimeCheck.AssertCaughtSlowdown"/>).</summary>
[Collection(SequentialTorchCollection.Name)]
public abstract class EpochTimeChecks(ITestOutputHelper output)
{
    /// <summary>The baseline file's name (perf-results/{Name}.json).</summary>
    protected abstract string Name { get; }

    /// <summary>Builds the epochs to time.</summary>
    protected abstract IEpochPair Create();

    [EnvironmentFact(EpochTimeCheck.Variable)]
    public void The_engine_epoch_is_not_clearly_slower_than_the_bare_lstm_baseline()
    {
        using IEpochPair run = Create();
        EpochTimeCheck.Run(Name, run.Engine, run.Bare, output);
    }

    [EnvironmentFact(EpochTimeCheck.Variable)]
    public void An_injected_2x_slowdown_is_caught()
    {
        using IEpochPair run = Create();
        EpochTimeCheck.AssertCaughtSlowdown(Name, run.Engine, run.Bare, output);
    }
}

/// <summary>
/// The measurement behind the epoch-time checks. Comparing an epoch with a figure committed from another machine says
/// nothing (kernels differ per microarchitecture; a matmul calibration does not follow an LSTM's cost), so each check
/// times the engine's epoch against a bare LSTM model of the same shapes on the same batches, in the same process:
/// one warm-up epoch of each (jit, kernel checks, optimizer state), then seven rounds of one epoch each, in alternating
/// order, and the median of the per-round ratios engine ÷ bare. That ratio is what the engine adds over libtorch's own
/// LSTM, close to a property of the code; it must stay within <c>perf-results/{name}.json</c>'s headroom (1.5×) of the
/// ratio recorded for this CPU, or of the largest ratio recorded on any CPU when this one has none (an unknown CPU gets
/// the loosest limit, never a free first run). <c>FASTTEXT_EPOCH_CHECK=update</c> records this CPU's ratio.
/// </summary>
internal static class EpochTimeCheck
{
    public const string Variable = "FASTTEXT_EPOCH_CHECK";
    private const double Headroom = 1.5;
    private const int Rounds = 7;
    private const int WarmUpEpochs = 3;

    /// <summary>One CPU's recorded ratio.</summary>
    public sealed record Seen(string Cpu, double Ratio, string Measured, string Command);

    /// <summary>The committed file: every CPU's ratio and the headroom allowed over it.</summary>
    public sealed record Baseline(double Headroom, string Why, List<Seen> Seen);

    /// <summary>The outcome of one measurement against the baseline.</summary>
    public sealed record Verdict(bool Passed, double Ratio, double Limit, string Text);

    /// <summary>Measures and asserts (or records, with <c>update</c>).</summary>
    public static void Run(string name, Action engine, Action bare, ITestOutputHelper output)
    {
        Verdict verdict = Judge(name, engine, bare, output);
        Assert.True(verdict.Passed, $"{name}: epoch time regression: {verdict.Text}");
    }

    /// <summary>Runs the check with the engine's epoch done twice per measured epoch and asserts that it is caught. Caught
    /// means: the recorded limit fails it, or, on a host where the engine runs far under this CPU's recorded ratio (hosts
    /// of one CPU model differ: 1.19 recorded, 0.64 measured on another host of the same Zen 5, where twice the epoch stays
    /// under 1.5 × 1.19), the doubled epoch's ratio is at least the headroom (1.5×) above the plain epoch's, measured in
    /// the same process right after: the measurement resolves a 2× slowdown, although that host's limit is loose (printed,
    /// so it is seen). On a loaded machine one median can land low (seen once in eight CI runs beside other jobs: 1.64
    /// against 1.79), so it tries up to <see cref="SlowdownAttempts"/> times; every attempt is printed.</summary>
    public static void AssertCaughtSlowdown(string name, Action engine, Action bare, ITestOutputHelper output)
    {
        var missed = new List<string>();
        for (int attempt = 0; attempt < SlowdownAttempts; attempt++)
        {
            Verdict doubled = Judge(name, () =>
            {
                engine();
                engine();
            }, bare, output);
            if (!doubled.Passed)
            {
                return;
            }
            Verdict plain = Judge(name, engine, bare, output);
            if (doubled.Ratio >= Headroom * plain.Ratio)
            {
                Report(name, FormattableString.Invariant(
                    $"the recorded limit {doubled.Limit:F3} misses a 2× slowdown on this host (plain ratio {plain.Ratio:F3}, doubled {doubled.Ratio:F3}); caught by the same-run comparison, {doubled.Ratio / plain.Ratio:F2}× ≥ {Headroom:F2}×"), output);
                return;
            }
            missed.Add(FormattableString.Invariant($"doubled {doubled.Text}; plain ratio {plain.Ratio:F3}"));
        }
        Assert.Fail($"a 2× slower engine epoch passed the check {SlowdownAttempts} times: {string.Join(" | ", missed)}");
    }

    private const int SlowdownAttempts = 3;

    /// <summary>Measures and compares with the baseline without asserting.</summary>
    public static Verdict Judge(string name, Action engine, Action bare, ITestOutputHelper output)
    {
        string path = Path.Combine(TestRepository.Root, "perf-results", name + ".json");
        string cpu = CpuInfo.Describe();
        for (int warmUp = 0; warmUp < WarmUpEpochs; warmUp++)
        {
            engine();
            bare();
        }
        var ratios = new List<double>();
        var engineTimes = new List<double>();
        var bareTimes = new List<double>();
        for (int round = 0; round < Rounds; round++)
        {
            double e, b;
            if (round % 2 == 0)
            {
                e = Time(engine);
                b = Time(bare);
            }
            else
            {
                b = Time(bare);
                e = Time(engine);
            }
            engineTimes.Add(e);
            bareTimes.Add(b);
            ratios.Add(e / b);
        }
        double ratio = Median(ratios);
        string figures = FormattableString.Invariant(
            $"engine epoch {Median(engineTimes) * 1000:F0} ms, bare LSTM epoch {Median(bareTimes) * 1000:F0} ms, ratio {ratio:F3} (rounds {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}) on {cpu}");
        Report(name, figures, output);

        Baseline baseline = File.Exists(path)
            ? JsonSerializer.Deserialize<Baseline>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} holds no baseline.")
            : new Baseline(Headroom, Why, new List<Seen>());
        if (Environment.GetEnvironmentVariable(Variable) == "update")
        {
            baseline.Seen.RemoveAll(s => s.Cpu == cpu);
            baseline.Seen.Add(new Seen(cpu, Math.Round(ratio, 3), DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
                $"{Variable}=update dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~{name}"));
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(baseline with { Headroom = Headroom, Why = Why }, new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            Report(name, $"ratio recorded for this CPU in {path}", output);
        }
        if (baseline.Seen.Count == 0)
        {
            throw new InvalidDataException($"{path} records no ratio: run once with {Variable}=update.");
        }
        Seen? mine = baseline.Seen.FirstOrDefault(s => s.Cpu == cpu);
        double reference = mine?.Ratio ?? baseline.Seen.Max(s => s.Ratio);
        double limit = reference * baseline.Headroom;
        string basis = mine is not null ? $"this CPU's ratio {mine.Ratio:F3} ({mine.Measured})" : $"no ratio for this CPU; the largest recorded, {reference:F3}";
        string text = FormattableString.Invariant($"ratio {ratio:F3} vs limit {limit:F3} = {baseline.Headroom:F2} × {basis}; {figures}");
        Report(name, text, output);
        return new Verdict(ratio <= limit, ratio, limit, text);
    }

    private const string Why = "engine epoch ÷ bare nn.LSTM epoch of the same shapes on the same batches, same process, median of 7 alternating rounds; limit = Headroom × this CPU's recorded ratio (else the largest recorded)";

    private static double Time(Action epoch)
    {
        var clock = Stopwatch.StartNew();
        epoch();
        return clock.Elapsed.TotalSeconds;
    }

    private static void Report(string name, string line, ITestOutputHelper output)
    {
        output.WriteLine(line);
        Console.WriteLine($"{name}: {line}");
    }

    private static double Median(List<double> values) => values.Order().ToList()[values.Count / 2];
}
