using System.Globalization;

namespace FastText.Engine.Training;

/// <summary>
/// What <see cref="Learner{TBatch}.FindLearningRate"/> recorded, with fastai 2.0's two suggestions when the curve has a
/// clear descent, and none (with the reason in <see cref="Diagnosis"/>) when it has not.
/// </summary>
/// <remarks>
/// Reading the curve as fastai 2.0's <c>lr_find(suggestions=True)</c> does: the curve ends where the loss first exceeds
/// 4× its running minimum (fastai's stop; a non-finite loss too), the first <c>iterations/10</c> points (the smoothed
/// loss is still settling) and the last 5 (the start of the divergence) are dropped, then <c>lr_min</c> = the rate at
/// the minimum loss / 10 and <c>lr_steep</c> = the rate where the loss falls fastest per log-rate (here a least-squares
/// slope over a few neighbours, and only up to the minimum, so one noisy step cannot win). fastai returns those two
/// points for any curve; on a flat or noisy one they are noise (a run here printed lr_min 4.2e-7 and lr_steep 1.4e-7,
/// the first points). So a suggestion is made only when the loss falls from its starting level to its minimum by at
/// least <see cref="MinimumRelativeDescent"/> of that level and by at least 3× the curve's point-to-point noise.
/// </remarks>
public sealed class LearningRateFinderResult
{
    /// <summary>Smallest fall, as a fraction of the starting loss, that counts as a descent (3 %). fastai's 0.98 EMA of
    /// batch losses whose spread is 10 % wanders by about 1 % (one standard deviation), so 3 % is about 3σ of a flat curve.</summary>
    public const double MinimumRelativeDescent = 0.03;

    /// <summary>Points fastai drops at the end before suggesting (the divergence).</summary>
    public const int SkipEnd = 5;

    private const int MinimumUsablePoints = 5;

    /// <summary>Reads recorded points.</summary>
    /// <param name="points">(learning rate, smoothed loss) per iteration, rates increasing.</param>
    /// <param name="plannedIterations">Iterations the sweep was planned for (fastai skips the first tenth of them); the
    /// recorded count when null.</param>
    public LearningRateFinderResult(IReadOnlyList<(double LearningRate, double SmoothedLoss)> points, int? plannedIterations = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        Points = points;
        int planned = Math.Max(plannedIterations ?? points.Count, points.Count);
        int end = DivergenceIndex(points);
        int first = planned / 10;
        int last = end - SkipEnd;                       // exclusive
        if (last - first < MinimumUsablePoints)
        {
            Diagnosis = end < points.Count
                ? Invariant($"no suggestion: the loss diverged after {end} of {planned} iterations (at lr {points[Math.Min(end, points.Count - 1)].LearningRate:0.##e+0}), before a usable stretch of the curve; start the sweep at a lower rate")
                : Invariant($"no suggestion: only {Math.Max(0, last - first)} usable points of {points.Count} (fastai skips the first tenth and the last {SkipEnd}); run more iterations");
            return;
        }
        var usable = points.Skip(first).Take(last - first).ToArray();
        int minimum = 0;
        for (int i = 1; i < usable.Length; i++)
        {
            if (usable[i].SmoothedLoss < usable[minimum].SmoothedLoss)
            {
                minimum = i;
            }
        }
        double start = Median(usable.Take(Math.Min(5, minimum + 1)).Select(p => p.SmoothedLoss));
        double lowest = usable[minimum].SmoothedLoss;
        double drop = start - lowest;
        double relative = drop / Math.Max(Math.Abs(start), 1e-12);
        double noise = Noise(usable);
        if (relative < MinimumRelativeDescent || drop < 3 * noise)
        {
            double rise = (usable[^1].SmoothedLoss - start) / Math.Max(Math.Abs(start), 1e-12);
            Diagnosis = rise >= MinimumRelativeDescent && minimum < usable.Length / 4
                ? Invariant($"no suggestion: the loss never fell clearly (at best {-relative:+0.0%;-0.0%} of its starting {start:0.###}) and rose from lr {usable[minimum].LearningRate:0.##e+0} on; the sweep starts too high for this model: start it lower")
                : Invariant($"no suggestion: no clear descent — the smoothed loss spans only {FormatRange(usable, start)} of {start:0.###} over lr {usable[0].LearningRate:0.##e+0} … {usable[^1].LearningRate:0.##e+0} (a descent needs a fall of {MinimumRelativeDescent:0%} and 3× the noise {noise:0.####}); the rate cannot be read from this curve: try more iterations, a wider range or larger batches");
            return;
        }
        MinimumDividedBy10 = usable[minimum].LearningRate / 10;
        Steepest = usable[SteepestIndex(usable, minimum)].LearningRate;
        Diagnosis = Invariant($"loss falls from {start:0.###} to {lowest:0.###} ({-relative:0.0%}) by lr {usable[minimum].LearningRate:0.##e+0}");
    }

