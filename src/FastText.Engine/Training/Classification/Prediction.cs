namespace FastText.Engine.Training.Classification;

/// <summary>A classifier's answer for one text (fastai's <c>learn.predict</c>: decoded class, index, probabilities).</summary>
/// <param name="ClassName">Name of the most probable class.</param>
/// <param name="ClassIndex">Its index.</param>
/// <param name="Probabilities">Softmax probability of every class, indexed by class.</param>
public sealed record Prediction(string ClassName, int ClassIndex, IReadOnlyList<float> Probabilities)
{
    /// <summary>Probability of the predicted class.</summary>
    public float Confidence => Probabilities[ClassIndex];
}

/// <summary>One example with a high loss (fastai's <c>ClassificationInterpretation.top_losses</c>).</summary>
/// <param name="Index">Example index in the evaluated set.</param>
/// <param name="Loss">Cross-entropy of the example.</param>
/// <param name="Actual">True class.</param>
/// <param name="Predicted">Predicted class.</param>
/// <param name="Probability">Probability given to the predicted class.</param>
public sealed record TopLoss(int Index, double Loss, int Actual, int Predicted, double Probability);

/// <summary>Ranks examples by loss.</summary>
public static class TopLosses
{
    /// <summary>The <paramref name="count"/> examples with the highest loss, highest first (ties by index).</summary>
    /// <param name="probabilities">Softmax probabilities per example (each indexed by class).</param>
    /// <param name="actual">True class per example.</param>
    /// <param name="count">How many to return.</param>
    public static IReadOnlyList<TopLoss> Find(IReadOnlyList<IReadOnlyList<float>> probabilities, IReadOnlyList<int> actual, int count)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(actual);
        if (probabilities.Count != actual.Count)
        {
            throw new ArgumentException($"{probabilities.Count} predictions for {actual.Count} labels.", nameof(actual));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var all = new List<TopLoss>(probabilities.Count);
        for (int i = 0; i < probabilities.Count; i++)
        {
            IReadOnlyList<float> p = probabilities[i];
            int predicted = 0;
            for (int c = 1; c < p.Count; c++)
            {
                if (p[c] > p[predicted])
                {
                    predicted = c;
                }
            }
            // Clamp so a probability that underflowed to 0 gives a large, finite loss.
            double loss = -Math.Log(Math.Max(p[actual[i]], 1e-12));
            all.Add(new TopLoss(i, loss, actual[i], predicted, p[predicted]));
        }
        return all.OrderByDescending(t => t.Loss).ThenBy(t => t.Index).Take(count).ToList();
    }
}
