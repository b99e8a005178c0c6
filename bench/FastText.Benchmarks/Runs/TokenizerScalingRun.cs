using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastText.Benchmarks.Text;
using FastText.Engine.Text;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// Tokenizer scaling from 1 to 2 worker threads on the same text in the same process: rules + word splitting +
/// numericalization (raw UTF-8 → ids, the batched lookup <see cref="CorpusBuilder"/> uses) of a whole shipped
/// sample, alternating a 1-thread pass and a 2-thread pass (documents handed out 16 at a time from a shared counter)
/// so both see the same machine load. Reports medians of wall MB/s for each, their ratio (the scaling), the cores
/// actually obtained (process CPU time / wall time) and MB per CPU-second, plus the load average before and after,
/// into perf-results/TokenizerScaling.md. On a shared machine the wall ratio is bounded by the CPU the scheduler
/// hands out; MB per CPU-second staying flat from 1 to 2 threads is what "linear in the cores obtained" means.
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run tokenizer-scaling</c>
/// (FASTTEXT_SCALING_ROUNDS, default 15, sets the number of 1-thread/2-thread round pairs).
/// </summary>
internal static class TokenizerScalingRun
{
    private const string RoundsKnob = "FASTTEXT_SCALING_ROUNDS";
    private const int Chunk = 16;

    public static int Execute(RunContext context)
    {
        int rounds = RunContext.Knob(RoundsKnob, 15, minimum: 3);
        string loadBefore = LoadAverage();
        var report = new StringBuilder();
        report.AppendLine("# Tokenizer scaling, 1 → 2 threads").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} logical cores, {rounds} alternating rounds per sample, medians");
        report.AppendLine(CultureInfo.InvariantCulture, $"- command: `{context.CommandWith(RoundsKnob)}`");
        report.AppendLine("- work: raw UTF-8 → fastai rules → word splitting → vocabulary ids (batched lookup), every document of the sample; 2 threads take 16 documents at a time from a shared counter");
        report.AppendLine("- wall MB/s = raw input bytes / wall time; cores = process CPU time / wall time; MB/CPU-s = raw input bytes / process CPU time");
        report.AppendLine(CultureInfo.InvariantCulture, $"- load average (1, 5, 15 min) before: {loadBefore}");
        report.AppendLine();
        report.AppendLine("| sample | threads | wall MB/s | cores | MB/CPU-s | wall speedup 2 vs 1 | MB/CPU-s 2 vs 1 |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (string name in new[] { "brown", "spam-assassin" })
        {
            TextSample sample = TextSample.Get(name);
            var workers = new Worker[] { new(sample.Vocabulary), new(sample.Vocabulary) };
            long expected = Pass(sample, workers, 1, out _, out _);
            for (int warmUp = 0; warmUp < 3; warmUp++) // until the tiered JIT has the hot methods at tier 1
            {
                Pass(sample, workers, 1, out _, out _);
                Pass(sample, workers, 2, out _, out _);
            }
            var wall = new List<double>[] { [], [] };
            var cpu = new List<double>[] { [], [] };
            var speedups = new List<double>();
            var efficiencies = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                for (int threads = 1; threads <= 2; threads++)
                {
                    long tokens = Pass(sample, workers, threads, out double seconds, out double cpuSeconds);
                    if (tokens != expected)
                    {
                        throw new InvalidOperationException($"{name}: {threads} threads produced {tokens} tokens, 1 thread {expected}.");
                    }
                    wall[threads - 1].Add(seconds);
                    cpu[threads - 1].Add(cpuSeconds);
                }
                speedups.Add(wall[0][^1] / wall[1][^1]);
                efficiencies.Add(cpu[0][^1] / cpu[1][^1]);
            }
            double megabytes = sample.BytesPerOperation / 1e6;
            for (int t = 0; t < 2; t++)
            {
                double w = Median(wall[t]);
                double c = Median(cpu[t]);
                string ratios = t == 0 ? "| | |" : string.Create(CultureInfo.InvariantCulture, $"| {Median(speedups):F2} | {Median(efficiencies):F2} |");
                report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {t + 1} | {megabytes / w:F1} | {c / w:F2} | {megabytes / c:F1} {ratios}");
            }
            Console.WriteLine(FormattableString.Invariant($"TokenizerScaling: {name}: wall speedup {Median(speedups):F2}, MB/CPU-s ratio {Median(efficiencies):F2}"));
        }
        report.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"- load average after: {LoadAverage()}");
        report.AppendLine("- ratios are medians of the per-round ratios (each round runs 1 thread then 2 threads back to back)");
        string path = context.Write("TokenizerScaling.md", report.ToString());
        Console.WriteLine($"TokenizerScaling: wrote {path}");
        return 0;
    }

    private sealed class Worker(Vocabulary vocabulary)
    {
        public FastaiTokenizer Tokenizer { get; } = new();

        public TokenIdBuffer Ids { get; } = new(vocabulary);
    }

    // Tokenizes every document with 'threads' workers; returns the token count.
    private static long Pass(TextSample sample, Worker[] workers, int threads, out double seconds, out double cpuSeconds)
    {
        byte[][] documents = sample.Documents;
        int next = 0;
        long total = 0;
        using var process = Process.GetCurrentProcess();
        TimeSpan cpuBefore = process.TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        var running = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            Worker worker = workers[t];
            running[t] = new Thread(() =>
            {
                var sink = new TokenIdSink(worker.Ids);
                long count = 0;
                for (int start = Interlocked.Add(ref next, Chunk) - Chunk; start < documents.Length; start = Interlocked.Add(ref next, Chunk) - Chunk)
                {
                    for (int d = start; d < Math.Min(start + Chunk, documents.Length); d++)
                    {
                        worker.Ids.Clear();
                        worker.Tokenizer.TokenizeUtf8(documents[d], ref sink);
                        worker.Ids.Flush();
                        count += worker.Ids.Count;
                    }
                }
                Interlocked.Add(ref total, count);
            });
            running[t].Start();
        }
        foreach (Thread thread in running)
        {
            thread.Join();
        }
        stopwatch.Stop();
        process.Refresh();
        seconds = stopwatch.Elapsed.TotalSeconds;
        cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        return total;
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