    /// <summary>(learning rate, smoothed loss) per iteration.</summary>
    public IReadOnlyList<(double LearningRate, double SmoothedLoss)> Points { get; }

    /// <summary>fastai <c>lr_min</c>: the rate at the minimum loss, divided by 10; null without a clear descent.</summary>
    public double? MinimumDividedBy10 { get; }

    /// <summary>fastai <c>lr_steep</c>: the rate where the loss falls fastest (per log-lr); null without a clear descent.</summary>
    public double? Steepest { get; }

    /// <summary>Whether the curve had a clear descent, so <see cref="MinimumDividedBy10"/> and <see cref="Steepest"/> are set.</summary>
    public bool HasSuggestion => MinimumDividedBy10 is not null;

    /// <summary>How the curve was read: the descent found, or why there is no suggestion (starts with "no suggestion").</summary>
    public string Diagnosis { get; }

    /// <summary>One line for logs and reports: the two suggestions with the descent, or the reason there are none.</summary>
    public override string ToString() => HasSuggestion
        ? Invariant($"lr_min {MinimumDividedBy10:0.##e+0}, lr_steep {Steepest:0.##e+0} ({Diagnosis})")
        : Diagnosis;

    // fastai's stop: the first point above 4× the running minimum, or not finite.
    private static int DivergenceIndex(IReadOnlyList<(double LearningRate, double SmoothedLoss)> points)
    {
        double best = double.PositiveInfinity;
        for (int i = 0; i < points.Count; i++)
        {
            double loss = points[i].SmoothedLoss;
            if (!double.IsFinite(loss) || loss > 4 * best)
            {
                return i;
            }
            best = Math.Min(best, loss);
        }
        return points.Count;
    }

    // Most negative least-squares slope of loss against log(lr) over ±w neighbours, among the points up to the minimum.
    private static int SteepestIndex((double LearningRate, double SmoothedLoss)[] usable, int minimum)
    {
        int w = Math.Max(1, usable.Length / 20);
        int best = 0;
        double steepest = double.PositiveInfinity;
        for (int i = 0; i <= minimum; i++)
        {
            int from = Math.Max(0, i - w), to = Math.Min(usable.Length - 1, i + w);
            double mx = 0, my = 0;
            for (int j = from; j <= to; j++)
            {
                mx += Math.Log(usable[j].LearningRate);
                my += usable[j].SmoothedLoss;
            }
            mx /= to - from + 1;
            my /= to - from + 1;
            double sxy = 0, sxx = 0;
            for (int j = from; j <= to; j++)
            {
                double dx = Math.Log(usable[j].LearningRate) - mx;
                sxy += dx * (usable[j].SmoothedLoss - my);
                sxx += dx * dx;
            }
            double slope = sxx > 0 ? sxy / sxx : 0;
            if (slope < steepest)
            {
                steepest = slope;
                best = i;
            }
        }
        return best;
    }

    // Point-to-point noise: 1.4826 × the median absolute deviation of each point from the median of its 5 neighbours
    // (robust to the trend and to single spikes; a standard deviation for Gaussian noise).
    private static double Noise((double LearningRate, double SmoothedLoss)[] usable)
    {
        var deviations = new double[usable.Length];
        for (int i = 0; i < usable.Length; i++)
        {
            int from = Math.Max(0, i - 2), to = Math.Min(usable.Length - 1, i + 2);
            double local = Median(usable[from..(to + 1)].Select(p => p.SmoothedLoss));
            deviations[i] = Math.Abs(usable[i].SmoothedLoss - local);
        }
        return 1.4826 * Median(deviations);
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static string FormatRange((double LearningRate, double SmoothedLoss)[] usable, double start)
    {
        double spread = (usable.Max(p => p.SmoothedLoss) - usable.Min(p => p.SmoothedLoss)) / Math.Max(Math.Abs(start), 1e-12);
        return Invariant($"{spread:0.0%}");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
