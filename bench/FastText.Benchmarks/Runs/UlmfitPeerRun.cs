using System.Diagnostics;
using System.Text.Json;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Recipes;
using FastText.Engine.Text;

namespace FastText.Benchmarks.Runs;

/// <summary>
/// The engine's side of the whole-recipe comparison with PyTorch (issue 14, bench/peers/pytorch_ulmfit.py): the ULMFiT
/// recipe at the peer shape (AWD-LSTM 128/384/3, LM batches 32 × 70) on the small preset's share of the shipped samples —
/// Brown LM 2 epochs → mail LM 1 frozen + 1 unfrozen epoch → classifier 1/1/1/2 epochs with gradual unfreezing — each
/// stage timed (wall clock, tokenizing excluded: PyTorch reads the engine's ids), with the validation perplexities and
/// the classifier's accuracy. The first call also writes what PyTorch trains on: both corpora's ids, splits, labels and
/// vocabularies, and the recipe's settings (FASTTEXT_PEER_DATA/ulmfit, default bench/peers/.data/ulmfit).
/// Knobs: FASTTEXT_PEER_PRECISION (fp32 | bf16); FASTTEXT_PEER_CLASSIFIER_SEEDS (e.g. <c>1,2,3,4,5</c>, the seed study of
/// bench/peers/recipe.py --classifier-seeds): the language-model stages run once, then the classifier stage once per seed
/// from the same fine-tuned encoder — the seed is the classifier's training seed only (head initialisation, dropout masks,
/// batch order); the data, its split and the held-out mails stay the preset's. Each seed prints a line <c>SEED {json}</c>
/// as it finishes. Prints one line <c>RESULT {json}</c>.
/// </summary>
internal static class UlmfitPeerRun
{
    /// <summary>The recipe compared: the small preset's data and schedule rates at the peer shape and the epochs.</summary>
    public static UlmfitPreset Preset(ComputePrecision precision) => UlmfitPreset.Small with
    {
        Name = "peer",
        Model = UlmfitPreset.Small.Model with { EmbeddingSize = 128, HiddenSize = 384, Layers = 3 },
        LanguageModelBatchSize = 32,
        LanguageModelSequenceLength = 70,
        PretrainEpochs = 2,
        FineTuneFrozenEpochs = 1,
        FineTuneEpochs = 1,
        ClassifierStages = [(-1, 1, 2e-2), (-2, 1, 2e-2), (-3, 1, 1e-2), (0, 2, 5e-3)],
        Precision = precision,
    };

    public static int Execute(RunContext context)
    {
        ComputePrecision precision = PeerLanguageModelRun.Precision();
        int threads = TorchRuntime.Initialize();
        UlmfitPreset preset = Preset(precision);
        string runFolder = Path.Combine(Path.GetTempPath(), $"fasttext-ulmfit-peer-{Environment.ProcessId}");
        string dataFolder = Path.Combine(Environment.GetEnvironmentVariable("FASTTEXT_PEER_DATA") ?? Path.Combine(Repository(), "bench", "peers", ".data"), "ulmfit");
        try
        {
            var run = new UlmfitPipeline(runFolder, preset, NullProgress.Instance);
            var (brownSource, mailSource) = SampleLocations.Resolve(null);
            var clock = Stopwatch.StartNew();
            using TextDataset english = run.Tokenize("brown", SampleReaders.Read(brownSource, preset.PretrainDocuments, preset.Seed).Select(t => t with { ClassName = null }).ToList());
            using TextDataset mails = run.Tokenize("spam-assassin", SampleReaders.Read(mailSource, preset.Mails, preset.Seed));
            double tokenize = clock.Elapsed.TotalSeconds;
            if (!File.Exists(Path.Combine(dataFolder, "recipe.json")))
            {
                Export(dataFolder, english, mails, preset);
            }
            clock.Restart();
            LanguageModelArtifact general = run.Pretrain(english);
            double pretrain = clock.Elapsed.TotalSeconds;
            double pretrainLoss = LastValidationLoss(run, "pretrain");
            clock.Restart();
            LanguageModelArtifact tuned = run.FineTune(general, mails, findLearningRate: false);
            double fineTune = clock.Elapsed.TotalSeconds;
            double fineTuneLoss = LastValidationLoss(run, "fine-tune");
            int[] seeds = ClassifierSeeds();
            var perSeed = new List<Dictionary<string, double>>();
            foreach (int seed in seeds)
            {
                clock.Restart();
                using ClassifierResult seeded = run.TrainClassifier(mails, tuned, artifact: $"classifier-seed-{seed}", seed: seed);
                var line = new Dictionary<string, double>
                {
                    ["seed"] = seed,
                    ["seconds"] = clock.Elapsed.TotalSeconds,
                    ["accuracy"] = seeded.Evaluation.Metrics.Accuracy,
                };
                perSeed.Add(line);
                Console.WriteLine("SEED " + JsonSerializer.Serialize(line));
            }
            clock.Restart();
            using ClassifierResult? classifier = seeds.Length == 0 ? run.TrainClassifier(mails, tuned) : null;
            double classify = clock.Elapsed.TotalSeconds;
            var result = new Dictionary<string, object>
            {
                ["system"] = "engine",
                ["precision"] = precision.Name(),
                ["threads"] = threads,
                ["tokenize_seconds"] = tokenize,
                ["stages"] = new Dictionary<string, object>
                {
                    ["pretrain"] = new Dictionary<string, double> { ["seconds"] = pretrain, ["valid_loss"] = pretrainLoss, ["perplexity"] = Math.Exp(pretrainLoss) },
                    ["fine-tune"] = new Dictionary<string, double> { ["seconds"] = fineTune, ["valid_loss"] = fineTuneLoss, ["perplexity"] = Math.Exp(fineTuneLoss) },
                    ["classifier"] = classifier is not null
                        ? new Dictionary<string, double> { ["seconds"] = classify, ["accuracy"] = classifier.Evaluation.Metrics.Accuracy }
                        : new Dictionary<string, double> { ["seconds"] = perSeed.Average(p => p["seconds"]), ["accuracy"] = perSeed.Average(p => p["accuracy"]) },
                },
                ["classifier_seeds"] = perSeed,
                ["test_documents"] = mails.Validation.Count,
                ["cpu"] = CpuInfo.Describe(),
            };
            Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
            _ = context;
            return 0;
        }
        finally
        {
            if (Directory.Exists(runFolder))
            {
                Directory.Delete(runFolder, recursive: true);
            }
        }
    }

