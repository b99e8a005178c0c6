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
        // inspection compares that model with the fine-tuned one; and semi-supervised, the LM fine-tuned on every
        // training-split mail's text.
        string started = temporary.Combine("demo-pretrained");
        string second = UlmfitDemo.Run(brown, mails, started, UlmfitPreset.Tiny, NullProgress.Instance, compareBatching: false,
            inspection: new InspectionOptions { MaxTaggedSentences = 100 }, pretrained: Path.Combine(folder, "models", "pretrained"), unlabelledMails: true);
        Assert.Contains("| corpus mail-text | 4,8", File.ReadAllText(second), StringComparison.Ordinal);
        using (TextDataset mailText = TextDataset.Load(Path.Combine(started, "corpus", "mail-text")))
        {
            Assert.Equal(UlmfitPreset.Tiny.MaxTokensPerDocument, mailText.MaxTokens);      // cut as the classifier's mails are
            Assert.Empty(mailText.ClassNames);
        }
        Assert.False(Directory.Exists(Path.Combine(started, "models", "pretrained")));
        Assert.True(File.Exists(Path.Combine(started, "models", "finetuned", "encoder.weights")));
        Assert.Contains("not pretrained in this run", File.ReadAllText(second), StringComparison.Ordinal);
        Assert.Contains("What did fine-tuning move?", File.ReadAllText(Path.Combine(started, RunInspection.PageFile)), StringComparison.Ordinal);
    }

    [Fact]
    public void The_semi_supervised_language_model_text_is_every_training_mail_and_the_subsets_validation_mails_unlabelled()
    {
        var (_, mails) = SampleLocations.Resolve(null);
        IReadOnlyList<LabelledText> all = SampleReaders.Read(mails);
        IReadOnlyList<LabelledText> subset = SampleReaders.Read(mails, UlmfitPreset.Tiny.Mails, UlmfitPreset.Tiny.Seed);
        // The demo reads the source once and cuts the subset from it: the same mails, split as Read gives them.
        Assert.Equal(subset, SampleReaders.Subset(all, UlmfitPreset.Tiny.Mails, UlmfitPreset.Tiny.Seed));

        IReadOnlyList<LabelledText> text = UlmfitDemo.LanguageModelMails(mails.Description, all, subset);

        Assert.All(text, t => Assert.Null(t.ClassName));
        int validation = subset.Count(t => t.IsValidation == true);
        Assert.True(validation > 0);
        Assert.Equal(subset.Where(t => t.IsValidation == true).Select(t => t.Source), text.Take(validation).Select(t => t.Source));
        Assert.Equal(all.Where(t => t.IsValidation == false).Select(t => t.Source), text.Skip(validation).Select(t => t.Source));
        Assert.All(text.Skip(validation), t => Assert.False(t.IsValidation));
        Assert.True(text.Count - validation > 10 * subset.Count(t => t.IsValidation == false));    // far more than the subset's
    }

    [Fact]
    public void Semi_supervised_text_needs_a_source_with_its_own_split()
    {
        using var folder = new TemporaryFolder();
        foreach (string label in new[] { "ham", "spam" })
        {
            Directory.CreateDirectory(folder.Combine(label));
            File.WriteAllText(folder.Combine(label, "1.txt"), $"a {label} mail");
        }
        var source = new FolderDocumentSource(folder.Path);
        IReadOnlyList<LabelledText> unsplit = SampleReaders.Read(source);
        var e = Assert.Throws<InvalidDataException>(() => UlmfitDemo.LanguageModelMails(source.Description, unsplit, unsplit));
        Assert.Contains("has no train/test split of its own", e.Message, StringComparison.Ordinal);

        var (_, mails) = SampleLocations.Resolve(null);
        IReadOnlyList<LabelledText> all = SampleReaders.Read(mails);
        IReadOnlyList<LabelledText> trainingOnly = all.Where(t => t.IsValidation == false).Take(5).ToList();
        e = Assert.Throws<InvalidDataException>(() => UlmfitDemo.LanguageModelMails(mails.Description, all, trainingOnly));
        Assert.Contains("hold no test-split mail", e.Message, StringComparison.Ordinal);
    }
}
