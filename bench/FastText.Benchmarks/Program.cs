using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastText.Benchmarks.Infrastructure;
using FastText.Benchmarks.Runs;
using FastText.Engine.Native;

// Usage: dotnet run -c Release --project bench/FastText.Benchmarks -- [--profile short|full] [--threads N] [--results DIR] [BenchmarkDotNet args, e.g. --filter '*Lstm*']
// Results (GitHub markdown + JSON, with BenchmarkDotNet's machine description) are copied into perf-results/ with the command line.
// Long measurement runs (whole trainings, not BenchmarkDotNet suites): -- --run brown-mixed-precision | long-run-memory | kill-soak | …
// [--threads N] [--results DIR]; each writes its report into perf-results/ (see Runs/).
string profile = "short";
string? threads = null;
string? resultsDir = null;
string? run = null;
var forwarded = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--profile": profile = NextValue(args, ref i); break;
        case "--threads": threads = NextValue(args, ref i); break;
        case "--results": resultsDir = NextValue(args, ref i); break;
        case "--run": run = NextValue(args, ref i); break;
        default: forwarded.Add(args[i]); break;
    }
}

// Children inherit the environment: one intra-op thread unless asked, for stable figures on a shared 2-core machine.
Environment.SetEnvironmentVariable(TorchRuntime.ThreadsVariable, threads ?? Environment.GetEnvironmentVariable(TorchRuntime.ThreadsVariable) ?? "1");

string repo = FindRepositoryRoot();
string artifacts = Path.Combine(repo, "BenchmarkDotNet.Artifacts");
resultsDir ??= Path.Combine(repo, "perf-results");
string command = "dotnet run -c Release --project bench/FastText.Benchmarks -- " + string.Join(' ', args);
if (run is not null)
{
    if (forwarded.Count > 0)
    {
        Console.Error.WriteLine($"--run {run} takes only --threads and --results; unexpected: {string.Join(' ', forwarded)}.");
        return 2;
    }
    return PerformanceRuns.Execute(run, new RunContext(resultsDir, command, repo));
}

IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(IWorkload).Assembly)
    .Run(forwarded.ToArray(), BenchConfig.Create(profile, artifacts, Path.Combine(repo, "build", "TorchNativeFix.targets")));

foreach (Summary summary in summaries)
{
    if (summary.HasCriticalValidationErrors || summary.Reports.Length == 0)
    {
        continue;
    }
    PerfResults.Publish(summary, resultsDir, command, profile, Environment.GetEnvironmentVariable(TorchRuntime.ThreadsVariable)!);
}
return 0;

static string NextValue(string[] args, ref int i)
{
    if (++i < args.Length)
    {
        return args[i];
    }
    Console.Error.WriteLine($"{args[i - 1]} needs a value.");
    Environment.Exit(2);
    return "";
}

static string FindRepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "FastText.Engine.sln")))
        {
            return dir.FullName;
        }
    }
    return Directory.GetCurrentDirectory();
}
