using System.Globalization;
using FastText.Engine.IO;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// Long measurement runs that are not BenchmarkDotNet suites (a whole training run each, minutes long), started with
/// <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run NAME</c>. Each writes a report into the
/// results folder (perf-results/ by default) and returns a non-zero exit code when its target is missed.
/// </summary>
internal static class PerformanceRuns
{
    /// <summary>The runs by command-line name.</summary>
    public static IReadOnlyDictionary<string, Func<RunContext, int>> All { get; } = new Dictionary<string, Func<RunContext, int>>(StringComparer.Ordinal)
    {
        ["brown-mixed-precision"] = BrownMixedPrecisionRun.Execute,
        ["long-run-memory"] = LongRunMemoryRun.Execute,
        ["tokenizer-scaling"] = TokenizerScalingRun.Execute,
        ["classifier-epoch-profile"] = ClassifierEpochProfileRun.Execute,
        ["lstm-numerics"] = LstmNumericsRun.Execute,
        ["peer-lm"] = PeerLanguageModelRun.Execute,
        ["peer-ulmfit"] = UlmfitPeerRun.Execute,
        ["explain-faithfulness"] = ExplainFaithfulnessRun.Execute,
        ["kill-soak"] = KillSoakRun.Execute,
        ["hostile-text"] = HostileTextRun.Execute,
        ["baselines"] = BaselinesRun.Execute,
    };

    /// <summary>Runs <paramref name="name"/>; an unknown name is reported with the list of known runs (exit code 2).</summary>
    public static int Execute(string name, RunContext context)
    {
        if (!All.TryGetValue(name, out Func<RunContext, int>? run))
        {
            Console.Error.WriteLine($"Unknown run '{name}'. Known runs: {string.Join(", ", All.Keys)}.");
            return 2;
        }
        try
        {
            return run(context);
        }
        catch (ArgumentException error) when (error.Source == typeof(PerformanceRuns).Assembly.GetName().Name)
        {
            // A bad knob value: the message names the variable; a stack trace adds nothing.
            Console.Error.WriteLine(error.Message);
            return 2;
        }
    }
}

/// <summary>Where a run writes and how it was started.</summary>
/// <param name="ResultsDirectory">Folder receiving the run's report (perf-results/ unless <c>--results</c> says otherwise).</param>
/// <param name="Command">The command line that started the run, written into the report.</param>
/// <param name="RepositoryRoot">The repository (samples/ and the solution), found upwards from the program or the current folder.</param>
internal sealed record RunContext(string ResultsDirectory, string Command, string RepositoryRoot)
{
    /// <summary>An integer knob read from the environment (the run's size), with a clear error when it is not one.</summary>
    public static int Knob(string variable, int fallback, int minimum)
    {
        string? text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < minimum)
        {
            throw new ArgumentException($"{variable}='{text}' is not a whole number ≥ {minimum}.");
        }
        return value;
    }

    /// <summary>The command as written into a report: the knobs that were set, then the command line.</summary>
    public string CommandWith(params string[] knobs) =>
        string.Concat(knobs.Where(k => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(k)))
            .Select(k => $"{k}={Environment.GetEnvironmentVariable(k)} ")) + Command;

    /// <summary>Writes <paramref name="text"/> to <paramref name="fileName"/> in the results folder atomically (temp file + rename).</summary>
    public string Write(string fileName, string text)
    {
        string path = Path.Combine(ResultsDirectory, fileName);
        AtomicFile.WriteAllText(path, text);
        return path;
    }

    /// <summary>Resident set size of this process (VmRSS from /proc/self/status), MiB; NaN where not available.</summary>
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
