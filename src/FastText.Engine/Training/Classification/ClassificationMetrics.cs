using System.Globalization;
using System.Text;

namespace FastText.Engine.Training.Classification;

/// <summary>
/// Accuracy, per-class precision/recall/F1 and the confusion matrix of a set of predictions (fastai's
/// <c>accuracy</c>, <c>F1Score</c> and <c>ClassificationInterpretation.confusion_matrix</c>).
/// </summary>
public sealed class ClassificationMetrics
{
    private readonly long[,] confusion;

    /// <summary>Computes the metrics.</summary>
    /// <param name="actual">True class per example.</param>
    /// <param name="predicted">Predicted class per example.</param>
    /// <param name="classNames">Class names, indexed by class.</param>
    public ClassificationMetrics(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if (actual.Length != predicted.Length)
        {
            throw new ArgumentException($"{actual.Length} labels for {predicted.Length} predictions.", nameof(predicted));
        }
        ClassNames = classNames;
        int classes = classNames.Count;
        confusion = new long[classes, classes];
        for (int i = 0; i < actual.Length; i++)
        {
            if ((uint)actual[i] >= (uint)classes || (uint)predicted[i] >= (uint)classes)
            {
                throw new ArgumentOutOfRangeException(nameof(actual), $"Example {i}: class {actual[i]} / prediction {predicted[i]} outside 0…{classes - 1}.");
            }
            confusion[actual[i], predicted[i]]++;
        }
        Count = actual.Length;
    }

    /// <summary>Class names, indexed by class.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>Examples of class <paramref name="actual"/> predicted as <paramref name="predicted"/> (rows = actual).</summary>
    public long Confusion(int actual, int predicted) => confusion[actual, predicted];

    /// <summary>Share of correct predictions (0 for no examples).</summary>
    public double Accuracy
    {
        get
        {
            long correct = 0;
            for (int c = 0; c < ClassNames.Count; c++)
            {
                correct += confusion[c, c];
            }
            return Count == 0 ? 0 : (double)correct / Count;
        }
    }

    /// <summary>Precision of class <paramref name="c"/>: TP / predicted as c (0 when nothing was predicted as c).</summary>
    public double Precision(int c)
    {
        long predicted = 0;
        for (int a = 0; a < ClassNames.Count; a++)
        {
            predicted += confusion[a, c];
        }
        return predicted == 0 ? 0 : (double)confusion[c, c] / predicted;
    }

    /// <summary>Recall of class <paramref name="c"/>: TP / actually c (0 when there is none).</summary>
    public double Recall(int c)
    {
        long actual = 0;
        for (int p = 0; p < ClassNames.Count; p++)
        {
            actual += confusion[c, p];
        }
        return actual == 0 ? 0 : (double)confusion[c, c] / actual;
    }

    /// <summary>F1 of class <paramref name="c"/> (binary F1 with c as the positive class, sklearn's default for fastai's <c>F1Score</c>).</summary>
    public double F1(int c)
    {
        double p = Precision(c), r = Recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /// <summary>Unweighted mean of the per-class F1 (fastai <c>F1Score(average='macro')</c>).</summary>
    public double MacroF1 => Enumerable.Range(0, ClassNames.Count).Average(F1);

    /// <summary>Markdown: accuracy, per-class precision/recall/F1 and the confusion matrix (rows actual, columns predicted).</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Accuracy **{Accuracy * 100:0.00}%** on {Count:N0} examples, macro F1 {MacroF1:F4}.").AppendLine();
        text.AppendLine("| class | precision | recall | F1 |").AppendLine("|---|---|---|---|");
        for (int c = 0; c < ClassNames.Count; c++)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {ClassNames[c]} | {Precision(c):F4} | {Recall(c):F4} | {F1(c):F4} |");
        }
        text.AppendLine().Append("| actual \\ predicted |");
        foreach (string name in ClassNames)
        {
            text.Append(' ').Append(name).Append(" |");
        }
        text.AppendLine().Append("|---|").AppendLine(string.Concat(Enumerable.Repeat("---|", ClassNames.Count)));
        for (int a = 0; a < ClassNames.Count; a++)
        {
            text.Append("| ").Append(ClassNames[a]).Append(" |");
            for (int p = 0; p < ClassNames.Count; p++)
            {
                text.Append(CultureInfo.InvariantCulture, $" {confusion[a, p]} |");
            }
            text.AppendLine();
        }
        return text.ToString();
    }
}
