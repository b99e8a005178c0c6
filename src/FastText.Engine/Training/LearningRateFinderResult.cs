using System.Globalization;

namespace FastText.Engine.Training;

/// <summary>
/// What <see cref="Learner{TBatch}.FindLearningRate"/> recorded, with fastai 2.0's two suggestions when the curve has a
/// clear descent, and none (with the reason in <see cref="Diagnosis"/>) when it has not.
/// </summary>
/// <remarks>
/// <para>The points are what the finder records: fastai's debiased 0.98 EMA of the batch losses (<see cref="SmoothedLoss"/>),
/// from the sweep's first batch on.
/// </para>
/// <para>Reading the curve as fastai 2.0's <c>lr_find(suggestions=True)</c> does: the curve ends where the loss first exceeds
/// 4× its running minimum (fastai's stop; a non-finite loss too), the first <c>iterations/10</c> points (the smoothed
/// loss is still settling) and the last 5 (the start of the divergence) are dropped, then <c>lr_min</c> = the rate at
/// the minimum loss / 10 and <c>lr_steep</c> = the rate where the loss falls fastest per log-rate (here a least-squares
/// slope over a few neighbours, and only on the descent into the minimum, so a dip in the flat part cannot win). fastai returns those two
/// points for any curve; on a flat or noisy one they are noise (the demo printed lr_min 4.2e-7 and lr_steep 1.4e-7,
/// the first points). So a suggestion is made only when the loss falls from its starting level (the median of the
/// first third of the way to the minimum) to its minimum by at
/// least <see cref="MinimumRelativeDescent"/> of that level and by at least 3σ, σ being the noise of the smoothed loss
/// at those two points, derived from the spread of the batch losses behind the curve.</para>
/// </remarks>
public sealed class LearningRateFinderResult
{
    /// <summary>Smallest fall, as a fraction of the starting loss, that counts as a descent whatever the noise (3 %): the
    /// floor for smooth curves, where 3σ of the noise is tiny.</summary>
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
        // The starting level: the median of the first third of the way to the minimum (at least one point), where the
        // EMA has settled more than at the first point but the descent has not got far.
        int head = Math.Max(1, minimum / 3);
        double start = Median(usable.Take(head).Select(p => p.SmoothedLoss));
        double lowest = usable[minimum].SmoothedLoss;
        double drop = start - lowest;
        double relative = drop / Math.Max(Math.Abs(start), 1e-12);
        // The noise of the smoothed loss at the start level and at the minimum (the EMA is noisier early on).
        double batchNoise = BatchLossNoise(points, first + minimum + 1);   // up to the minimum: not the divergence's spread
        double noise = Math.Sqrt(Square(SmoothedNoise(batchNoise, first + head / 2)) + Square(SmoothedNoise(batchNoise, first + minimum)));
        if (relative < MinimumRelativeDescent || drop < 3 * noise)
        {
            double middle = (usable[usable.Length / 2].SmoothedLoss - start) / Math.Max(Math.Abs(start), 1e-12);
            Diagnosis = middle >= MinimumRelativeDescent && minimum < usable.Length / 4
                ? Invariant($"no suggestion: the loss never fell clearly (at best {-relative:+0.0%;-0.0%} of its starting {start:0.###}) and rose from lr {usable[minimum].LearningRate:0.##e+0} on; the sweep starts too high for this model: start it lower")
                : Invariant($"no suggestion: no clear descent — the smoothed loss falls at most {drop:0.####} ({relative:0.0%}) from {start:0.###} over lr {usable[0].LearningRate:0.##e+0} … {usable[^1].LearningRate:0.##e+0}, within its noise (a descent needs {MinimumRelativeDescent:0%} and 3σ = {3 * noise:0.####}); the rate cannot be read from this curve: try more iterations, a wider range or larger batches{RiseNote(points, first + minimum, lowest + Math.Max(MinimumRelativeDescent * Math.Abs(start), 3 * noise))}");
            return;
        }
        MinimumDividedBy10 = usable[minimum].LearningRate / 10;
        // The descent: back from the minimum to the last point still at the starting level (not a dip in the flat part).
        int descent = minimum;
        while (descent > 0 && usable[descent - 1].SmoothedLoss < start)
        {
            descent--;
        }
        Steepest = usable[SteepestIndex(usable, Math.Max(0, descent - 1), minimum)].LearningRate;
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

    // Where a flat curve starts to diverge (the first point after the minimum clearly above it), if it does: rates well
    // below that at least do not blow the model up.
    private static string RiseNote(IReadOnlyList<(double LearningRate, double SmoothedLoss)> points, int minimum, double threshold)
    {
        for (int i = minimum + 1; i < points.Count; i++)
        {
            if (!(points[i].SmoothedLoss <= threshold))
            {
                return Invariant($"; the loss rises from lr {points[i].LearningRate:0.##e+0} on (rates well below it at least do not diverge)");
            }
        }
        return "";
    }

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

    // Most negative least-squares slope of loss against log(lr) over ±w neighbours, among points from..to.
    private static int SteepestIndex((double LearningRate, double SmoothedLoss)[] usable, int from, int to)
    {
        int w = Math.Max(1, usable.Length / 20);
        int best = from;
        double steepest = double.PositiveInfinity;
        for (int i = from; i <= to; i++)
        {
            int lo = Math.Max(0, i - w), hi = Math.Min(usable.Length - 1, i + w);
            double mx = 0, my = 0;
            for (int j = lo; j <= hi; j++)
            {
                mx += Math.Log(usable[j].LearningRate);
                my += usable[j].SmoothedLoss;
            }
            mx /= hi - lo + 1;
            my /= hi - lo + 1;
            double sxy = 0, sxx = 0;
            for (int j = lo; j <= hi; j++)
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

    // The spread of the batch losses behind the curve: the points are fastai's debiased EMA from the first batch on,
    // v_i = A_i / (1 − β^(i+1)) with A_i = β·A_(i−1) + (1 − β)·x_i, so each batch loss x_i can be recovered exactly. Its
    // noise σ is 1.4826 × median |x_i − x_(i−1)| / √2 (robust to spikes; the smooth trend hardly moves neighbours).
    private static double BatchLossNoise(IReadOnlyList<(double LearningRate, double SmoothedLoss)> points, int end)
    {
        if (end < 3)
        {
            return 0;
        }
        var losses = new double[end];
        double previous = 0;
        for (int i = 0; i < end; i++)
        {
            double average = points[i].SmoothedLoss * (1 - Math.Pow(SmoothedLoss.Beta, i + 1));
            losses[i] = (average - SmoothedLoss.Beta * previous) / (1 - SmoothedLoss.Beta);
            previous = average;
        }
        return 1.4826 * Median(Enumerable.Range(1, end - 1).Select(i => Math.Abs(losses[i] - losses[i - 1]))) / Math.Sqrt(2);
    }

    // Standard deviation of the debiased EMA after index + 1 batches of noise σ:
    // σ · √((1 − β)(1 − β^2c) / ((1 + β)(1 − β^c)²)) — σ at the first batch, ≈ 0.1·σ once settled.
    private static double SmoothedNoise(double sigma, int index)
    {
        double beta = SmoothedLoss.Beta;
        int c = index + 1;
        return sigma * Math.Sqrt((1 - beta) * (1 - Math.Pow(beta, 2 * c)) / ((1 + beta) * Square(1 - Math.Pow(beta, c))));
    }

    private static double Square(double x) => x * x;

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
