namespace FastText.Engine.Training;

/// <summary>What <see cref="Learner{TBatch}.FindLearningRate"/> recorded, with fastai 2.0's two suggestions.</summary>
public sealed class LearningRateFinderResult
{
    /// <summary>Wraps recorded points.</summary>
    public LearningRateFinderResult(IReadOnlyList<(double LearningRate, double SmoothedLoss)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        Points = points;
        // fastai drops the last 5 points (the divergence) before suggesting.
        var usable = points.Take(Math.Max(1, points.Count - 5)).ToList();
        int minimum = 0;
        for (int i = 1; i < usable.Count; i++)
        {
            if (usable[i].SmoothedLoss < usable[minimum].SmoothedLoss)
            {
                minimum = i;
            }
        }
        MinimumDividedBy10 = usable[minimum].LearningRate / 10;
        int steepest = 0;
        double slope = double.PositiveInfinity;
        for (int i = 1; i < usable.Count; i++)
        {
            double s = (usable[i].SmoothedLoss - usable[i - 1].SmoothedLoss) / (Math.Log(usable[i].LearningRate) - Math.Log(usable[i - 1].LearningRate));
            if (s < slope)
            {
                slope = s;
                steepest = i;
            }
        }
        Steepest = usable[steepest].LearningRate;
    }

    /// <summary>(learning rate, smoothed loss) per iteration.</summary>
    public IReadOnlyList<(double LearningRate, double SmoothedLoss)> Points { get; }

    /// <summary>fastai <c>lr_min</c>: the rate at the minimum loss, divided by 10.</summary>
    public double MinimumDividedBy10 { get; }

    /// <summary>fastai <c>lr_steep</c>: the rate where the loss falls fastest (per log-lr).</summary>
    public double Steepest { get; }
}
