using System.Globalization;
using System.Text;
using FastText.Engine.Native;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// The kill soak of issue 18: <c>pretrain</c>, <c>fine-tune</c> and <c>train-classifier</c> (tiny preset, the shipped
/// samples, mid-epoch checkpoints) killed with SIGKILL at random moments, half of them the instant a checkpoint write
/// starts, one to three times per trial, each time resumed with <c>--resume</c>; a trial passes when every weights and
/// checkpoint file left after every kill verifies and the final weights are sha256-identical to an uninterrupted run's.
/// Writes perf-results/KillSoak.md.
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run kill-soak</c>
/// (FASTTEXT_SOAK_TRIALS, default 24, split over the three commands; FASTTEXT_SOAK_SEED, default 1).
/// </summary>
internal static class KillSoakRun
{
    private const string TrialsKnob = "FASTTEXT_SOAK_TRIALS";
    private const string SeedKnob = "FASTTEXT_SOAK_SEED";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    private sealed record Stage(string Name, string[] Arguments, string[] Finals);

    private sealed record Kill(KilledCommand.KillPoint Point, KilledCommand.Outcome Outcome);

    public static int Execute(RunContext context)
    {
        int trials = RunContext.Knob(TrialsKnob, 24, minimum: 3);
        int seed = RunContext.Knob(SeedKnob, 1, minimum: 0);
        string fasttext = Path.Combine(AppContext.BaseDirectory, "fasttext");
        string samples = Path.Combine(context.RepositoryRoot, "samples");
        string work = Path.Combine(Path.GetTempPath(), "fasttext-kill-soak-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(work);
        try
        {
            string P(string name) => Path.Combine(work, name);
            Check(KilledCommand.RunToEnd(fasttext, ["tokenize", "-i", Path.Combine(samples, "brown.tar.gz"), "-o", P("brown"), "--no-labels", "--preset", "tiny"], Timeout), "tokenize brown");
            Check(KilledCommand.RunToEnd(fasttext, ["tokenize", "-i", Path.Combine(samples, "spam-assassin.tar.gz"), "-o", P("spam"), "--preset", "tiny"], Timeout), "tokenize spam");
            Stage[] stages =
            [
                new("pretrain", ["pretrain", "-c", P("brown"), "--preset", "tiny", "--pretrain-epochs", "2", "--checkpoint-every", "40"], ["lm.weights", "encoder.weights"]),
                new("fine-tune", ["fine-tune", "-c", P("spam"), "-p", P("reference-pretrain"), "--preset", "tiny", "--finetune-epochs", "2", "--checkpoint-every", "20"], ["lm.weights", "encoder.weights"]),
                new("train-classifier", ["train-classifier", "-c", P("spam"), "-e", P("reference-fine-tune"), "--preset", "tiny", "--checkpoint-every", "5"], ["classifier.weights"]),
            ];
            // Uninterrupted references (each the next stage's input), with their length and checkpoint-write count.
            var references = new Dictionary<string, (string Digests, TimeSpan Length, int Writes)>(StringComparer.Ordinal);
            foreach (Stage stage in stages)
            {
                string folder = P("reference-" + stage.Name);
                var outcome = KilledCommand.Run(fasttext, [.. stage.Arguments, "-o", folder], folder, new(TimeSpan.Zero, int.MaxValue), Timeout);
                references[stage.Name] = (KilledCommand.Digests(folder, stage.Finals), outcome.Elapsed, outcome.Writes);
                Console.WriteLine(FormattableString.Invariant($"KillSoak: reference {stage.Name}: {outcome.Elapsed.TotalSeconds:F1} s, {outcome.Writes} checkpoint writes"));
            }

            var random = new Random(seed);
            var rows = new List<string>();
            int killPoints = 0, midWrite = 0, broken = 0, identical = 0, finishedFirst = 0, leftovers = 0;
            for (int trial = 0; trial < trials; trial++)
            {
                Stage stage = stages[trial % stages.Length];
                var reference = references[stage.Name];
                string folder = P($"trial-{trial}");
                var kills = new List<Kill>();
                int count = 1 + random.Next(3);
                double secondsLeft = reference.Length.TotalSeconds;
                int writesLeft = reference.Writes;
                for (int k = 0; k < count; k++)
                {
                    // Even trials at random times, odd ones the instant a checkpoint write starts; a resumed run has only
                    // what the kills before left to do, so its kill point is drawn from that.
                    KilledCommand.KillPoint point = trial % 2 == 0
                        ? new(TimeSpan.FromSeconds(0.3 + (random.NextDouble() * Math.Max(0.5, secondsLeft - 1))))
                        : new(TimeSpan.Zero, 1 + random.Next(Math.Max(1, writesLeft - 1)));
                    string[] arguments = [.. stage.Arguments, "-o", folder, .. (k > 0 ? new[] { "--resume" } : [])];
                    kills.Add(new Kill(point, KilledCommand.Run(fasttext, arguments, folder, point, Timeout)));
                    secondsLeft -= Math.Max(0, kills[^1].Outcome.Elapsed.TotalSeconds - 1);    // ~1 s of each run is start-up
                    writesLeft -= kills[^1].Outcome.Writes;
                }
                Check(KilledCommand.RunToEnd(fasttext, [.. stage.Arguments, "-o", folder, "--resume"], Timeout), $"trial {trial} resume");
                bool same = KilledCommand.Digests(folder, stage.Finals) == reference.Digests;
                int left = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Count(KilledCommand.IsTemporary);
                killPoints += kills.Count(k => k.Outcome.Killed);
                finishedFirst += kills.Count(k => !k.Outcome.Killed);
                midWrite += kills.Count(k => k.Outcome.Killed && k.Outcome.MidWrite);
                broken += kills.Sum(k => k.Outcome.Broken.Count);
                identical += same ? 1 : 0;
                leftovers += left;
                string describe = string.Join("; ", kills.Select(k => k.Outcome.Killed
                    ? $"{k.Point}{(k.Outcome.MidWrite ? " (a write cut short)" : "")}, left {string.Join(" ", k.Outcome.Files.Where(f => f.StartsWith("checkpoints", StringComparison.Ordinal) && !KilledCommand.IsTemporary(f)).Select(Path.GetFileName))}"
                    : $"{k.Point}: finished first"));
                string brokenFiles = string.Join(", ", kills.SelectMany(k => k.Outcome.Broken));
                rows.Add($"| {trial + 1} | {stage.Name} | {describe} | {(brokenFiles.Length == 0 ? "none" : brokenFiles)} | {(same ? "identical" : "**differs**")} | {left} |");
                Console.WriteLine($"KillSoak: trial {trial + 1}/{trials} {stage.Name}: {describe} → {(same ? "identical" : "DIFFERS")}");
                Directory.Delete(folder, recursive: true);
            }

            var report = new StringBuilder();
            report.AppendLine("# Kill soak: SIGKILL at random points, then --resume").AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"- machine: {CpuInfo.Describe()}; measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; every command on 1 torch thread");
            report.AppendLine($"- command: `{context.CommandWith(TrialsKnob, SeedKnob)}`");
            report.AppendLine("- data: the shipped samples tokenized with `--preset tiny`; stages and their uninterrupted references:");
            foreach (Stage stage in stages)
            {
                var reference = references[stage.Name];
                report.AppendLine(FormattableString.Invariant($"  - `{string.Join(' ', stage.Arguments.Select(a => a.StartsWith(work, StringComparison.Ordinal) ? Path.GetFileName(a) : a))}`: {reference.Length.TotalSeconds:F1} s, {reference.Writes} checkpoint writes; compared: {string.Join(", ", stage.Finals)}"));
            }
            report.AppendLine("- each trial: 1–3 kills (SIGKILL, no handler runs), the first of a fresh run, the others of `--resume` runs; even trials at a random time, odd ones the instant the n-th checkpoint write starts (its temporary created); after each kill every `.weights`/`.ckpt` file is verified (SHA-256 trailer); then `--resume` to the end and the final weights compared by sha256 with the reference's").AppendLine();
            report.AppendLine(FormattableString.Invariant($"**{killPoints} kill points** ({midWrite} cutting a write short; {finishedFirst} kill points came after the command had finished and are not counted): **{broken} damaged files** left, **{identical} of {trials} trials sha256-identical** to the uninterrupted run, {leftovers} temporaries left after the final resume.")).AppendLine();
            report.AppendLine("| trial | command | kills (and the checkpoint files they left) | damaged files | final weights | temporaries left |").AppendLine("|---|---|---|---|---|---|");
            rows.ForEach(r => report.AppendLine(r));
            Console.WriteLine(report.ToString());
            Console.WriteLine("written to " + context.Write("KillSoak.md", report.ToString()));
            bool passed = broken == 0 && identical == trials && killPoints >= 20;
            if (!passed)
            {
                Console.Error.WriteLine($"KillSoak: target missed ({killPoints} kill points, {broken} damaged files, {identical}/{trials} identical).");
            }
            return passed ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static void Check((int Exit, string Output, string Error) result, string what)
    {
        if (result.Exit != 0)
        {
            throw new InvalidOperationException($"KillSoak: {what} failed (exit {result.Exit}): {result.Error}");
        }
    }
}