    // FASTTEXT_PEER_CLASSIFIER_SEEDS: comma-separated classifier training seeds; unset or empty = the preset's seed, once.
    private static int[] ClassifierSeeds() =>
        (Environment.GetEnvironmentVariable("FASTTEXT_PEER_CLASSIFIER_SEEDS") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    // The last validation loss of the stage's last language-model curve.
    private static double LastValidationLoss(UlmfitPipeline run, string stage) =>
        run.Curves.Last(c => c.IsLanguageModel && c.Name.StartsWith(stage, StringComparison.Ordinal)).ValidLosses[^1].Loss;

    // What PyTorch trains on: ids as int64 files, splits and labels, vocabularies, the recipe.
    private static void Export(string folder, TextDataset english, TextDataset mails, UlmfitPreset preset)
    {
        Directory.CreateDirectory(folder);
        void Documents(string name, TextDataset data, IReadOnlyList<int> documents)
        {
            var ids = new List<long>();
            var lengths = new List<long>();
            var labels = new List<long>();
            foreach (int d in documents)
            {
                int[] tokens = data.Document(d);
                ids.AddRange(tokens.Select(t => (long)t));
                lengths.Add(tokens.Length);
                labels.Add(data.ClassNames.Count > 0 ? data.Corpus.Label(d) : -1);
            }
            Write(Path.Combine(folder, name + ".ids.i64"), ids);
            Write(Path.Combine(folder, name + ".lengths.i64"), lengths);
            Write(Path.Combine(folder, name + ".labels.i64"), labels);
        }
        Documents("brown-train", english, english.Training);
        Documents("brown-valid", english, english.Validation);
        Documents("mails-train", mails, mails.Training);
        Documents("mails-valid", mails, mails.Validation);
        AtomicFile.WriteAllText(Path.Combine(folder, "brown.vocab.json"), JsonSerializer.Serialize(english.Vocabulary.Tokens));
        AtomicFile.WriteAllText(Path.Combine(folder, "mails.vocab.json"), JsonSerializer.Serialize(mails.Vocabulary.Tokens));
        var recipe = new Dictionary<string, object>
        {
            ["embedding"] = preset.Model.EmbeddingSize,
            ["hidden"] = preset.Model.HiddenSize,
            ["layers"] = preset.Model.Layers,
            ["lm_batch"] = preset.LanguageModelBatchSize,
            ["lm_bptt"] = preset.LanguageModelSequenceLength,
            ["lm_drop_mult"] = preset.LanguageModelDropMultiplier,
            ["pretrain_epochs"] = preset.PretrainEpochs,
            ["pretrain_lr"] = preset.PretrainLearningRate,
            ["finetune_frozen_epochs"] = preset.FineTuneFrozenEpochs,
            ["finetune_frozen_lr"] = preset.FineTuneFrozenLearningRate,
            ["finetune_epochs"] = preset.FineTuneEpochs,
            ["finetune_lr"] = preset.FineTuneLearningRate,
            ["classifier_batch"] = preset.ClassifierBatchSize,
            ["classifier_bptt"] = preset.ClassifierSequenceLength,
            ["classifier_drop_mult"] = preset.ClassifierDropMultiplier,
            ["classifier_stages"] = preset.ClassifierStages.Select(s => new object[] { s.FreezeTo, s.Epochs, s.LearningRate }).ToArray(),
            ["classes"] = mails.ClassNames,
            ["pad"] = 1,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "recipe.json"), JsonSerializer.Serialize(recipe));
    }

    private static void Write(string path, List<long> values)
    {
        byte[] bytes = new byte[values.Count * sizeof(long)];
        Buffer.BlockCopy(values.ToArray(), 0, bytes, 0, bytes.Length);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    private static string Repository()
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
