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
/// a fixed tiny classifier epoch (sentence encoder over a 3-layer AWD-LSTM, head, AR/TAR, fastai Adam, bucketed
/// batches of mail-like lengths), timed against a matmul calibration interleaved in the same process (medians),
/// normalised and compared with perf-results/ClassifierEpochTimeRegression.json. Run:
/// <c>FASTTEXT_EPOCH_CHECK=1 dotnet test tests/FastText.Engine.Tests -c Release --no-build --filter FullyQualifiedName~ClassifierEpochTimeRegression</c>;
/// <c>FASTTEXT_EPOCH_CHECK=update</c> rewrites the baseline.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class ClassifierEpochTimeRegression(ITestOutputHelper output)
{
    [EnvironmentFact(EpochTimeCheck.Variable)]
    public void Tiny_classifier_epoch_is_not_clearly_slower_than_the_baseline()
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
        torch.manual_seed(0);
        using TextClassifier model = TextClassifier.Create(2000, new AwdLstmConfig(EmbeddingSize: 64, HiddenSize: 128, Layers: 3), 2, bptt: 36);
        using var loader = new ClassifierLoader(corpus, ClassifierLoaderOptions.Training with { BatchSize = 16, SequenceLength = 36, Seed = 1 });
        using var learner = new Learner<ClassifierBatch>(new ClassifierTask(model), loader);
        EpochTimeCheck.Run(nameof(ClassifierEpochTimeRegression), () => learner.FitOneCycle(1, 1e-3), output);
    }
}
