using FastText.Engine.IO;
using FastText.Engine.Recipes;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Recipes;

/// <summary>The README's main job, at the tiny preset on the shipped samples (seconds).</summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class DemoTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    public void Dispose() => temporary.Dispose();

    [Fact]
    public void The_demo_ends_with_the_inspection_page_linked_from_its_report()
    {
        TorchTestSetup.Use();
        var (brown, mails) = SampleLocations.Resolve(null);
        string folder = temporary.Combine("demo");

        string report = UlmfitDemo.Run(brown, mails, folder, UlmfitPreset.Tiny, NullProgress.Instance,
            inspection: new InspectionOptions { MaxTaggedSentences = 100 });

        string markdown = File.ReadAllText(report);
        Assert.Contains($"[{RunInspection.PageFile}]({RunInspection.PageFile})", markdown, StringComparison.Ordinal);
        string page = File.ReadAllText(Path.Combine(folder, RunInspection.PageFile));
        Assert.Contains("What did fine-tuning move?", page, StringComparison.Ordinal);
        Assert.Contains("<h2>top loss: validation document", page, StringComparison.Ordinal);
        Assert.Contains("Linear part-of-speech probes per layer", page, StringComparison.Ordinal);
        Assert.Contains("Subject–verb agreement", page, StringComparison.Ordinal);
        Assert.Equal(UlmfitDemo.ExampleTexts.Count + 3, page.Split("<section class=\"text\"").Length - 1);

        // Started from a given language model (the shipped general-English one's role): no Brown pretraining, the
        // inspection compares that model with the fine-tuned one.
        string started = temporary.Combine("demo-pretrained");
        string second = UlmfitDemo.Run(brown, mails, started, UlmfitPreset.Tiny, NullProgress.Instance, compareBatching: false,
            inspection: new InspectionOptions { MaxTaggedSentences = 100 }, pretrained: Path.Combine(folder, "models", "pretrained"));
        Assert.False(Directory.Exists(Path.Combine(started, "models", "pretrained")));
        Assert.True(File.Exists(Path.Combine(started, "models", "finetuned", "encoder.weights")));
        Assert.Contains("not pretrained in this run", File.ReadAllText(second), StringComparison.Ordinal);
        Assert.Contains("What did fine-tuning move?", File.ReadAllText(Path.Combine(started, RunInspection.PageFile)), StringComparison.Ordinal);
    }
}
