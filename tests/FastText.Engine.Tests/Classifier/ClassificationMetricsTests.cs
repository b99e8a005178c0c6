using FastText.Engine.Training.Classification;

namespace FastText.Engine.Tests.Classifier;

public sealed class ClassificationMetricsTests
{
    [Fact]
    public void Accuracy_f1_and_confusion_matrix_match_hand_counts()
    {
        // actual:    ham ham ham ham spam spam spam
        // predicted: ham ham spam ham spam ham  spam
        int[] actual = [0, 0, 0, 0, 1, 1, 1];
        int[] predicted = [0, 0, 1, 0, 1, 0, 1];
        var metrics = new ClassificationMetrics(actual, predicted, ["ham", "spam"]);
        Assert.Equal(5.0 / 7, metrics.Accuracy, 10);
        Assert.Equal(3, metrics.Confusion(0, 0));
        Assert.Equal(1, metrics.Confusion(0, 1));
        Assert.Equal(1, metrics.Confusion(1, 0));
        Assert.Equal(2, metrics.Confusion(1, 1));
        Assert.Equal(2.0 / 3, metrics.Precision(1), 10);
        Assert.Equal(2.0 / 3, metrics.Recall(1), 10);
        Assert.Equal(2.0 / 3, metrics.F1(1), 10);
        Assert.Equal(0.75, metrics.F1(0), 10);
        Assert.Contains("| spam | 1 | 2 |", metrics.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public void Top_losses_rank_the_most_confidently_wrong_first()
    {
        IReadOnlyList<IReadOnlyList<float>> probabilities = [[0.9f, 0.1f], [0.2f, 0.8f], [0.6f, 0.4f], [0.05f, 0.95f]];
        int[] actual = [0, 0, 1, 1];
        var top = TopLosses.Find(probabilities, actual, 2);
        Assert.Equal([1, 2], top.Select(t => t.Index));
        Assert.Equal(-Math.Log(0.2), top[0].Loss, 5);
        Assert.Equal(1, top[0].Predicted);
    }

    [Fact]
    public void Mismatched_lengths_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new ClassificationMetrics([0, 1], [0], ["a", "b"]));
    }
}
