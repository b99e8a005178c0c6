using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastText.Engine.Native;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// Memory on hostile and large inputs, through the command line as a user runs it: <c>tokenize</c> of one 100 MB line
/// against 100 MB of ordinary lines of the same words, and <c>predict</c> of 10,000 files (mails of the shipped sample,
/// some replaced by random bytes, NUL runs and control characters) and of one 1 MB file of random bytes. Each command
/// runs in its own process; its peak resident set (VmHWM) is read while it runs. Writes perf-results/HostileText.md.
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run hostile-text</c>
/// (FASTTEXT_HOSTILE_MB, default 100, sets the size of the long line).
/// </summary>
internal static class HostileTextRun
{
    private const string SizeKnob = "FASTTEXT_HOSTILE_MB";

    private sealed record Measured(string What, string Command, double Seconds, double PeakMiB, int Exit, string Note);

    public static int Execute(RunContext context)
    {
        int megabytes = RunContext.Knob(SizeKnob, 100, minimum: 1);
        string fasttext = Path.Combine(AppContext.BaseDirectory, "fasttext");
        string samples = Path.Combine(context.RepositoryRoot, "samples");
        string work = Path.Combine(Path.GetTempPath(), "fasttext-hostile-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(work);
        try
        {
            string P(string name) => Path.Combine(work, name);
            var random = new Random(7);
            string[] words = ["the", "of", "and", "money", "Free", "KERNEL", "patch", "review", "winner", "meeting", "2024", "don't", "U.S.", "e-mail"];
            long target = megabytes * 1_000_000L;
            WriteWords(P("one-line.txt"), target, random, words, lineWords: int.MaxValue);
            WriteWords(P("many-lines.txt"), target, random, words, lineWords: 200);
            var rows = new List<Measured>
            {
                Run(fasttext, $"tokenize: one {megabytes} MB line", ["tokenize", "-i", P("one-line.txt"), "--format", "lines", "-o", P("one-line"), "--no-labels", "--preset", "tiny"]),
                Run(fasttext, $"tokenize: {megabytes} MB in lines of 200 words", ["tokenize", "-i", P("many-lines.txt"), "--format", "lines", "-o", P("many-lines"), "--no-labels", "--preset", "tiny"]),
            };

            Require(Run(fasttext, "tokenize the mails", ["tokenize", "-i", Path.Combine(samples, "spam-assassin.tar.gz"), "-o", P("spam"), "--preset", "tiny"]));
            Require(Run(fasttext, "train a tiny classifier", ["train-classifier", "-c", P("spam"), "-o", P("clf"), "--preset", "tiny"]));
            string texts = P("texts");
            int hostile = WriteTexts(texts, Path.Combine(samples, "spam-assassin.tar.gz"), 10_000, random);
            rows.Add(Run(fasttext, $"predict: 10,000 files ({hostile:N0} of them random bytes, NUL runs or control characters)", ["predict", "-m", P("clf"), "-f", texts]));
            byte[] noise = new byte[1 << 20];
            random.NextBytes(noise);
            File.WriteAllBytes(P("noise.bin"), noise);
            rows.Add(Run(fasttext, "predict: one 1 MB file of random bytes", ["predict", "-m", P("clf"), "-f", P("noise.bin")]));

            var report = new StringBuilder();
            report.AppendLine("# Hostile and large inputs: time and peak memory through the command line").AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"- machine: {CpuInfo.Describe()}; measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; 1 torch thread");
            report.AppendLine($"- command: `{context.CommandWith(SizeKnob)}`");
            report.AppendLine("- each row one `fasttext` process; peak RSS = its VmHWM (/proc/PID/status) read every 10 ms while it runs; the text files are made by the run (seeded)").AppendLine();
            report.AppendLine("| input | exit | wall s | peak RSS MiB | notes |").AppendLine("|---|---|---|---|---|");
            foreach (Measured row in rows)
            {
                report.AppendLine(FormattableString.Invariant($"| {row.What} | {row.Exit} | {row.Seconds:F1} | {row.PeakMiB:F0} | {row.Note} |"));
            }
            Console.WriteLine(report.ToString());
            Console.WriteLine("written to " + context.Write("HostileText.md", report.ToString()));
            return rows.All(r => r.Exit == 0) ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static void Require(Measured step)
    {
        if (step.Exit != 0)
        {
            throw new InvalidOperationException($"HostileText: {step.What} failed: {step.Note}");
        }
    }

    private static Measured Run(string fasttext, string what, string[] arguments)
    {
        var clock = Stopwatch.StartNew();
        using Process process = KilledCommand.Start(fasttext, arguments);
        var output = new StringBuilder();
        int lines = 0;
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); lines += e.Data is { Length: > 0 } ? 1 : 0; } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        double peak = 0;
        while (!process.WaitForExit(10))
        {
            peak = Math.Max(peak, PeakMiB(process.Id));
        }
        process.WaitForExit();
        string last = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
        return new Measured(what, string.Join(' ', arguments), clock.Elapsed.TotalSeconds, peak, process.ExitCode,
            process.ExitCode != 0 ? last.Replace('|', '/') : arguments[0] == "predict" ? $"{lines:N0} predictions printed" : "");
    }

    private static double PeakMiB(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
                }
            }
        }
        catch (IOException)
        {
            // the process ended between the check and the read
        }
        return 0;
    }

    private static void WriteWords(string path, long bytes, Random random, string[] words, int lineWords)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        long written = 0;
        int inLine = 0;
        while (written < bytes)
        {
            string word = words[random.Next(words.Length)];
            bool newLine = ++inLine >= lineWords;
            writer.Write(word);
            writer.Write(newLine ? '\n' : ' ');
            inLine = newLine ? 0 : inLine;
            written += word.Length + 1;
        }
        writer.Write('\n');
    }

    // 10,000 files: the sample's mail bodies in turn, every 10th replaced by hostile bytes; returns how many are hostile.
    private static int WriteTexts(string folder, string mailArchive, int count, Random random)
    {
        Directory.CreateDirectory(folder);
        var mails = new List<byte[]>();
        foreach (var document in new FastText.Engine.Text.TarGzDocumentSource(mailArchive).ReadDocuments(new FastText.Engine.Text.SourceProblems()))
        {
            mails.Add(document.Utf8.ToArray());
            if (mails.Count == 2000)
            {
                break;
            }
        }
        int hostile = 0;
        for (int i = 0; i < count; i++)
        {
            byte[] text;
            if (i % 10 == 0)
            {
                text = new byte[random.Next(1, 4000)];
                random.NextBytes(text);
                if (i % 30 == 0)
                {
                    Array.Fill(text, (byte)0, 0, text.Length / 2);                          // a NUL run
                }
                else if (i % 20 == 0)
                {
                    for (int j = 0; j < text.Length; j++)
                    {
                        text[j] = (byte)(text[j] % 32);                                     // control characters only
                    }
                }
                hostile++;
            }
            else
            {
                text = mails[i % mails.Count];
            }
            File.WriteAllBytes(Path.Combine(folder, i.ToString("D5", CultureInfo.InvariantCulture) + ".txt"), text);
        }
        return hostile;
    }
}
