using FastText.Engine.IO;
using FastText.Engine.Reporting;
using FastText.Engine.Training;

namespace FastText.Engine.Tests.Recipes;

public sealed class ReportAndPlotTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    [Fact]
    public void The_confusion_matrix_shades_many_counts_dark_and_puts_actual_classes_on_the_rows()
    {
        int[] actual = [.. Enumerable.Repeat(0, 277), .. Enumerable.Repeat(1, 126)];
        int[] predicted = [.. Enumerable.Repeat(0, 264), .. Enumerable.Repeat(1, 13), .. Enumerable.Repeat(0, 4), .. Enumerable.Repeat(1, 122)];
        var metrics = new FastText.Engine.Training.Classification.ClassificationMetrics(actual, predicted, ["ham", "spam"]);
        string path = Path.Combine(temporary.Path, "confusion.png");
        TrainingPlots.SaveConfusionMatrix(path, metrics);
        using var image = SkiaSharp.SKBitmap.Decode(path);
        Assert.Equal((600, 540), (image.Width, image.Height));
        // Inside each cell, left of its label: ham→ham (264) top left, ham→spam (13) top right, spam→ham (4) bottom left.
        float Lightness(int x, int y) { var c = image.GetPixel(x, y); return (c.Red + c.Green + c.Blue) / 3f; }
        float hamHam = Lightness(130, 170), hamSpam = Lightness(370, 170), spamHam = Lightness(130, 365), spamSpam = Lightness(370, 365);
        Assert.True(hamHam < spamSpam && spamSpam < hamSpam && hamSpam <= spamHam + 1, $"264: {hamHam}, 122: {spamSpam}, 13: {hamSpam}, 4: {spamHam}");
    }

    [Fact]
    public void Plots_are_written_as_png_files()
    {
        var curve = new LossCurve("fine-tune", [5.0, 4.5, 4.2, 4.0], [(2, 4.6), (4, 4.3)]);
        string losses = Path.Combine(folder, "plots", "losses.png");
        TrainingPlots.SaveLossCurves(losses, [curve, curve with { Name = "classifier" }]);
        string finder = Path.Combine(folder, "lr.png");
        TrainingPlots.SaveLearningRateFinder(finder, new FastText.Engine.Training.LearningRateFinderResult([(1e-6, 5.1), (1e-5, 5.0), (1e-4, 4.8), (1e-3, 4.0), (1e-2, 3.9), (1e-1, 9), (1, 20), (2, 30), (3, 40), (4, 50), (5, 60)]));
        foreach (string path in new[] { losses, finder })
        {
            byte[] bytes = File.ReadAllBytes(path);
            Assert.True(bytes.Length > 1000, $"{path} is {bytes.Length} bytes");
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes.AsSpan(0, 4).ToArray());
        }
        Assert.Empty(Directory.GetFiles(folder, "*.tmp*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Report_groups_epochs_by_stage_with_perplexity_for_language_models_only()
    {
        var report = new RunReport("Demo");
        report.AddSetting("preset", "small");
        report.AddEpoch(new EpochSummary("fine-tune", 0, 4.12, 3.912788, 0.2996, 699, 12345, null, true));
        report.AddEpoch(new EpochSummary("classifier", 0, 0.35, 0.18, 0.9293, 33, 54321, 0.125, false));
        string text = report.ToMarkdown();
        Assert.Contains("| 0 | 4.120000 | 3.912788 | 0.299600 | 50.038 | 11:39 | 12,345 |", text, StringComparison.Ordinal);
        Assert.Contains("| 0 | 0.350000 | 0.180000 | 0.929300 | 00:33 | 54,321 | 12.5% |", text, StringComparison.Ordinal);
        Assert.Equal(1, text.Split("perplexity").Length - 1);
        string path = Path.Combine(folder, "report.md");
        report.Save(path);
        Assert.Equal(text, File.ReadAllText(path));
    }

    [Fact]
    public void Atomic_write_replaces_the_whole_file_and_leaves_no_temporary()
    {
        string path = Path.Combine(folder, "a.txt");
        AtomicFile.WriteAllText(path, "first version, longer");
        AtomicFile.WriteAllText(path, "second");
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, _ => throw new InvalidOperationException()));
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(folder));
    }

    public void Dispose() => temporary.Dispose();
}
