using System.Globalization;
using System.Text;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Pipeline;
using FastText.Engine.Text;
using FastText.Engine.Training;
using TorchSharp;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// The bf16-vs-fp32 quality run on Brown (and RSS over a long run): the same short training from the same initial weights
/// in fp32, bf16 and bf16-decoder, validation perplexity compared (target: bf16 within ±2 % of fp32), plus a second fp32
/// run from other seeds so the 2 % is judged against fp32's own run-to-run spread. Text: the shipped
/// <c>samples/brown.tar.gz</c> through the library's pipeline (<see cref="TarGzDocumentSource"/> → <see cref="CorpusBuilder"/>
/// with fastai's rules and tokenizer, vocabulary min count 3), one document per Brown file, every 10th document = validation.
/// Run: <c>dotnet run -c Release --project bench/FastText.Benchmarks -- --run brown-mixed-precision</c> (knobs
/// FASTTEXT_BROWN_EPOCHS, default 1, and FASTTEXT_BROWN_TOKENS, default 300000). Writes perf-results/BrownMixedPrecision.md.
/// Speed claims come from BenchmarkDotNet (BareLstmBaselineBenchmarks); the tokens/s here are indicative only.
/// </summary>
internal static class BrownMixedPrecisionRun
{
    private const int ValidationEvery = 10;

