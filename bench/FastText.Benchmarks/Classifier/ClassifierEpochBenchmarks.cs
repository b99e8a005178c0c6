using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Data;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Native;
using FastText.Engine.Recipes;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;

namespace FastText.Benchmarks.Classifier;

/// <summary>
/// One ULMFiT classifier training epoch (sentence encoder over an AWD-LSTM of the demo's small preset, head, AR/TAR,
/// fastai Adam through the shared learner) on real SpamAssassin mails from <c>samples/</c> — the classifier's
/// epoch-time regression entry. Side by side in the same run: fastai's length bucketing (SortedDL) and random
/// batches, each with this engine's sentence encoder (only rows whose text has started are fed, fastai v2) and with one
/// that feeds every row (fastai v1, <see cref="SentenceEncoder.FeedEveryRow"/>). Tokens/s counts real (unpadded) tokens,
/// so its ratio within an encoder mode is the speed-up bucketing buys. The bf16 pair repeats the default encoder's with
/// the LSTMs' products in bf16 (<c>--precision bf16</c>), where each step's fixed cost weighs more.
/// </summary>
public class ClassifierEpochBenchmarks
{
    private TextClassifier model = null!;
    private ClassifierLoader loader = null!;
    private Learner<ClassifierBatch> learner = null!;

    /// <summary>Batch order, sentence-encoder mode and compute precision.</summary>
    public sealed record EpochCase(ClassifierOrder Order, bool FeedEveryRow = false, bool Bf16 = false) : IWorkload
    {
        /// <summary>Mails in the epoch (a seeded random subset of the shipped sample's training split).</summary>
        public const int Mails = 192;

        /// <summary>Tokens kept per mail (the small preset's cap).</summary>
        public const int MaxTokens = 1000;

        private static readonly Lazy<TextDataset> Data = new(() =>
        {
            string archive = Path.Combine(RepositoryRoot(), "samples", "spam-assassin.tar.gz");
            var texts = SampleReaders.Read(new TarGzDocumentSource(archive), Mails, seed: 7)
                .Select(t => t with { IsValidation = false }).ToList();
            string folder = Path.Combine(Path.GetTempPath(), $"fasttext-bench-classifier-epoch-{Environment.ProcessId}");
            return TextDataset.Create(texts, folder, new TextDatasetOptions(MaxVocabulary: 8000, MinFrequency: 2, MaxTokens: MaxTokens));
        });

        /// <summary>The mails, tokenized once per process.</summary>
        public static TextDataset Dataset => Data.Value;

        /// <inheritdoc />
        public double TokensPerOperation => Dataset.Corpus.TokenCount; // every mail once (drop_last may skip a few)

        /// <inheritdoc />
        public double FlopsPerOperation => 0;

        /// <inheritdoc />
        public double BytesPerOperation => 0;

        /// <inheritdoc />
        public override string ToString() => (Order == ClassifierOrder.Sorted ? "bucketed" : "random") + (FeedEveryRow ? ", every row" : "") + (Bf16 ? ", bf16" : "");

        private static string RepositoryRoot()
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

    /// <summary>Cases.</summary>
    public static IEnumerable<EpochCase> Cases =>
        [
            new(ClassifierOrder.Sorted), new(ClassifierOrder.Random), new(ClassifierOrder.Sorted, FeedEveryRow: true), new(ClassifierOrder.Random, FeedEveryRow: true),
            new(ClassifierOrder.Sorted, Bf16: true), new(ClassifierOrder.Random, Bf16: true),
        ];

    /// <summary>The batch order, encoder mode and precision measured.</summary>
    [ParamsSource(nameof(Cases))]
    public EpochCase Case { get; set; } = null!;

    /// <summary>Builds the model, loader and learner.</summary>
    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Initialize();
        torch.manual_seed(0);
        TextDataset data = EpochCase.Dataset;
        var sizes = UlmfitPreset.Small;
        model = TextClassifier.Create(data.Vocabulary.Count,
            sizes.Model,
            data.ClassNames.Count, sizes.ClassifierDropMultiplier, sizes.ClassifierSequenceLength);
        model.SentenceEncoder.FeedEveryRow = Case.FeedEveryRow;
        model.Precision =
            Case.Bf16 ? FastText.Engine.Models.ComputePrecision.BFloat16 : FastText.Engine.Models.ComputePrecision.Float32;
        loader = new ClassifierLoader(data.Corpus, ClassifierLoaderOptions.Training with
        {
            BatchSize = sizes.ClassifierBatchSize,
            SequenceLength = sizes.ClassifierSequenceLength,
            Order = Case.Order,
            Seed = 1,
        }, data.Training);
        learner = new Learner<ClassifierBatch>(new ClassifierTask(model), loader);
    }

    /// <summary>One training epoch (one-cycle over the epoch, all groups trainable).</summary>
    [Benchmark]
    public double TrainEpoch() => learner.FitOneCycle(1, LearningRates.Uniform(1e-3))[0].TrainLoss;

    /// <summary>Frees the model.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        learner.Dispose();
        loader.Dispose();
        model.Dispose();
    }
}
