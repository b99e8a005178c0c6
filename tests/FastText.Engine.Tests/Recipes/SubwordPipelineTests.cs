using System.Text.Json;
using FastText.Engine.Models;
using FastText.Engine.Recipes;
using FastText.Engine.Tests.Pretrained;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;
using FastText.Engine.Training;
using TorchSharp;

namespace FastText.Engine.Tests.Recipes;

/// <summary>
/// Subword mode end to end with the committed SentencePiece fixtures (Fixtures/sentencepiece): the model travels from
/// the dataset folder into every model folder, prediction and generation reload it from there, and corpora and
/// models of different tokenizations are refused with both named.
/// </summary>
public sealed class SubwordPipelineTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    private static string Unigram => Fixture.File(Path.Combine("sentencepiece", "unigram.model"));

    private static string Bpe => Fixture.File(Path.Combine("sentencepiece", "bpe.model"));

    private static readonly UlmfitPreset Micro = UlmfitPreset.Tiny with
    {
        Name = "micro",
        Model = UlmfitPreset.Tiny.Model with { EmbeddingSize = 16, HiddenSize = 16 },
        MinFrequency = 1,
        LanguageModelBatchSize = 4,
        LanguageModelSequenceLength = 8,
        ClassifierBatchSize = 8,
        ClassifierSequenceLength = 8,
        ClassifierStages = [(-1, 1, 2e-2), (0, 1, 1e-2)],
    };

    private static readonly string[] SpamWords = ["cheap", "pills", "winner", "money", "free", "click", "offer"];
    private static readonly string[] HamWords = ["meeting", "patch", "kernel", "review", "build", "thanks", "schedule"];

    private static List<LabelledText> Mails(int count = 48)
    {
        var random = new Random(2);
        string Sentence(string[] words) => string.Join(' ', Enumerable.Range(0, 3 + random.Next(6)).Select(_ => words[random.Next(words.Length)])) + ".";
        return Enumerable.Range(0, count).Select(i => i % 2 == 0
            ? new LabelledText(Sentence(SpamWords), "spam", $"spam{i}")
            : new LabelledText(Sentence(HamWords), "ham", $"ham{i}")).ToList();
    }

    private static List<LabelledText> Unlabelled(int count = 24) => Mails(count).Select(t => t with { ClassName = null }).ToList();

    [Fact]
    public void A_subword_run_builds_trains_predicts_and_reloads_the_same_tokenizer_from_disk()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var run = new UlmfitPipeline(Path.Combine(folder, "run"), Micro) { SubwordModel = Unigram };
        List<LabelledText> mails = Mails();
        using TextDataset general = run.Tokenize("general", Unlabelled());
        using TextDataset task = run.Tokenize("mails", mails);

        // The corpus holds spm_encode's pieces of the text after fastai's rules, and the model sits in the folder.
        SubwordTokenizer reference = SubwordTokenizer.FromSentencePiece(Unigram);
        Assert.True(task.Tokenization.IsSubword);
        for (int d = 0; d < 5; d++)
        {
            Assert.Equal(reference.Tokenize(mails[d].Text), task.Document(d).Select(id => task.Vocabulary[id]));
        }
        Assert.Contains(task.Vocabulary.Tokens, t => t.Length > 1 && t[0] == SubwordTokenizer.WordBoundary); // pieces, not words
        Assert.Equal(File.ReadAllBytes(Unigram), File.ReadAllBytes(Path.Combine(task.Folder, Tokenization.SubwordModelFileName)));
        using (var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(task.Folder, "dataset.json"))))
        {
            Assert.Equal("spm.model", settings.RootElement.GetProperty("subwordModel").GetString());
            Assert.Equal(task.Tokenization.SubwordModelSha256, settings.RootElement.GetProperty("subwordModelSha256").GetString());
            Assert.Equal(Micro.MaxTokensPerDocument, settings.RootElement.GetProperty("maxTokens").GetInt32());
        }

        LanguageModelArtifact pretrained = run.Pretrain(general);
        LanguageModelArtifact tuned = run.FineTune(pretrained, task, findLearningRate: false);
        using ClassifierResult classifier = run.TrainClassifier(task, tuned);
        foreach (string modelFolder in new[] { pretrained.Folder, tuned.Folder, classifier.Artifact!.Folder })
        {
            Assert.Equal(File.ReadAllBytes(Unigram), File.ReadAllBytes(Path.Combine(modelFolder, Tokenization.SubwordModelFileName)));
            Assert.Contains(task.Tokenization.SubwordModelSha256!, File.ReadAllText(Path.Combine(modelFolder, "model.json")), StringComparison.Ordinal);
        }

        // Reloaded from disk alone (the fixture path is not needed any more): same ids, same predictions.
        string[] texts = ["cheap pills click offer free money.", "kernel patch review meeting thanks build.", mails[3].Text];
        var before = classifier.Predictor.Predict(texts);
        ClassifierArtifact artifact = ClassifierArtifact.Open(classifier.Artifact.Folder);
        Assert.True(artifact.Tokenization.IsSameAs(task.Tokenization));
        Assert.Equal(Path.Combine(classifier.Artifact.Folder, "spm.model"), artifact.Tokenization.SubwordModelPath);
        Assert.Equal(task.Document(3), artifact.Tokenization.Numericalize(mails[3].Text, artifact.Vocabulary));
        using var model = artifact.LoadModel();
        var after = artifact.CreatePredictor(model).Predict(texts);
        Assert.Equal(before.Select(p => p.ClassName), after.Select(p => p.ClassName));
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(before[i].Probabilities[0], after[i].Probabilities[0], 5);
        }

        // Generation reloads the language model's tokenizer too: the prompt round-trips and the output is text, not pieces.
        LanguageModelArtifact lm = LanguageModelArtifact.Open(tuned.Folder);
        int[] prompt = lm.Tokenization.Numericalize(mails[0].Text, lm.Vocabulary);
        Assert.Equal(mails[0].Text, lm.Tokenization.Decode(prompt.Select(id => lm.Vocabulary[id])));
        using var languageModel = lm.LoadModel();
        int[] generated = LanguageModelGenerator.Generate(languageModel, prompt, 6, new GenerationOptions(0.75, Seed: 1));
        string text = lm.Tokenization.Decode(prompt.Concat(generated).Select(id => lm.Vocabulary[id]));
        Assert.StartsWith(mails[0].Text, text, StringComparison.Ordinal);
        Assert.DoesNotContain("▁", text, StringComparison.Ordinal);
        // Specials are words of their own even where xxunk replaced a piece with its boundary mark.
        Assert.Equal("Hi xxunk xxunk", lm.Tokenization.Decode(["▁", "xxbos", "▁", "xxmaj", "▁hi", "xxunk", "xxunk"]));
    }

    [Fact]
    public void Word_and_subword_models_and_corpora_do_not_mix_and_the_error_names_both()
    {
        TorchTestSetup.Use();
        var words = new UlmfitPipeline(Path.Combine(folder, "words"), Micro);
        var unigram = new UlmfitPipeline(Path.Combine(folder, "unigram"), Micro) { SubwordModel = Unigram };
        var bpe = new UlmfitPipeline(Path.Combine(folder, "bpe"), Micro) { SubwordModel = Bpe };
        using TextDataset wordCorpus = words.Tokenize("mails", Mails());
        using TextDataset unigramCorpus = unigram.Tokenize("mails", Mails());
        using TextDataset bpeCorpus = bpe.Tokenize("mails", Mails());
        LanguageModelArtifact Untrained(UlmfitPipeline run, TextDataset corpus)
        {
            using var model = new AwdLstmLanguageModel(corpus.Vocabulary.Count, run.Preset.LanguageModel);
            return LanguageModelArtifact.Save(run.ArtifactFolder("lm"), model, corpus.Vocabulary, corpus.Tokenization, 0);
        }
        LanguageModelArtifact wordModel = Untrained(words, wordCorpus);
        LanguageModelArtifact unigramModel = Untrained(unigram, unigramCorpus);

        // A word-level pretrained model fine-tuned on a subword corpus.
        var error = Assert.Throws<InvalidDataException>(() => unigram.FineTune(wordModel, unigramCorpus, findLearningRate: false));
        Assert.Contains(wordModel.Folder, error.Message, StringComparison.Ordinal);
        Assert.Contains(unigramCorpus.Folder, error.Message, StringComparison.Ordinal);
        Assert.Contains("word tokens", error.Message, StringComparison.Ordinal);
        Assert.Contains("SentencePiece", error.Message, StringComparison.Ordinal);

        // Two different SentencePiece models: both files named (the model's copy and the corpus's copy).
        error = Assert.Throws<InvalidDataException>(() => bpe.FineTune(unigramModel, bpeCorpus, findLearningRate: false));
        Assert.Contains(Path.Combine(unigramModel.Folder, "spm.model"), error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(bpeCorpus.Folder, "spm.model"), error.Message, StringComparison.Ordinal);

        // The classifier's encoder and its corpus.
        error = Assert.Throws<InvalidDataException>(() => words.TrainClassifier(wordCorpus, unigramModel));
        Assert.Contains(unigramModel.Folder, error.Message, StringComparison.Ordinal);
        Assert.Contains(wordCorpus.Folder, error.Message, StringComparison.Ordinal);

        // fastai's pair has no SentencePiece model: its vocabulary (word-level here) must fit the corpus.
        error = Assert.Throws<InvalidDataException>(() => unigram.FineTune(Fixture.Checkpoint, unigramCorpus, "from-fastai", findLearningRate: false,
            pretrainedVocabulary: Fixture.Vocabulary));
        Assert.Contains(Fixture.Vocabulary, error.Message, StringComparison.Ordinal);
        Assert.Contains(unigramCorpus.Folder, error.Message, StringComparison.Ordinal);

        // A model folder whose spm.model was replaced no longer opens.
        File.Copy(Bpe, Path.Combine(unigramModel.Folder, "spm.model"), overwrite: true);
        error = Assert.Throws<InvalidDataException>(() => LanguageModelArtifact.Open(unigramModel.Folder));
        Assert.Contains(Path.Combine(unigramModel.Folder, "model.json"), error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => temporary.Dispose();
}
