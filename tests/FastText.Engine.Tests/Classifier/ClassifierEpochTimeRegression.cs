using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;
using Xunit.Abstractions;

namespace FastText.Engine.Tests.Classifier;

/// <summary>
/// The classifier's epoch-time regression check, alongside the language model's (<see cref="EpochTimeRegression"/>):
/// a fixed tiny classifier epoch (sentence encoder over a 3-layer AWD-LSTM, head, fastai Adam, bucketed batches of
/// mail-like lengths) against a bare nn.LSTM classifier of the same shapes on the same batches, in the same process
/// (<see cref="EpochTimeCheck"/>, limit in perf-results/ClassifierEpochTimeRegression.json). Run:
/// <c>FASTTEXT_EPOCH_CHECK=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~ClassifierEpochTimeRegression</c>;
/// <c>FASTTEXT_EPOCH_CHECK=update</c> records this CPU's ratio.
/// </summary>
public sealed class ClassifierEpochTimeRegression(ITestOutputHelper output) : EpochTimeChecks(output)
{
    protected override string Name => nameof(ClassifierEpochTimeRegression);

    protected override IEpochPair Create() => new ClassifierEpochs();

    // The engine's epoch and the bare one, over the same bucketed batches.
    private sealed class ClassifierEpochs : IEpochPair
    {
        private readonly TextClassifier model;
        private readonly ClassifierLoader loader;
        private readonly Learner<ClassifierBatch> learner;
        private readonly BareRecurrentModel bare;

        public ClassifierEpochs()
        {
            TorchTestSetup.Use();
            // 96 documents with a long-tailed, mail-like length distribution (median ~60 tokens, a few of 300).
            var random = new Random(5);
            var documents = Enumerable.Range(0, 96).Select(i =>
            {
                int length = Math.Min(300, 8 + (int)(-40 * Math.Log(1 - random.NextDouble())));
                return Enumerable.Range(0, length).Select(_ => 2 + random.Next(1998)).ToArray();
            }).ToList();
            var corpus = new InMemoryTokenCorpus(documents, documents.Select((_, i) => i % 2).ToList(), ["ham", "spam"]);
            var shape = new AwdLstmConfig(EmbeddingSize: 64, HiddenSize: 128, Layers: 3);
            torch.manual_seed(0);
            model = TextClassifier.Create(2000, shape, 2, bptt: 36);
            loader = new ClassifierLoader(corpus, ClassifierLoaderOptions.Training with { BatchSize = 16, SequenceLength = 36, Seed = 1 });
            learner = new Learner<ClassifierBatch>(new ClassifierTask(model), loader);
            bare = BareRecurrentModel.Classifier(2000, shape, classes: 2);
        }

        public void Engine() => learner.FitOneCycle(1, 1e-3);

        public void Bare() => bare.Epoch(loader, 0);

        public void Dispose()
        {
            learner.Dispose();
            loader.Dispose();
            model.Dispose();
            bare.Dispose();
        }
    }
}
