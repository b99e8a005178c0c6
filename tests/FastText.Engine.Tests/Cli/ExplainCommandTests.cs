using System.Text.RegularExpressions;
using FastText.Cli;
using FastText.Engine.Interpretation;
using FastText.Engine.Recipes;
using FastText.Engine.Tests.Recipes;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Cli;

[Collection(SequentialTorchCollection.Name)]
public sealed class ExplainCommandTests : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    private string SavedClassifier()
    {
        TorchTestSetup.Use();
        var vocabulary = Vocabulary.FromTokens([.. SpecialTokens.All, "free", "cash", "now", "meeting", "notes", "hello", "bob"]);
        AwdLstmConfig config = TinyModels.Config();
        TorchSharp.torch.manual_seed(3);
        using TextClassifier classifier = TextClassifier.Create(vocabulary.Count, config, 2, 0.5, 8);
        string path = folder.Combine("classifier");
        ClassifierArtifact.Save(path, classifier, config, vocabulary, Tokenization.Words, ["ham", "spam"], 0.5, 0);
        return path;
    }

    [Fact]
    public async Task Explain_prints_each_method_and_the_completeness_check_and_writes_the_page()
    {
        string model = SavedClassifier();
        string mail = folder.Write("mails/one.eml", "From someone\nSubject: hi\n\nfree cash now , bob");
        string page = folder.Combine("out", "explain.html");
        Directory.CreateDirectory(folder.Combine("out"));
        var output = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        int exit = await handlers.ExplainAsync(new ExplainRequest(model, ["hello bob , the meeting notes"], mail, 1) { Html = page }, CancellationToken.None);
        string text = output.ToString();
        Assert.Equal(0, exit);
        Assert.Contains("text 1: ", text, StringComparison.Ordinal);
        Assert.Contains($"{mail}: ", text, StringComparison.Ordinal);
        Assert.Contains("integrated gradients, for ", text, StringComparison.Ordinal);
        Assert.Contains("intrinsic attention: ", text, StringComparison.Ordinal);
        Assert.Equal(2, text.Split('\n').Count(l => l.Contains("completeness: ", StringComparison.Ordinal) && l.Contains("(within 1 %)", StringComparison.Ordinal)));
        Assert.DoesNotContain("\u001b[", text, StringComparison.Ordinal);                   // no colour codes when not a terminal
        string html = File.ReadAllText(page);
        Assert.Equal(2, html.Split("<section class=\"text\"").Length - 1);
        Assert.Contains(">cash</span>", html, StringComparison.Ordinal);                     // the mail's body, not its headers
        Assert.DoesNotContain(">Subject:</span>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Explain_names_the_classes_when_asked_for_an_unknown_one_and_refuses_zero_steps()
    {
        string model = SavedClassifier();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(new StringWriter(), interactive: false));
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => handlers.ExplainAsync(new ExplainRequest(model, ["free cash"], null, 1) { Class = "eggs" }, CancellationToken.None));
        Assert.Contains("no class 'eggs'; its classes are ham, spam", unknown.Message, StringComparison.Ordinal);
        var steps = await Assert.ThrowsAsync<ArgumentException>(() => handlers.ExplainAsync(new ExplainRequest(model, ["free cash"], null, 1) { Steps = 0 }, CancellationToken.None));
        Assert.Contains("--steps", steps.Message, StringComparison.Ordinal);
        // No text: an error (stderr, exit 1 through CommandErrors), not a line on the progress output.
        var output = new StringWriter();
        var nothing = await Assert.ThrowsAsync<ArgumentException>(() => new PipelineCommandHandlers(new TerminalProgress(output, interactive: false)).ExplainAsync(new ExplainRequest(model, [], null, 1), CancellationToken.None));
        Assert.Contains("Nothing to explain", nothing.Message, StringComparison.Ordinal);
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public async Task Evaluate_writes_the_confusion_matrix_and_the_top_losses_explained()
    {
        TorchTestSetup.Use();
        var run = new UlmfitPipeline(folder.Combine("run"), PipelineTests.Micro);
        using (TextDataset mails = run.Tokenize("mails", PipelineTests.EasyTexts().Mails))
        {
            TorchSharp.torch.manual_seed(4);
            using TextClassifier untrained = TextClassifier.Create(mails.Vocabulary.Count, TinyModels.Config(), 2, 0.5, 8);
            ClassifierArtifact.Save(folder.Combine("classifier"), untrained, TinyModels.Config(), mails.Vocabulary, mails.Tokenization, mails.ClassNames, 0.5, 0);
        }
        string corpus = folder.Combine("run", "corpus", "mails");
        string report = folder.Combine("report");
        var output = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        int exit = await handlers.EvaluateAsync(new EvaluateRequest([folder.Combine("classifier")], corpus, 1) { Report = report, TopLosses = 4 }, CancellationToken.None);
        Assert.Equal(0, exit);
        Assert.Equal(4, output.ToString().Split('\n').Count(l => l.StartsWith("top loss: ", StringComparison.Ordinal)));
        string html = File.ReadAllText(Path.Combine(report, EvaluationReport.PageFile));
        Assert.Equal(4, html.Split("<section class=\"text\"").Length - 1);               // each top loss, explained
        Assert.Contains("data:image/png;base64,", html, StringComparison.Ordinal);           // the image inside the page
        Assert.DoesNotContain("http", html, StringComparison.OrdinalIgnoreCase);
        using TextDataset again = TextDataset.Load(corpus);
        int cells = Regex.Matches(html[html.IndexOf("metrics confusion", StringComparison.Ordinal)..html.IndexOf("<img", StringComparison.Ordinal)], "<td>(\\d+)</td>")
            .Sum(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(again.Validation.Count, cells);                                          // the matrix counts every held-out mail
        using var image = SkiaSharp.SKBitmap.Decode(Path.Combine(report, EvaluationReport.ConfusionFile));
        Assert.Equal((600, 540), (image.Width, image.Height));
    }

    [Fact]
    public void The_command_line_reads_explain_s_options()
    {
        var recorder = new CommandLineTests.Recorder();
        int exit = FastTextCommandLine.Build(recorder).Parse(["explain", "-m", "clf", "some text", "--html", "p.html", "--steps", "20", "--class", "spam"]).Invoke();
        Assert.Equal(0, exit);
        var request = Assert.IsType<ExplainRequest>(recorder.Last);
        Assert.Equal(("clf", "some text", "p.html", 20, "spam"), (request.Model, request.Texts.Single(), request.Html, request.Steps, request.Class));
    }
}
