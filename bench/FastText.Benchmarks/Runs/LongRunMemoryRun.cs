using System.Globalization;
using System.Text;
using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Training;
using TorchSharp;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// RSS over a long run: 30 one-cycle epochs of a small LM (100 steps each, 3,000 steps), resident memory and the live
/// tensor count recorded after every epoch into perf-results/LongRunMemory.md. Targets: the live tensor count after
/// epoch 2 equals the one at the end, and the mean RSS of the last 3 epochs is within +10 % of epochs 3–5.
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run long-run-memory</c>
/// (FASTTEXT_MEMORY_EPOCHS, default 30, at least 5, shortens it for a smoke run; pass <c>--results DIR</c> then).
/// </summary>
internal static class LongRunMemoryRun
{
    private const string EpochsKnob = "FASTTEXT_MEMORY_EPOCHS";

    public static int Execute(RunContext context)
    {
        TorchRuntime.Initialize();
        int epochs = RunContext.Knob(EpochsKnob, 30, minimum: 5);   // epochs 3–5 are the early reference
        var data = new PatternLanguageModelData(PatternLanguageModelData.PatternStream(32 * 72 * 100 + 1, 4000, seed: 4), rows: 32, bptt: 72);
        torch.manual_seed(0);
        using var model = new AwdLstmLanguageModel(4000, new AwdLstmConfig(EmbeddingSize: 64, HiddenSize: 128, Layers: 3));
        using var learner = LanguageModelLearner.Create(model, data, null);
        var rss = new List<double>();
        var live = new List<long>();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            learner.FitOneCycle(1, 1e-3);
            rss.Add(RunContext.ResidentMegabytes());
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            Console.WriteLine(FormattableString.Invariant($"LongRunMemory: epoch {epoch + 1}/{epochs}, RSS {rss[^1]:F0} MiB, live tensors {live[^1]}"));
        }
        var report = new StringBuilder();
        report.AppendLine("# LongRunMemory").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, torch threads {torch.get_num_threads()}");
        report.AppendLine($"- command: `{context.CommandWith(EpochsKnob)}`");
        report.AppendLine(FormattableString.Invariant($"- run: AWD-LSTM emb 64 / hidden 128 / 3 layers, vocab 4000, bs 32 × bptt 72, {epochs} × fit_one_cycle(1) of {data.BatchCount} steps ({epochs * data.BatchCount:N0} training steps)")).AppendLine();
        report.AppendLine("| after epoch | RSS MiB | live tensors in dispose scopes |").AppendLine("|---|---|---|");
        for (int i = 0; i < rss.Count; i++)
        {
            report.AppendLine(FormattableString.Invariant($"| {i + 1} | {rss[i]:F0} | {live[i]} |"));
        }
        double early = rss.Skip(2).Take(3).Average(), late = rss.TakeLast(3).Average();
        report.AppendLine().AppendLine(FormattableString.Invariant($"Mean RSS epochs 3–5: {early:F0} MiB; last 3 epochs: {late:F0} MiB ({late / early - 1:+0.0%;-0.0%})."));
        Console.WriteLine(report.ToString());
        Console.WriteLine("written to " + context.Write("LongRunMemory.md", report.ToString()));
        bool failed = false;
        if (live[1] != live[^1])
        {
            Console.Error.WriteLine($"LongRunMemory: target missed, live tensors after epoch 2: {live[1]}, at the end: {live[^1]}.");
            failed = true;
        }
        if (!(late < early * 1.10))
        {
            Console.Error.WriteLine(FormattableString.Invariant($"LongRunMemory: target missed, RSS grew {late / early - 1:+0.0%;-0.0%} (limit +10%)."));
            failed = true;
        }
        return failed ? 1 : 0;
    }
}
