using System.Globalization;
using System.Text;
using BenchmarkDotNet.Reports;
using FastText.Engine.IO;

namespace FastText.Benchmarks.Infrastructure;

/// <summary>Copies a run's exported results into perf-results/ next to a header saying how they were produced.</summary>
public static class PerfResults
{
    /// <summary>Writes <c>{suite}.md</c> (header + GitHub table) and <c>{suite}.json</c> for <paramref name="summary"/>.</summary>
    public static void Publish(Summary summary, string resultsDir, string command, string profile, string threads)
    {
        string suite = summary.BenchmarksCases[0].Descriptor.Type.Name;
        string[] failed = summary.Reports.Where(r => r.ResultStatistics is null).Select(r => r.BenchmarkCase.DisplayInfo).ToArray();
        if (failed.Length > 0)
        {
            // A table of NA rows is not a result: keep the previous perf-results file.
            Console.Error.WriteLine($"perf-results: {suite} not written, these cases produced no measurement: {string.Join("; ", failed)}");
            return;
        }
        Directory.CreateDirectory(resultsDir);
        string exported = Path.Combine(summary.ResultsDirectoryPath);
        string? markdown = Directory.GetFiles(exported, "*" + suite + "-report-github.md").FirstOrDefault();
        string? json = Directory.GetFiles(exported, "*" + suite + "-report-full.json").FirstOrDefault();
        if (markdown is null)
        {
            return;
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# {suite}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, profile `{profile}`, torch intra-op threads {threads}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- command: `{command}`");
        text.AppendLine(CultureInfo.InvariantCulture, $"- machine: {FastText.Engine.Native.CpuInfo.Describe()}; {Environment.ProcessorCount} logical cores, {Memory()} (shared and noisy: compare ratios within one run, not across runs)");
        text.AppendLine();
        text.Append(File.ReadAllText(markdown));
        AtomicFile.WriteAllText(Path.Combine(resultsDir, suite + ".md"), text.ToString());
        if (json is not null)
        {
            AtomicFile.WriteAllText(Path.Combine(resultsDir, suite + ".json"), File.ReadAllText(json));
        }
        Console.WriteLine($"perf-results: wrote {Path.Combine(resultsDir, suite + ".md")}");
    }

    private static string Memory()
    {
        try
        {
            string? line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (line is not null && long.TryParse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], out long kb))
            {
                return $"{kb / 1024.0 / 1024.0:F1} GiB RAM";
            }
        }
        catch (IOException)
        {
        }
        return "unknown RAM";
    }
}
