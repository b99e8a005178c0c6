using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastText.Engine.Data;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Native;
using FastText.Engine.Recipes;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// Where a classifier training epoch spends its time, with fastai's length bucketing (SortedDL) and with random batches
/// side by side in one process: the loader alone, the sentence encoder's forward, the whole forward (encoder, pooling,
/// head, loss, AR/TAR), forward + backward, and the full learner epoch (+ optimizer, schedule). Each stage is a separate
/// pass over the same epoch plan, so a stage's cost is the difference to the previous one. Orders alternate within
/// every repeat and the report gives medians and the random ÷ bucketed ratio of each.
/// "Random" = the same loader with <see cref="ClassifierOrder.Random"/>: documents shuffled into batches regardless of
/// length, rows sorted longest first inside each batch, the same minimal chunk-safe padding, the same model code and
/// settings (small preset sizes, bs 32, bptt 72, 1,000-token cap, all groups trainable, lr 1e-3).
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run classifier-epoch-profile</c> (knobs
/// FASTTEXT_PROFILE_MAILS, default 640 training mails from samples/, and FASTTEXT_PROFILE_REPEATS, default 3).
/// Writes perf-results/ClassifierEpochProfile.md.
/// </summary>
internal static class ClassifierEpochProfileRun
{
    private static readonly string[] Stages = ["loader", "encoder forward", "forward + loss", "forward + backward", "learner epoch"];

    public static int Execute(RunContext context)
    {
        TorchRuntime.Initialize();
        int mails = RunContext.Knob("FASTTEXT_PROFILE_MAILS", 640, minimum: 64);
        int repeats = RunContext.Knob("FASTTEXT_PROFILE_REPEATS", 3, minimum: 1);
        UlmfitPreset preset = UlmfitPreset.Small;
        string archive = Path.Combine(FindRepositoryRoot(), "samples", "spam-assassin.tar.gz");
        var texts = SampleReaders.Read(new TarGzDocumentSource(archive), mails, seed: 7).Select(t => t with { IsValidation = false }).ToList();
        string folder = Path.Combine(Path.GetTempPath(), $"fasttext-classifier-profile-{Environment.ProcessId}");
        TextDataset data = TextDataset.Create(texts, folder, new TextDatasetOptions(MaxVocabulary: preset.MaxVocabulary, MinFrequency: 2, MaxTokens: preset.MaxTokensPerDocument));
        try
        {
            string chunkTable = ChunkCosts(data, preset);
            Console.WriteLine(chunkTable);
            var orders = new[] { ClassifierOrder.Sorted, ClassifierOrder.Random };
            var seconds = orders.ToDictionary(o => o, _ => Stages.ToDictionary(s => s, _ => new List<double>()));
            var padding = new Dictionary<ClassifierOrder, PaddingReport>();
            var computed = new Dictionary<ClassifierOrder, (long Cells, long Steps)>();
            // Repeat −1 warms up (TorchScript's profiling executor specialises the LSTM on its first calls) and is not recorded.
            for (int repeat = -1; repeat < repeats; repeat++)
            {
                foreach (ClassifierOrder order in repeat % 2 == 0 ? orders : orders.Reverse())
                {
                    torch.manual_seed(0);
                    using TextClassifier model = TextClassifier.Create(data.Vocabulary.Count, preset.Model, data.ClassNames.Count,
                        preset.ClassifierDropMultiplier, preset.ClassifierSequenceLength);
                    using var loader = new ClassifierLoader(data.Corpus, ClassifierLoaderOptions.Training with
                    {
                        BatchSize = preset.ClassifierBatchSize,
                        SequenceLength = preset.ClassifierSequenceLength,
                        Order = order,
                        Seed = 1,
                    }, data.Training);
                    var task = new ClassifierTask(model);
                    model.train();
                    Dictionary<string, List<double>> into = repeat < 0 ? Stages.ToDictionary(s => s, _ => new List<double>()) : seconds[order];
                    long cells = 0, steps = 0;
                    into["loader"].Add(Pass(loader, b =>
                    {
                        // Cells the encoder runs: per chunk, the rows whose text has started by its end × its length.
                        for (int start = 0; start < b.Width; start += preset.ClassifierSequenceLength)
                        {
                            int length = Math.Min(preset.ClassifierSequenceLength, b.Width - start);
                            cells += (long)b.TextStarts.Count(t => t < start + length) * length;
                            steps += length;
                        }
                    }));
                    computed[order] = (cells, steps);
                    padding[order] = loader.LastEpochPadding;
                    into["encoder forward"].Add(Pass(loader, b =>
                    {
                        using var scope = NewDisposeScope();
                        model.SentenceEncoder.call(b.Inputs);
                    }));
                    into["forward + loss"].Add(Pass(loader, b =>
                    {
                        using var scope = NewDisposeScope();
                        task.Step(b, training: true).BackwardLoss.item<float>();
                    }));
                    into["forward + backward"].Add(Pass(loader, b =>
                    {
                        using var scope = NewDisposeScope();
                        task.Step(b, training: true).BackwardLoss.backward();
                        model.zero_grad();
                    }));
                    using var learner = new Learner<ClassifierBatch>(task, loader);
                    TimeSpan before = CpuTime();
                    learner.FitOneCycle(1, LearningRates.Uniform(1e-3));
                    into["learner epoch"].Add((CpuTime() - before).TotalSeconds);
                    Console.WriteLine(FormattableString.Invariant(
                        $"repeat {repeat} {order}: {string.Join(", ", Stages.Select(s => $"{s} {into[s][^1]:F2} s"))}"));
                }
            }

            var report = new StringBuilder();
            report.AppendLine("# ClassifierEpochProfile").AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} cores (shared: compare within this run)");
            report.AppendLine($"- command: `{context.CommandWith("FASTTEXT_PROFILE_MAILS", "FASTTEXT_PROFILE_REPEATS")}`");
            report.AppendLine(FormattableString.Invariant(
                $"- data: {data.Training.Count} SpamAssassin training mails from samples/ (seed 7), {data.Corpus.TokenCount:N0} tokens, capped at {preset.MaxTokensPerDocument} tokens; small preset classifier (AWD-LSTM {preset.Model.EmbeddingSize}/{preset.Model.HiddenSize}/{preset.Model.Layers}), bs {preset.ClassifierBatchSize}, bptt {preset.ClassifierSequenceLength}, all groups trainable"));
            report.AppendLine("- random = the same loader with `ClassifierOrder.Random` (documents shuffled into batches regardless of length, rows longest first inside a batch, same chunk-safe padding) and the same model code and settings");
            report.AppendLine(FormattableString.Invariant(
                $"- padding: bucketed {padding[ClassifierOrder.Sorted].Share * 100:F1} %, random {padding[ClassifierOrder.Random].Share * 100:F1} % of batch cells"));
            report.AppendLine(FormattableString.Invariant(
                $"- encoder work per epoch (rows fed × chunk length; serial time steps): bucketed {computed[ClassifierOrder.Sorted].Cells:N0} cells, {computed[ClassifierOrder.Sorted].Steps:N0} steps; random {computed[ClassifierOrder.Random].Cells:N0} cells, {computed[ClassifierOrder.Random].Steps:N0} steps"));
            report.AppendLine(FormattableString.Invariant($"- process CPU time (1 torch thread; robust to other jobs on the cores), {repeats} repeats, orders alternating; medians; each stage is a separate pass (its own cost = difference to the row above)")).AppendLine();
            report.AppendLine("| stage (cumulative) | bucketed | random | random ÷ bucketed |");
            report.AppendLine("|---|---|---|---|");
            foreach (string stage in Stages)
            {
                double sorted = Median(seconds[ClassifierOrder.Sorted][stage]), random = Median(seconds[ClassifierOrder.Random][stage]);
                report.AppendLine(FormattableString.Invariant($"| {stage} | {sorted:F2} s | {random:F2} s | {random / sorted:F2}× |"));
            }
            report.AppendLine().AppendLine(chunkTable);
            string path = context.Write("ClassifierEpochProfile.md", report.ToString());
            Console.WriteLine(report.ToString());
            Console.WriteLine($"wrote {path}");
            return 0;
        }
        finally
        {
            data.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// One bptt chunk through the encoder at growing row counts (train mode, fresh state): forward alone and forward +
    /// backward of the output's sum, median of 15 after 3 warm-ups. Separates the per-chunk cost (dropout masks,
    /// DropConnect, state, dispatch) from the per-row cost.
    /// </summary>
    private static string ChunkCosts(TextDataset data, UlmfitPreset preset)
    {
        torch.manual_seed(0);
        using TextClassifier model = TextClassifier.Create(data.Vocabulary.Count,
            preset.Model,
            data.ClassNames.Count, preset.ClassifierDropMultiplier, preset.ClassifierSequenceLength);
        model.train();
        IRecurrentEncoder encoder = model.SentenceEncoder.Encoder;
        var table = new StringBuilder("| rows in the chunk | forward ms | forward + backward ms | fwd+bwd µs per row-step |\n|---|---|---|---|\n");
        foreach (int rows in new[] { 1, 2, 4, 8, 16, 32 })
        {
            using Tensor ids = torch.randint(10, data.Vocabulary.Count, [rows, preset.ClassifierSequenceLength], dtype: ScalarType.Int64);
            var forward = new List<double>();
            var both = new List<double>();
            for (int i = 0; i < 18; i++)
            {
                using var scope = NewDisposeScope();
                encoder.ResetState();
                TimeSpan start = CpuTime();
                Tensor output = encoder.Encode(ids);
                double f = (CpuTime() - start).TotalMilliseconds;
                output.sum().backward();
                double fb = (CpuTime() - start).TotalMilliseconds;
                model.zero_grad();
                if (i >= 3)
                {
                    forward.Add(f);
                    both.Add(fb);
                }
            }
            double m = Median(both);
            table.Append(CultureInfo.InvariantCulture, $"| {rows} | {Median(forward):F2} | {m:F2} | {m * 1000 / (rows * preset.ClassifierSequenceLength):F1} |\n");
        }
        encoder.ResetState();
        return table.ToString();
    }

    // Process CPU time, not wall time: with one torch thread it is the work done, and it stays meaningful while other
    // jobs share the two cores (wall time then mostly measures the wait for a core).
    private static double Pass(ClassifierLoader loader, Action<ClassifierBatch> work)
    {
        TimeSpan start = CpuTime();
        foreach (ClassifierBatch batch in loader.Epoch(0))
        {
            using (batch)
            {
                work(batch);
            }
        }
        return (CpuTime() - start).TotalSeconds;
    }

    private static TimeSpan CpuTime() => Process.GetCurrentProcess().TotalProcessorTime;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string FindRepositoryRoot()
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
}
