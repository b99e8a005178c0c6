using FastText.Engine.IO;
using FastText.Engine.Training;
using ScottPlot;

namespace FastText.Engine.Reporting;

/// <summary>PNG plots of a run (ScottPlot): loss curves, the learning-rate finder, sample efficiency, a confusion matrix,
/// plain line series. Files are written atomically.</summary>
public static class TrainingPlots
{
    private const int Width = 900;
    private const int Height = 540;

    /// <summary>
    /// Training loss per batch for each curve, one after another on a shared batch axis (so the stages of a run read
    /// left to right), with validation losses as markers at each epoch end (fastai's <c>recorder.plot_loss</c>).
    /// </summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="curves">The curves, in stage order.</param>
    /// <param name="title">Plot title.</param>
    public static void SaveLossCurves(string path, IReadOnlyList<LossCurve> curves, string title = "Loss")
    {
        ArgumentNullException.ThrowIfNull(curves);
        var plot = new Plot();
        int offset = 0;
        foreach (LossCurve curve in curves)
        {
            if (curve.Losses.Count == 0)
            {
                continue;
            }
            double[] xs = new double[curve.Losses.Count];
            for (int i = 0; i < xs.Length; i++)
            {
                xs[i] = offset + i + 1;
            }
            var train = plot.Add.Scatter(xs, curve.Losses.ToArray());
            train.MarkerSize = 0;
            train.LegendText = curve.Name + " (train)";
            if (curve.ValidLosses.Count > 0)
            {
                var valid = plot.Add.Scatter(
                    curve.ValidLosses.Select(v => (double)(offset + v.Batch)).ToArray(),
                    curve.ValidLosses.Select(v => v.Loss).ToArray());
                valid.LineWidth = 0;
                valid.MarkerSize = 9;
                valid.Color = train.Color;
                valid.LegendText = curve.Name + " (valid)";
            }
            offset += curve.Losses.Count;
        }
        plot.Title(title);
        plot.XLabel("batch");
        plot.YLabel("loss");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    /// <summary>
    /// The learning-rate finder's loss against a log-scaled learning rate, with the suggestions marked (fastai's
    /// <c>lr_find</c> plot); a curve without a clear descent is plotted without them and says so in the title.
    /// </summary>
    public static void SaveLearningRateFinder(string path, Training.LearningRateFinderResult result, string title = "Learning-rate finder")
    {
        ArgumentNullException.ThrowIfNull(result);
        var plot = new Plot();
        // ScottPlot has no log axis: plot log10(lr) and label the ticks as powers of ten.
        double[] xs = result.Points.Select(p => Math.Log10(p.LearningRate)).ToArray();
        var line = plot.Add.Scatter(xs, result.Points.Select(p => p.SmoothedLoss).ToArray());
        line.MarkerSize = 0;
        line.LegendText = "smoothed loss";
        if (result.MinimumDividedBy10 is { } lrMin && result.Steepest is { } lrSteep)
        {
            var minimum = plot.Add.VerticalLine(Math.Log10(lrMin));
            minimum.LegendText = FormattableString.Invariant($"lr_min {lrMin:0.##e+0}");
            var steep = plot.Add.VerticalLine(Math.Log10(lrSteep));
            steep.LegendText = FormattableString.Invariant($"lr_steep {lrSteep:0.##e+0}");
            steep.LinePattern = LinePattern.Dashed;
        }
        else
        {
            title += " — no suggestion (no clear descent; see the report)";
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = x => Math.Pow(10, x).ToString("0.#e+0", System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Title(title);
        plot.XLabel("learning rate (log scale)");
        plot.YLabel("loss");
        plot.ShowLegend();
        Save(plot, path);
    }

    /// <summary>Accuracy against the number of labelled training examples, one line per variant (log-scaled x).</summary>
    /// <param name="path">PNG file to write.</param>
    /// <param name="series">Per variant: (labelled examples, accuracy) points.</param>
    /// <param name="title">Plot title.</param>
    public static void SaveSampleEfficiency(string path, IReadOnlyDictionary<string, IReadOnlyList<(int Examples, double Accuracy)>> series, string title = "Accuracy vs labelled examples")
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        foreach ((string name, IReadOnlyList<(int Examples, double Accuracy)> points) in series)
        {
            var scatter = plot.Add.Scatter(points.Select(p => Math.Log10(p.Examples)).ToArray(), points.Select(p => p.Accuracy).ToArray());
            scatter.LegendText = name;
            scatter.MarkerSize = 8;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = x => Math.Round(Math.Pow(10, x)).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Title(title);
        plot.XLabel("labelled training examples (log scale)");
        plot.YLabel("validation accuracy");
        plot.ShowLegend();
        Save(plot, path);
    }

    /// <summary>A confusion matrix as a heat map (fastai's <c>plot_confusion_matrix</c>): rows actual, columns predicted,
    /// each cell's count written in it.</summary>
    public static void SaveConfusionMatrix(string path, Training.Classification.ClassificationMetrics metrics, string title = "Confusion matrix")
    {
        ArgumentNullException.ThrowIfNull(metrics);
        int n = metrics.ClassNames.Count;
        var counts = new double[n, n];
        for (int a = 0; a < n; a++)
        {
            for (int p = 0; p < n; p++)
            {
                counts[a, p] = metrics.Confusion(a, p);
            }
        }
        var plot = new Plot();
        var map = plot.Add.Heatmap(counts);
        map.Colormap = new WhiteToBlue();
        double most = Math.Max(1, counts.Cast<double>().Max());
        for (int a = 0; a < n; a++)
        {
            for (int p = 0; p < n; p++)
            {
                // Heatmap cell (row a, column p) is centred at (p, n − 1 − a): row 0 is drawn at the top.
                var label = plot.Add.Text(counts[a, p].ToString("N0", System.Globalization.CultureInfo.InvariantCulture), p, n - 1 - a);
                label.LabelFontSize = 22;
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontColor = counts[a, p] > most / 2 ? Colors.White : Colors.Black;
            }
        }
        double[] positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, metrics.ClassNames.ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, metrics.ClassNames.Reverse().ToArray());
        plot.Title(title);
        plot.XLabel("predicted");
        plot.YLabel("actual");
        Save(plot, path, 600, 540);
    }

    /// <summary>Named y series over shared x values, with markers (e.g. a deletion curve).</summary>
    public static void SaveLines(string path, IReadOnlyList<double> xs, IReadOnlyDictionary<string, IReadOnlyList<double>> series, string title, string xLabel, string yLabel)
    {
        ArgumentNullException.ThrowIfNull(xs);
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        foreach ((string name, IReadOnlyList<double> ys) in series)
        {
            var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
            line.LegendText = name;
            line.MarkerSize = 8;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend();
        Save(plot, path);
    }

    /// <summary>Labelled points (e.g. tokens on an embedding map): a dot and its label for each.</summary>
    public static void SaveLabelledPoints(string path, IReadOnlyList<(string Label, double X, double Y)> points, string title, string xLabel, string yLabel)
    {
        ArgumentNullException.ThrowIfNull(points);
        var plot = new Plot();
        var dots = plot.Add.ScatterPoints(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
        dots.MarkerSize = 4;
        foreach (var (label, x, y) in points)
        {
            var text = plot.Add.Text(label, x, y);
            text.LabelFontSize = 11;
            text.LabelFontColor = Colors.Black.WithAlpha(0.85);
            text.LabelAlignment = Alignment.LowerLeft;
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        Save(plot, path, 1400, 1000);
    }

    // Few counts pale, many dark (fastai's confusion matrix: matplotlib's Blues).
    private sealed class WhiteToBlue : IColormap
    {
        public string Name => "white to blue";

        public Color GetColor(double position)
        {
            double p = Math.Clamp(position, 0, 1);
            return new Color((byte)(255 + (8 - 255) * p), (byte)(255 + (48 - 255) * p), (byte)(255 + (107 - 255) * p));
        }
    }

    private static void Save(Plot plot, string path, int width = Width, int height = Height)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] png = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }
}
