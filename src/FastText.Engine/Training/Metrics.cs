namespace FastText.Engine.Training;

/// <summary>A validation metric computed from the per-batch outputs (fastai averages them weighted by batch rows).</summary>
public interface IMetric
{
    /// <summary>Column name.</summary>
    string Name { get; }

    /// <summary>The metric for a validation pass, given the row-weighted mean loss and mean accuracy (NaN if the task does not count hits).</summary>
    double Compute(double validationLoss, double accuracy);
}

/// <summary>Built-in metrics.</summary>
public static class Metrics
{
    /// <summary>fastai <c>accuracy</c>: argmax == target, flattened (token accuracy for the LM).</summary>
    public static IMetric Accuracy { get; } = new Simple("accuracy", (_, accuracy) => accuracy);

    /// <summary>fastai <c>Perplexity</c>: exp(validation loss).</summary>
    public static IMetric Perplexity { get; } = new Simple("perplexity", (loss, _) => Math.Exp(loss));

    /// <summary>Accuracy and perplexity: fastai's language-model metrics.</summary>
    public static IReadOnlyList<IMetric> LanguageModel { get; } = new[] { Accuracy, Perplexity };

    private sealed class Simple(string name, Func<double, double, double> compute) : IMetric
    {
        public string Name => name;

        public double Compute(double validationLoss, double accuracy) => compute(validationLoss, accuracy);
    }
}

/// <summary>
/// fastai <c>AvgSmoothLoss</c>: v ← 0.98·v + 0.02·loss per training batch, reported debiased as v / (1 − 0.98^count);
/// reset at the start of each fit (not each epoch).
/// </summary>
internal sealed class SmoothedLoss
{
    /// <summary>Smoothing factor (fastai <c>beta</c> 0.98).</summary>
    public const double Beta = 0.98;

    /// <summary>Raw (biased) average.</summary>
    public double Average { get; private set; }

    /// <summary>Batches seen since the last reset.</summary>
    public int Count { get; private set; }

    /// <summary>The debiased value (NaN before the first batch).</summary>
    public double Value => Count == 0 ? double.NaN : Average / (1 - Math.Pow(Beta, Count));

    /// <summary>Adds one batch loss.</summary>
    public void Add(double loss)
    {
        Count++;
        Average = Beta * Average + (1 - Beta) * loss;
    }

    /// <summary>Starts over.</summary>
    public void Reset() => Restore(0, 0);

    /// <summary>Restores a saved state.</summary>
    public void Restore(double average, int count)
    {
        Average = average;
        Count = count;
    }
}

/// <summary>One epoch's line of the results table.</summary>
/// <param name="Epoch">Epoch index within its fit.</param>
/// <param name="TrainLoss">Smoothed training loss at epoch end.</param>
/// <param name="ValidationLoss">Row-weighted mean validation loss (NaN without a validation set).</param>
/// <param name="Metrics">Metric name → value.</param>
/// <param name="Seconds">Wall time of training + validation.</param>
/// <param name="TrainTokensPerSecond">Training throughput.</param>
public sealed record EpochResult(int Epoch, double TrainLoss, double ValidationLoss, IReadOnlyDictionary<string, double> Metrics,
    double Seconds, double TrainTokensPerSecond)
{
    /// <summary>fastai-style line: epoch, train_loss, valid_loss, metrics, time.</summary>
    public override string ToString() => FormattableString.Invariant(
        $"{Epoch,5} {TrainLoss,10:F6} {ValidationLoss,10:F6} {string.Join(' ', Metrics.Select(m => $"{m.Key}={m.Value:F6}"))} {Seconds:F1}s {TrainTokensPerSecond:F0} tok/s");
}
