using System.Diagnostics;
using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Models;
using FastText.Engine.Data;
using FastText.Engine.IO;
using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Data;

/// <summary>
/// How long a real training step waits for the loader: the bare nn.LSTM language-model step of
/// <see cref="BareLstmBaselineBenchmarks"/> (small shape: vocab 8000, emb 128, hidden 256, 3 layers, bs 32, bptt 72,
/// Adam) fed by <see cref="LanguageModelLoader"/>, against the same step on one resident batch (baseline, same run).
/// Besides BenchmarkDotNet's times, the benchmark process times every <c>MoveNext</c> of the loader and the whole
/// step, and writes the wait share to perf-results/LoaderWaitBenchmarks-wait.md (one line per prefetch depth).
/// </summary>
public class LoaderWaitBenchmarks
{
    private readonly LmShape shape = LmShape.Small;
    private BareLstmLanguageModel model = null!;
    private Tensor residentInputs = null!;
    private Tensor residentTargets = null!;
    private LanguageModelLoader loader = null!;
    private IEnumerator<LanguageModelBatch>? batches;
    private int epoch;
    private long waitTicks;
    private long stepTicks;
    private long steps;
    private long maxWaitTicks;

    /// <summary>Prefetch depth (0 = the loader fills each batch on the trainer's thread).</summary>
    [Params(0, 2)]
    public int Prefetch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Initialize();
        torch.manual_seed(0);
        model = new BareLstmLanguageModel(shape, tied: false);
        residentInputs = torch.randint(0, shape.Vocab, new long[] { shape.Batch, shape.Bptt }, dtype: ScalarType.Int64);
        residentTargets = torch.randint(0, shape.Vocab, new long[] { shape.Batch, shape.Bptt }, dtype: ScalarType.Int64);
        var corpus = SyntheticCorpus.Create(2_000_000, 20, 3000, shape.Vocab, seed: 2);
        loader = new LanguageModelLoader(corpus, new LanguageModelLoaderOptions { BatchSize = shape.Batch, SequenceLength = shape.Bptt, PrefetchDepth = Prefetch, Seed = 1 });
    }

    /// <summary>Steps per benchmark invocation (BenchmarkDotNet reports the time per step).</summary>
    private const int StepsPerInvocation = 8;

    /// <summary>Baseline: the step on one resident batch.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = StepsPerInvocation)]
    public float StepOnResidentBatch()
    {
        float loss = 0;
        for (int i = 0; i < StepsPerInvocation; i++)
        {
            loss = Step(residentInputs, residentTargets);
        }
        return loss;
    }

    /// <summary>The step fed by the loader; the wait inside <c>MoveNext</c> is recorded.</summary>
    [Benchmark(OperationsPerInvoke = StepsPerInvocation)]
    public float StepFedByLoader()
    {
        float loss = 0;
        for (int i = 0; i < StepsPerInvocation; i++)
        {
            loss = StepFromLoader();
        }
        return loss;
    }

    private float StepFromLoader()
    {
        long started = Stopwatch.GetTimestamp();
        if (batches is null || !batches.MoveNext())
        {
            batches?.Dispose();
            batches = loader.Epoch(epoch++).GetEnumerator();
            batches.MoveNext();
        }
        long waited = Stopwatch.GetTimestamp() - started;
        using LanguageModelBatch batch = batches.Current;
        float loss = Step(batch.Inputs, batch.Targets);
        long total = Stopwatch.GetTimestamp() - started;
        steps++;
        if (steps > 3) // the first steps include thread start-up and pool warm-up
        {
            waitTicks += waited;
            stepTicks += total;
            maxWaitTicks = Math.Max(maxWaitTicks, waited);
        }
        return loss;
    }

    private float Step(Tensor inputs, Tensor targets) => model.Step(inputs, targets);

    [GlobalCleanup]
    public void Cleanup()
    {
        if (stepTicks > 0)
        {
            WriteWaitShare();
        }
        batches?.Dispose();
        loader.Dispose();
        model.Dispose();
        residentInputs.Dispose();
        residentTargets.Dispose();
    }

    private void WriteWaitShare()
    {
        string? repo = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastText.Engine.sln")))
            {
                repo = dir.FullName;
                break;
            }
        }
        if (repo is null)
        {
            return;
        }
        string folder = Path.Combine(repo, "perf-results");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "LoaderWaitBenchmarks-wait.md");
        var lines = File.Exists(path)
            ? File.ReadAllLines(path).Where(l => l.StartsWith('|') && !l.StartsWith($"| {Prefetch} |", StringComparison.Ordinal) && !l.StartsWith("| Prefetch", StringComparison.Ordinal) && !l.StartsWith("|---", StringComparison.Ordinal)).ToList()
            : new List<string>();
        double stepMs = Stopwatch.GetElapsedTime(0, stepTicks).TotalMilliseconds;
        double waitMs = Stopwatch.GetElapsedTime(0, waitTicks).TotalMilliseconds;
        long measured = steps - 3;
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"| {Prefetch} | {measured} | {stepMs / measured:F2} | {waitMs / measured * 1000:F1} | {Stopwatch.GetElapsedTime(0, maxWaitTicks).TotalMilliseconds * 1000:F1} | {waitMs / stepMs:P4} | {DateTime.UtcNow:yyyy-MM-dd HH:mm} |"));
        lines.Sort(StringComparer.Ordinal);
        var text = new StringBuilder();
        text.AppendLine("# Trainer wait on the language-model loader");
        text.AppendLine();
        text.AppendLine("Written by `LoaderWaitBenchmarks` (the benchmark process times each loader `MoveNext` and each whole step of the");
        text.AppendLine("bare nn.LSTM LM step, small shape: vocab 8000, emb 128, hidden 256, 3 layers, bs 32, bptt 72; 1 torch thread;");
        text.AppendLine("all steps after the first 3, warm-up and pilot included). Command:");
        text.AppendLine("`dotnet run -c Release --project bench/FastText.Benchmarks -- --profile short --filter '*LoaderWait*'`");
        text.AppendLine();
        text.AppendLine("| Prefetch | Steps | Mean step (ms) | Mean wait (µs) | Max wait (µs) | Wait / step time | Measured (UTC) |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---|");
        foreach (string line in lines)
        {
            text.AppendLine(line);
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }
}
