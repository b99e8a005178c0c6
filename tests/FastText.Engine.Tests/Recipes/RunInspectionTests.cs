using System.Globalization;
using System.Text.RegularExpressions;
using FastText.Engine.Interpretation;
using FastText.Engine.IO;
using FastText.Engine.Recipes;
using FastText.Engine.Tests.Interpretation;
using FastText.Engine.Tests.Training;
using TorchSharp;

namespace FastText.Engine.Tests.Recipes;

/// <summary><c>fasttext inspect</c> on a whole (micro) run: every part is on the one page, computed from the run's own
/// models, and the page works in a real browser.</summary>
[Collection(SequentialTorchCollection.Name)]
public sealed partial class RunInspectionTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    public void Dispose() => temporary.Dispose();

    [GeneratedRegex("<span class=\"t\"[^>]*style=\"background-color: rgba?\\(")]
    private static partial Regex ShadedAttribution();

    [GeneratedRegex("<span class=\"s\" style=\"background-color: rgba?\\(255, 140, 0")]
    private static partial Regex ShadedSurprisal();

    [Fact]
    public void The_page_holds_every_part_of_the_run_and_renders_in_a_browser()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        string folder = temporary.Combine("run");
        var run = new UlmfitPipeline(folder, PipelineTests.Micro);
        using PipelineTests.EasyRecipe recipe = PipelineTests.TrainEasyRecipe(run);
        var options = new InspectionOptions { MapTokens = 15, SurprisalTokens = 50, Prompts = ["cheap pills", "the kernel"], Examples = ["free money click offer now", "patch review meeting thanks"], MaxTaggedSentences = 150 };

        string path = RunInspection.Write(folder, NullProgress.Instance, options);

        Assert.Equal(Path.Combine(folder, RunInspection.PageFile), path);
        string html = File.ReadAllText(path);
        Assert.DoesNotContain("<link", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"http", html, StringComparison.Ordinal);
        foreach (string model in new[] { "pretrained", "finetuned", "classifier" })
        {
            Assert.Contains(System.Net.WebUtility.HtmlEncode(Path.Combine(folder, "models", model)), html, StringComparison.Ordinal);
        }
        Assert.Contains("<td>cheap pills</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td>the kernel</td>", html, StringComparison.Ordinal);
        Assert.Contains("What did fine-tuning move?", html, StringComparison.Ordinal);
        Assert.Contains("The embedding space: the 15 most frequent tokens", html, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "plots", "embedding-map.png")));
        Assert.True(File.Exists(Path.Combine(folder, "plots", EvaluationReport.ConfusionFile)));
        // The syntax parts: a probe row per layer (embedding + the micro model's 2 LSTM layers), agreement per condition.
        Assert.Contains("Linear part-of-speech probes per layer", html, StringComparison.Ordinal);
        Assert.Contains("150 tagged Brown sentences", html, StringComparison.Ordinal);
        foreach (string layer in new[] { "<td>embedding</td>", "<td>lstm 1</td>", "<td>lstm 2</td>" })
        {
            Assert.Contains(layer, html, StringComparison.Ordinal);
        }
        Assert.DoesNotContain("<td>lstm 3</td>", html, StringComparison.Ordinal);
        Assert.Equal(2, Regex.Matches(html, "<td>all</td>").Count);                           // an overall agreement row per model
        // The evaluation is the classifier's own on the run's mails.
        double accuracy = recipe.Classifier.Evaluation.Metrics.Accuracy;
        Assert.Contains($"accuracy {(100 * accuracy).ToString("F2", CultureInfo.InvariantCulture)} %", html, StringComparison.Ordinal);
        // Two examples and three top losses explained.
        Assert.Equal(2 + 3, Regex.Matches(html, "<section class=\"text\"").Count);
        Assert.Equal(3, Regex.Matches(html, "<h2>top loss: validation document").Count);

        // In chromium: every explained token is shaded by the attribution script, and the surprisal tokens keep their own
        // shading (the script leaves them alone).
        string dom = HeadlessChromium.Run(temporary.Combine("profile"), "--dump-dom", new Uri(path).AbsoluteUri);
        int explainedTokens = Regex.Matches(html, "<span class=\"t\"").Count;
        Assert.True(explainedTokens > 10);
        Assert.Equal(explainedTokens, ShadedAttribution().Matches(dom).Count);
        int surprisalTokens = Regex.Matches(html, "<span class=\"s\" ").Count;
        Assert.InRange(surprisalTokens, 5, 49);
        Assert.Contains("Where is the language model surprised? validation document", html, StringComparison.Ordinal);
        Assert.Equal(surprisalTokens, ShadedSurprisal().Matches(dom).Count);
    }

    [Fact]
    public void A_run_without_a_classifier_gets_the_language_model_parts_and_bad_folders_are_named()
    {
        TorchTestSetup.Use();
        string missing = temporary.Combine("nowhere");
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => RunInspection.Write(missing, NullProgress.Instance)).Message, StringComparison.Ordinal);
        string empty = temporary.Combine("empty");
        Directory.CreateDirectory(empty);
        Assert.Contains("has no models to inspect", Assert.Throws<InvalidDataException>(() => RunInspection.Write(empty, NullProgress.Instance)).Message, StringComparison.Ordinal);

        string folder = temporary.Combine("lm-only");
        var run = new UlmfitPipeline(folder, PipelineTests.Micro);
        using var general = run.Tokenize("general", PipelineTests.EasyTexts().English);
        run.Pretrain(general);
        string html = File.ReadAllText(RunInspection.Write(folder, NullProgress.Instance, new InspectionOptions { MapTokens = 20, MapMethod = MapMethod.Pca, Syntax = false }));
        Assert.Contains("<td>classifier</td><td>not in this run</td>", html, StringComparison.Ordinal);
        Assert.Contains("What comes next?", html, StringComparison.Ordinal);
        Assert.Contains("PCA: the axes carry", html, StringComparison.Ordinal);
        Assert.DoesNotContain("What did fine-tuning move?", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<section class=\"text\"", html, StringComparison.Ordinal);
    }
}