    public static int Execute(RunContext context)
    {
        TorchRuntime.Initialize();
        int epochs = RunContext.Knob("FASTTEXT_BROWN_EPOCHS", 1, minimum: 1);
        int trainTokens = RunContext.Knob("FASTTEXT_BROWN_TOKENS", 300000, minimum: 1000);
        ITextDocumentSource source = SampleLocations.Resolve(null).Brown;
        string folder = Path.Combine(Path.GetTempPath(), $"fasttext-brown-mp-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        long[] train, valid;
        int vocabularySize;
        long documents;
        try
        {
            CorpusBuildResult built = CorpusBuilder.Build(source, Path.Combine(folder, "brown.ftc"));
            if (built.Failures.Count > 0)
            {
                Console.Error.WriteLine($"{source.Description}: {built.Failures.Count} unreadable item(s), first: {built.Failures[0].Source}: {built.Failures[0].Message}");
                return 2;
            }
            using var corpus = NumericalizedCorpus.Open(built.CorpusPath, built.Vocabulary);
            vocabularySize = built.Vocabulary.Count;
            documents = corpus.DocumentCount;
            // Each document already starts with xxbos (CorpusBuilder); the streams are the documents concatenated.
            long[] Stream(bool validation) => Enumerable.Range(0, corpus.DocumentCount)
                .Where(d => (d % ValidationEvery == 0) == validation)
                .SelectMany(d =>
                {
                    var ids = new int[corpus.DocumentLength(d)];
                    corpus.CopyTokens(d, 0, ids);
                    return ids.Select(id => (long)id);
                }).ToArray();
            train = Stream(validation: false).Take(trainTokens).ToArray();
            valid = Stream(validation: true);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
        var config = new AwdLstmConfig(EmbeddingSize: 200, HiddenSize: 512, Layers: 3).WithDropoutMultiplier(0.3);
        var trainData = new PatternLanguageModelData(train, rows: 32, bptt: 72);
        var validData = new PatternLanguageModelData(valid, rows: 32, bptt: 72);

        var report = new StringBuilder();
        report.AppendLine("# BrownMixedPrecision").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, torch threads {torch.get_num_threads()}, {Environment.ProcessorCount} cores (shared with other helpers' builds and benchmarks: tokens/s are indicative only)");
        report.AppendLine($"- command: `{context.CommandWith("FASTTEXT_BROWN_EPOCHS", "FASTTEXT_BROWN_TOKENS")}`");
        report.AppendLine("- data: `samples/brown.tar.gz` (500 Brown files, one document each) through the text pipeline (fastai rules + tokenizer, `CorpusBuilder`), every 10th document = validation, training stream cut to FASTTEXT_BROWN_TOKENS (default 300k) for a short run; "
            + FormattableString.Invariant($"{documents} documents, vocab {vocabularySize} (min count 3), train {train.Length:N0} tokens, valid {valid.Length:N0} tokens"));
        report.AppendLine(FormattableString.Invariant($"- model: AWD-LSTM emb 200, hidden 512, 3 layers, LM dropouts × 0.3, AR 2 / TAR 1, chunked decoder loss, gradient clip 0.1; bs 32, bptt 72; fit_one_cycle({epochs}, 5e-3); runs marked seed A share initial weights (seed 42) and dropout draws (seed 43), seed B uses 142/143"));
        report.AppendLine().AppendLine("| run | valid loss | perplexity | vs fp32 (seed A) | accuracy | train loss | tokens/s (indicative) | RSS MiB after 1st 10% of batches → end |");
        report.AppendLine("|---|---|---|---|---|---|---|---|");
        var runs = new (string Name, ComputePrecision Precision, int Seed)[]
        {
            ("Float32, seed A", ComputePrecision.Float32, 42),
            ("Float32, seed B", ComputePrecision.Float32, 142),
            ("BFloat16, seed A", ComputePrecision.BFloat16, 42),
            ("BFloat16Decoder, seed A", ComputePrecision.BFloat16Decoder, 42),
        };
        var perplexities = new List<double>();
        var fp32Evaluated = new List<double>();
        var lines = new List<string>();
        foreach (var (name, precision, seed) in runs)
        {
            torch.manual_seed(seed);
            using var model = new AwdLstmLanguageModel(vocabularySize, config) { Precision = precision };
            // Gradient-norm clip 0.1 as in fastai's from-scratch wikitext tutorial (MixedPrecision(clip=0.1)): from-scratch
            // training at this learning rate is otherwise prone to blow-ups that would swamp the precision comparison.
            using var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), trainData, validData,
                new LearnerOptions(GradientClip: 0.1), Metrics.LanguageModel);
            var rss = new RssProbe(trainData.BatchCount / 10);
            learner.Callbacks.Add(rss);
            learner.Callbacks.Add(new LineLogger(name));
            torch.manual_seed(seed + 1);
            EpochResult last = learner.FitOneCycle(epochs, 5e-3)[^1];
            double perplexity = last.Metrics["perplexity"];
            perplexities.Add(perplexity);
            lines.Add(FormattableString.Invariant(
                $"| {name} | {last.ValidationLoss:F4} | {perplexity:F2} | {{0}} | {last.Metrics["accuracy"]:F4} | {last.TrainLoss:F4} | {learner.History.Average(h => h.TrainTokensPerSecond):F0} | {rss.Early:F0} → {rss.Last:F0} (max {rss.Max:F0}) |"));
            // The same trained weights evaluated with fp32 compute: separates training quality from bf16 evaluation noise.
            model.Precision = ComputePrecision.Float32;
            fp32Evaluated.Add(Math.Exp(learner.Validate().Loss));
        }
        string Relative(double value) => FormattableString.Invariant($"{value / perplexities[0] - 1:+0.00%;-0.00%}");
        for (int r = 0; r < runs.Length; r++)
        {
            report.AppendLine(string.Format(CultureInfo.InvariantCulture, lines[r], Relative(perplexities[r])));
        }
        report.AppendLine().AppendLine("Validation perplexity of each run's final weights re-evaluated with fp32 compute:").AppendLine();
        for (int r = 0; r < runs.Length; r++)
        {
            report.AppendLine(FormattableString.Invariant($"- {runs[r].Name}: {fp32Evaluated[r]:F2} ({fp32Evaluated[r] / fp32Evaluated[0] - 1:+0.00%;-0.00%} vs fp32 seed A)"));
        }
        double spread = perplexities[1] / perplexities[0] - 1;
        double difference = perplexities[2] / perplexities[0] - 1;
        double decoderOnly = perplexities[3] / perplexities[0] - 1;
        report.AppendLine().AppendLine(FormattableString.Invariant(
            $"fp32 run-to-run spread (seed B vs seed A): {spread:+0.00%;-0.00%}. bf16 perplexity vs fp32 (same seeds): {difference:+0.00%;-0.00%}; bf16-decoder: {decoderOnly:+0.00%;-0.00%} (target within ±2%)."));
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

    private sealed class LineLogger(string precision) : LearnerCallback
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
