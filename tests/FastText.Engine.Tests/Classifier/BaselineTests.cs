using FastText.Engine.Models.Baselines;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;

namespace FastText.Engine.Tests.Classifier;

/// <summary>
/// The bag-of-n-grams baselines on small made-up corpora (the check against scikit-learn and the fastText command
/// line on real mail is bench/ `--run baselines`, perf-results/Baselines.md).
/// </summary>
public sealed class BaselineTests
{
    // Three classes; a document's class shows only in which bigram of shared words it holds ("1 2" vs "2 1" vs "1 3"),
    // so unigram counts alone cannot separate classes 0 and 1; plus noise words 10–29.
    private static InMemoryTokenCorpus OrderCorpus(int documents, int seed)
    {
        var random = new Random(seed);
        var docs = new List<int[]>();
        var labels = new List<int>();
        for (int i = 0; i < documents; i++)
        {
            int label = i % 3;
            var tokens = Enumerable.Range(0, 6 + random.Next(6)).Select(_ => 10 + random.Next(20)).ToList();
            int[] marker = label switch { 0 => [1, 2], 1 => [2, 1], _ => [1, 3] };
            tokens.InsertRange(random.Next(tokens.Count), marker);
            if (label < 2)
            {
                tokens.Insert(0, marker[0]);     // classes 0 and 1 then hold the words 1 and 2 twice each
                tokens.Add(marker[1]);
            }
            docs.Add([.. tokens]);
            labels.Add(label);
        }
        return new InMemoryTokenCorpus(docs, labels, ["a", "b", "c"]);
    }

    [Fact]
    public void The_svm_learns_classes_that_only_bigrams_tell_apart()
    {
        InMemoryTokenCorpus corpus = OrderCorpus(300, seed: 1);
        int[] training = Enumerable.Range(0, 240).ToArray(), validation = Enumerable.Range(240, 60).ToArray();
        TfIdfLinearSvm svm = TfIdfLinearSvm.Train(corpus, training, seed: 3);
        Assert.Equal(3, svm.ClassCount);
        Assert.Equal(1.0, BaselineData.Accuracy(svm, corpus, validation));
    }

    [Fact]
    public void The_svm_optimum_does_not_depend_on_the_coordinate_order()
    {
        InMemoryTokenCorpus corpus = OrderCorpus(120, seed: 2);
        int[] training = Enumerable.Range(0, 120).ToArray();
        TfIdfLinearSvm a = TfIdfLinearSvm.Train(corpus, training, seed: 1), b = TfIdfLinearSvm.Train(corpus, training, seed: 99);
        InMemoryTokenCorpus probe = OrderCorpus(200, seed: 7);
        Assert.All(Enumerable.Range(0, 200), d => Assert.Equal(a.Predict(probe, d), b.Predict(probe, d)));
    }

    [Fact]
    public void The_hashed_ngram_classifier_learns_the_bigrams_and_repeats_itself_for_a_seed()
    {
        InMemoryTokenCorpus corpus = OrderCorpus(300, seed: 4);
        int[] training = Enumerable.Range(0, 240).ToArray(), validation = Enumerable.Range(240, 60).ToArray();
        var options = new HashedNgramOptions(Dimension: 16, Epochs: 30, Buckets: 1024);
        HashedNgramClassifier first = HashedNgramClassifier.Train(corpus, training, options, seed: 5);
        Assert.True(BaselineData.Accuracy(first, corpus, validation) >= 0.95, $"accuracy {BaselineData.Accuracy(first, corpus, validation)}");
        HashedNgramClassifier again = HashedNgramClassifier.Train(corpus, training, options, seed: 5);
        Assert.All(validation, d => Assert.Equal(first.Predict(corpus, d), again.Predict(corpus, d)));
        // Without bigrams classes 0 and 1 hold the same words: it cannot tell them apart as well.
        HashedNgramClassifier unigrams = HashedNgramClassifier.Train(corpus, training, options with { Bigrams = false }, seed: 5);
        Assert.True(BaselineData.Accuracy(unigrams, corpus, validation) < BaselineData.Accuracy(first, corpus, validation));
    }

