using FastText.Engine.Pipeline;
using TorchSharp;

namespace FastText.Engine.Tests.Pipeline;

public sealed class PipelineTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "fasttext-pipeline-" + Guid.NewGuid().ToString("N"));

    private static readonly UlmfitPreset Micro = UlmfitPreset.Tiny with
    {
        Name = "micro",
        EmbeddingSize = 32,
        HiddenSize = 32,
        MinFrequency = 1,
        LanguageModelBatchSize = 4,
        LanguageModelSequenceLength = 8,
        ClassifierBatchSize = 8,
        ClassifierSequenceLength = 8,
        ClassifierDropMultiplier = 0.1,
        ClassifierStages = [(-1, 2, 5e-2), (0, 6, 3e-2)],
    };

    [Fact]
    public void The_whole_recipe_runs_saves_reloadable_artifacts_and_learns_an_easy_task()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var run = new UlmfitPipeline(folder, Micro);
        var random = new Random(1);
        string[] spamWords = ["cheap", "pills", "winner", "money", "free", "click", "offer"];
        string[] hamWords = ["meeting", "patch", "kernel", "review", "build", "thanks", "schedule"];
        string Sentence(string[] words) => string.Join(' ', Enumerable.Range(0, 4 + random.Next(12)).Select(_ => words[random.Next(words.Length)])) + ".";
        var english = Enumerable.Range(0, 20).Select(i => new LabelledText(Sentence(i % 2 == 0 ? spamWords : hamWords) + " " + Sentence(hamWords), null, $"doc{i}")).ToList();
        var mails = Enumerable.Range(0, 120).Select(i => i % 2 == 0
            ? new LabelledText(Sentence(spamWords), "spam", $"spam{i}")
            : new LabelledText(Sentence(hamWords), "ham", $"ham{i}")).ToList();

        TextDataset general = run.Tokenize("general", english);
        TextDataset task = run.Tokenize("mails", mails);
        LanguageModelArtifact pretrained = run.Pretrain(general);
        LanguageModelArtifact tuned = run.FineTune(pretrained, task, findLearningRate: false);
        using ClassifierResult classifier = run.TrainClassifier(task, tuned);
        string report = run.SaveReport();

        Assert.True(classifier.Evaluation.Metrics.Accuracy >= 0.8, $"accuracy {classifier.Evaluation.Metrics.Accuracy}\n{run.Report.ToMarkdown()}");
        Assert.Equal(["pretrain", "fine-tune", "classifier · freeze_to(-1) · lr 0.05", "classifier · unfreeze() · lr slice(0.0006565, 0.03)"],
            run.Report.Epochs.Select(e => e.Stage).Distinct());
        Assert.Equal(1 + 1 + 1 + 2 + 6, run.Report.Epochs.Count); // pretrain 1, fine-tune frozen 1 + unfrozen 1, classifier 2 + 6
        Assert.Contains("perplexity", File.ReadAllText(report), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "plots", "losses.png")));

        // Every artifact reloads: corpus, vocabulary, language model, classifier (same predictions).
        TextDataset reloaded = TextDataset.Load(Path.Combine(folder, "corpus", "mails"));
        Assert.Equal(task.Corpus.TokenCount, reloaded.Corpus.TokenCount);
        Assert.Equal(task.Validation, reloaded.Validation);
        using var lm = LanguageModelArtifact.Open(tuned.Folder).LoadModel();
        Assert.Equal(task.Vocabulary.Count, lm.VocabularySize);
        ClassifierArtifact artifact = ClassifierArtifact.Open(classifier.Artifact!.Folder);
        using var model = artifact.LoadModel();
        string[] texts = ["cheap pills click offer free money.", "kernel patch review meeting thanks build.", mails[3].Text];
        var before = classifier.Predictor.Predict(texts);
        var after = artifact.CreatePredictor(model).Predict(texts);
        Assert.Equal(before.Select(p => p.ClassName), after.Select(p => p.ClassName));
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(before[i].Probabilities[0], after[i].Probabilities[0], 5);
        }
    }

    [Fact]
    public void Decoding_applies_case_and_repeat_rules_to_one_item_only()
    {
        Assert.Equal("Hello WORLD !!!! again again again x",
            TextDecoding.Decode(["xxbos", "xxmaj", "hello", "xxup", "world", "xxrep", "4", "!", "again", "xxwrep", "2", "again", "x"]));
        Assert.Equal("abc xxrep-less", TextDecoding.Decode(["xxrep", "abc", "xxrep-less"]));
    }

    public void Dispose()
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