    [Fact]
    public void The_hashed_ngram_probabilities_are_a_softmax_whose_top_class_is_the_prediction_and_join_an_ensemble()
    {
        InMemoryTokenCorpus corpus = OrderCorpus(300, seed: 8);
        int[] training = Enumerable.Range(0, 240).ToArray(), validation = Enumerable.Range(240, 60).ToArray();
        HashedNgramClassifier model = HashedNgramClassifier.Train(corpus, training, new HashedNgramOptions(Dimension: 16, Epochs: 30, Buckets: 1024), seed: 5);
        float[][] probabilities = validation.Select(d => model.Probabilities(corpus, d)).ToArray();
        Assert.All(validation.Zip(probabilities), pair =>
        {
            Assert.Equal(3, pair.Second.Length);
            Assert.Equal(1.0, pair.Second.Sum(), 5);
            Assert.All(pair.Second, p => Assert.InRange(p, 0f, 1f));
            Assert.Equal(model.Predict(corpus, pair.First), Array.IndexOf(pair.Second, pair.Second.Max()));
        });
        var empty = new InMemoryTokenCorpus([[]], [0], ["a", "b", "c"]);
        Assert.Equal([1f / 3, 1f / 3, 1f / 3], model.Probabilities(empty, 0));   // knows nothing: no vote in an ensemble
        Assert.Equal(0, model.Predict(empty, 0));

        // As an ensemble member: the mean, class by class, of its probabilities and another member's (here a member
        // that is sure of class 2 everywhere); each member's own metrics are kept.
        int[] labels = validation.Select(corpus.Label).ToArray();
        float[][] sure = validation.Select(_ => new[] { 0f, 0f, 1f }).ToArray();
        EnsembleEvaluation pair = ClassifierEnsemble.Average([probabilities, sure], labels, ["a", "b", "c"], topLosses: 3);
        Assert.Equal(BaselineData.Accuracy(model, corpus, validation), pair.Members[0].Metrics.Accuracy, 12);
        Assert.Equal(labels.Count(l => l == 2) / (double)labels.Length, pair.Members[1].Metrics.Accuracy, 12);
        for (int d = 0; d < validation.Length; d++)
        {
            Assert.Equal(probabilities[d][0] / 2, pair.Ensemble.Probabilities[d][0], 6);
            Assert.Equal((probabilities[d][2] + 1) / 2, pair.Ensemble.Probabilities[d][2], 6);
        }
        Assert.Equal(3, pair.Ensemble.TopLosses.Count);
        var missing = Assert.Throws<ArgumentException>(() => ClassifierEnsemble.Average([probabilities, sure[..10]], labels, ["a", "b", "c"]));
        Assert.Contains("Member 2 gives probabilities for 10 documents", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ClassifierEnsemble.Average([], labels, ["a", "b", "c"]));
    }

    [Fact]
    public void Unseen_tokens_and_empty_documents_are_predicted_and_bad_input_refused()
    {
        InMemoryTokenCorpus corpus = OrderCorpus(60, seed: 6);
        int[] training = Enumerable.Range(0, 60).ToArray();
        var odd = new InMemoryTokenCorpus([[], [5000, 5001], [1, 2]], [0, 1, 0], ["a", "b", "c"]);
        ITextBaseline[] models = [TfIdfLinearSvm.Train(corpus, training, 1), HashedNgramClassifier.Train(corpus, training, new HashedNgramOptions(Dimension: 8, Epochs: 2, Buckets: 64), 1)];
        Assert.All(models, m => Assert.All(Enumerable.Range(0, 3), d => Assert.InRange(m.Predict(odd, d), 0, 2)));
        var unlabelled = new InMemoryTokenCorpus([[1, 2]]);
        Assert.Throws<ArgumentException>(() => TfIdfLinearSvm.Train(unlabelled, [0], 1));
        Assert.Throws<ArgumentException>(() => TfIdfLinearSvm.Train(corpus, [], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => HashedNgramClassifier.Train(corpus, training, new HashedNgramOptions(LearningRate: double.NaN), 1));
    }
}
