using FastText.Engine.Data;
using FastText.Engine.Data.Augmentation;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Recipes;
using FastText.Engine.Recipes.Experiments;
using FastText.Engine.Tests.Pretrained;
using FastText.Engine.Tests.Training;
using static TorchSharp.torch;
using FastText.Engine.Text;
using TorchSharp;

namespace FastText.Engine.Tests.Recipes;

[Collection(SequentialTorchCollection.Name)]
public sealed class AugmentationRecipeTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    public void Dispose() => temporary.Dispose();

    private sealed class LogLines : IProgressSink
    {
        public List<string> Lines { get; } = [];

        public IProgressTask Start(string description, long total, string unit) => NullProgress.Instance.Start(description, total, unit);

        public void Log(string line) => Lines.Add(line);
    }

    private static string[] Words(TextDataset data, int[] ids) => ids.Select(i => data.Vocabulary[i]).ToArray();

    [Fact]
    public void Every_augmentation_trains_the_classifier_and_the_sample_efficiency_table_gets_an_arm_each()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var log = new LogLines();
        var run = new UlmfitPipeline(temporary.Path, PipelineTests.Micro, log);
        using PipelineTests.EasyRecipe recipe = PipelineTests.TrainEasyRecipe(run);
        TextDataset task = recipe.Task;

        // A deterministic stand-in for a translation model: sed rewrites one word of every text it is sent.
        var command = new AugmentationSettings(AugmentationKind.Command, Command: "sed 's/money/offer/g'");
        using ClassifierResult paraphrased = run.TrainClassifier(task, recipe.Tuned, "paraphrased", save: false, augmentation: command);
        Assert.True(paraphrased.Evaluation.Metrics.Accuracy >= 0.8, $"accuracy {paraphrased.Evaluation.Metrics.Accuracy}");
        Assert.Contains(log.Lines, l => l.StartsWith($"augmentation: paraphrases from 'sed 's/money/offer/g'' ({task.Training.Count} of {task.Training.Count} documents", StringComparison.Ordinal));

        var points = SampleEfficiencyExperiment.Run(run, task, recipe.Tuned, [40], augmentations:
            [new AugmentationSettings(AugmentationKind.Eda, Share: 0.8, EdaAlpha: 0.2), new AugmentationSettings(AugmentationKind.Contextual, ContextualRate: 0.3)]);
        Assert.Equal(["ULMFiT", "ULMFiT + EDA", "ULMFiT + contextual", "from scratch", "TF-IDF + linear SVM", "fastText-style (hashed bigrams)", "ensemble of ULMFiT and fastText-style"],
            points.Select(p => p.Arm));
        // The ensemble arm trains nothing of its own: its time is its two members'.
        Assert.Equal(points[0].Seconds + points[5].Seconds, points[6].Seconds, 9);
        Assert.Contains(log.Lines, l => l.StartsWith("augmentation: EDA alpha 0.2 (", StringComparison.Ordinal) && l.Contains("share 0.8", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.StartsWith("augmentation: contextual (language model) rate 0.3", StringComparison.Ordinal));
        Assert.Equal(2, log.Lines.Count(l => l.StartsWith("augmentation: ", StringComparison.Ordinal)) - 1);   // the two arms (and the command run above) only
        Assert.All(points.Take(3), p => Assert.True(p.Accuracy >= 0.7, $"{p.Arm}: {p.Accuracy}"));
        Assert.Contains("ULMFiT + EDA", run.Report.ToMarkdown(), StringComparison.Ordinal);
        // Comparison runs validate once, at the end: their epoch tables show dashes, not NaN.
        string report = run.Report.ToMarkdown();
        Assert.DoesNotContain("NaN", report, StringComparison.Ordinal);
        Assert.Contains("| – | – |", report, StringComparison.Ordinal);
    }

    [Fact]
    public void The_paraphrase_command_gets_every_training_text_and_its_answers_are_tokenized_like_the_corpus()
    {
        var (_, mails) = PipelineTests.EasyTexts();
        using TextDataset task = TextDataset.Create(mails, temporary.Combine("mails"), PipelineTests.Micro.Data(labelled: true));
        int[] training = task.Training.Take(30).ToArray();
        ParaphraseAugmenter augmenter = ExternalParaphrases.Run("sed 's/money/offer/g'", task, training, backwards: false);
        Assert.Equal(30, augmenter.Documents);
        int rewritten = 0;
        foreach (int document in training)
        {
            var output = new List<int>();
            var random = new DeterministicRandom(0, 0, 0);
            augmenter.Augment(document, task.Document(document), output, ref random);
            // What the command was sent is the document decoded; what came back is tokenized as the corpus was.
            string sent = TokenDecoder.Decode(task.Document(document), task.Vocabulary);
            Assert.Equal(Words(task, task.Numericalize(sent.Replace("money", "offer", StringComparison.Ordinal))), Words(task, output.ToArray()));
            rewritten += sent.Contains("money", StringComparison.Ordinal) ? 1 : 0;
        }
        Assert.True(rewritten > 0);

        // Backwards: the same paraphrase, in the backwards model's order.
        ParaphraseAugmenter backwards = ExternalParaphrases.Run("sed 's/money/offer/g'", task, training, backwards: true);
        var reversed = new List<int>();
        var generator = new DeterministicRandom(0, 0, 0);
        backwards.Augment(training[0], [], reversed, ref generator);
        string first = TokenDecoder.Decode(task.Document(training[0]), task.Vocabulary).Replace("money", "offer", StringComparison.Ordinal);
        Assert.Equal(Words(task, task.Numericalize(first)).Reverse(), Words(task, reversed.ToArray()));
    }

    [Fact]
    public void A_failing_or_garbled_paraphrase_command_is_an_error_naming_it()
    {
        var (_, mails) = PipelineTests.EasyTexts();
        using TextDataset task = TextDataset.Create(mails, temporary.Combine("mails"), PipelineTests.Micro.Data(labelled: true));
        int[] training = task.Training.Take(5).ToArray();
        var failed = Assert.Throws<ArgumentException>(() => ExternalParaphrases.Run("cat > /dev/null; echo no model here >&2; exit 3", task, training, false));
        Assert.Contains("exited with code 3: no model here", failed.Message, StringComparison.Ordinal);
        var garbled = Assert.Throws<InvalidDataException>(() => ExternalParaphrases.Run("cat > /dev/null; echo '{\"id\": " + training[0] + ", \"text\": \"ok\"}'; echo nonsense", task, training, false));
        Assert.Contains("output line 2", garbled.Message, StringComparison.Ordinal);
        var stranger = Assert.Throws<InvalidDataException>(() => ExternalParaphrases.Run("cat > /dev/null; echo '{\"id\": 99999, \"text\": \"hello\"}'", task, training, false));
        Assert.Contains("the id of a document it was sent", stranger.Message, StringComparison.Ordinal);
        foreach (string line in new[] { "{\"text\": \"no id\"}", "{\"id\": " + training[0] + ", \"text\": \"\"}" })
        {
            var missing = Assert.Throws<InvalidDataException>(() => ExternalParaphrases.Run($"cat > /dev/null; echo '{line}'", task, training, false));
            Assert.Contains("output line 1", missing.Message, StringComparison.Ordinal);
        }
        // A command that fails after printing garbage is reported with its exit code and stderr too.
        var both = Assert.Throws<InvalidDataException>(() => ExternalParaphrases.Run("cat > /dev/null; echo 'Traceback'; echo 'no module' >&2; exit 2", task, training, false));
        Assert.Contains("exited with code 2: no module", both.Message, StringComparison.Ordinal);
        // Cancelling stops (kills) a command that never answers.
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => ExternalParaphrases.Run("sleep 30", task, training, false, cancel.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        // A command that answers for some documents only leaves the others as they are.
        ParaphraseAugmenter partial = ExternalParaphrases.Run("cat > /dev/null; echo '{\"id\": " + training[1] + ", \"text\": \"free money\"}'", task, training, false);
        Assert.Equal(1, partial.Documents);
    }

    [Fact]
    public void A_subword_corpus_is_sent_to_the_command_as_text_not_as_pieces()
    {
        string model = Fixture.File(Path.Combine("sentencepiece", "unigram.model"));
        var (_, mails) = PipelineTests.EasyTexts();
        using TextDataset task = TextDataset.Create(mails, temporary.Combine("mails"), PipelineTests.Micro.Data(labelled: true) with { SubwordModel = model });
        Assert.True(task.Tokenization.IsSubword);
        string sent = temporary.Combine("sent.jsonl");
        ParaphraseAugmenter identity = ExternalParaphrases.Run($"tee {sent}", task, task.Training.Take(10).ToArray(), backwards: false);
        string[] lines = File.ReadAllLines(sent);
        Assert.Equal(10, lines.Length);
        Assert.All(lines, l => Assert.DoesNotContain("▁", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("meeting", StringComparison.Ordinal) || l.Contains("money", StringComparison.Ordinal));
        Assert.Equal(10, identity.Documents);
        var eda = Assert.Throws<ArgumentException>(() => ClassifierAugmentations.Build(new AugmentationSettings(AugmentationKind.Eda), task, task.Corpus,
            task.Training, null, false, 0, NullProgress.Instance));
        Assert.Contains("subword pieces", eda.Message, StringComparison.Ordinal);
    }

    // The micro preset's language model fine-tuned on the easy mails (the general corpus is freed; the mails are the caller's).
    private (UlmfitPipeline Run, TextDataset Task, LanguageModelArtifact Tuned) FineTunedMicroModel()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var run = new UlmfitPipeline(temporary.Path, PipelineTests.Micro);
        var (english, mails) = PipelineTests.EasyTexts();
        TextDataset task = run.Tokenize("mails", mails);
        using TextDataset general = run.Tokenize("general", english);
        return (run, task, run.FineTune(run.Pretrain(general), task, findLearningRate: false));
    }

    [Fact]
    public void Contextual_candidates_follow_the_language_model_position_by_position_across_chunks()
    {
        var (run, task, tuned) = FineTunedMicroModel();
        using TextDataset mails = task;
        using AwdLstmLanguageModel model = tuned.LoadModel();
        // One 300-token document (three of the sampler's 128-token chunks, state carried between them) and a short one.
        bool[] words = WordTokens.Of(task.Vocabulary);
        int[] wordIds = Enumerable.Range(0, task.Vocabulary.Count).Where(i => words[i]).ToArray();
        var random = new Random(3);
        int[] longDocument = [SpecialTokens.BeginningOfStreamId, .. Enumerable.Range(0, 299).Select(_ => random.Next(5) == 0 ? task.Vocabulary.IdOf(".") : wordIds[random.Next(wordIds.Length)])];
        var corpus = new InMemoryTokenCorpus([longDocument, [SpecialTokens.BeginningOfStreamId, wordIds[0], wordIds[1]]]);
        // At a tiny temperature sampling is the argmax over words: the candidates must be the model's own next-word
        // choice given the whole prefix, computed here in one call.
        LanguageModelAugmenter augmenter = LanguageModelAugmenter.Build(model, task.Vocabulary, corpus, [0, 1], int.MaxValue, rate: 1, candidates: 2, temperature: 1e-6);
        int[] expected;
        model.eval();
        using (torch.no_grad())
        {
            model.Reset();
            using var ids = torch.tensor(longDocument.Select(i => (long)i).ToArray(), [1, longDocument.Length]);
            using Tensor logits = model.Decode(model.call(ids).Dropped).squeeze(0);                 // (300, vocab)
            using Tensor mask = torch.tensor(words.Select(w => w ? 0f : float.NegativeInfinity).ToArray());
            expected = logits.add(mask).argmax(1).data<long>().ToArray().Select(i => (int)i).ToArray();
        }
        var output = new List<int>();
        var generator = new DeterministicRandom(0, 0, 0);
        augmenter.Augment(0, longDocument, output, ref generator);
        for (int t = 1; t < longDocument.Length; t++)
        {
            Assert.Equal(words[longDocument[t]] ? expected[t - 1] : longDocument[t], output[t]);
        }
        Assert.Equal(SpecialTokens.BeginningOfStreamId, output[0]);
    }

    [Fact]
    public void Contextual_candidates_are_words_the_language_model_samples_reproducibly()
    {
        var (run, task, tuned) = FineTunedMicroModel();
        using TextDataset mails = task;
        using AwdLstmLanguageModel model = tuned.LoadModel();
        model.train();
        int[] training = task.Training.Take(12).ToArray();
        LanguageModelAugmenter Build(int seed) => LanguageModelAugmenter.Build(model, task.Vocabulary, task.Corpus, training, int.MaxValue, rate: 1, candidates: 4, seed: seed);
        LanguageModelAugmenter first = Build(5), again = Build(5), other = Build(6);
        bool[] words = WordTokens.Of(task.Vocabulary);
        var copies = new List<int[]>();
        foreach (LanguageModelAugmenter augmenter in new[] { first, again, other })
        {
            var all = new List<int>();
            foreach (int document in training)
            {
                int[] text = task.Document(document);
                var output = new List<int>();
                var random = new DeterministicRandom(1, 0, document);
                augmenter.Augment(document, text, output, ref random);
                Assert.Equal(text.Length, output.Count);
                for (int t = 0; t < text.Length; t++)
                {
                    // Every word after the first token is resampled (rate 1) into a word; everything else stays.
                    Assert.True(words[text[t]] && t > 0 ? words[output[t]] : output[t] == text[t], $"position {t}: {task.Vocabulary[text[t]]} → {task.Vocabulary[output[t]]}");
                }
                all.AddRange(output);
            }
            copies.Add(all.ToArray());
        }
        Assert.Equal(copies[0], copies[1]);
        Assert.NotEqual(copies[0], copies[2]);
        Assert.True(model.training, "the model is handed back in the mode it came in");
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelAugmenter.Build(model, task.Vocabulary, task.Corpus, training, int.MaxValue, rate: 0));
        var noModel = Assert.Throws<ArgumentException>(() => run.TrainClassifier(task, null, "scratch", save: false,
            augmentation: new AugmentationSettings(AugmentationKind.Contextual)));
        Assert.Contains("--encoder", noModel.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Augmentation_settings_are_preset_settings_with_clear_errors()
    {
        UlmfitPreset preset = PresetSettings.Apply(UlmfitPreset.Small, "augment", "eda", "--augment");
        preset = PresetSettings.Apply(preset, "eda-alpha", "0.2", "--eda-alpha");
        Assert.Equal(new AugmentationSettings(AugmentationKind.Eda, EdaAlpha: 0.2), preset.Augmentation);
        Assert.Equal("augment eda, eda-alpha 0.2", PresetSettings.Differences(preset));
        Assert.Contains("--augment: 'flip' is not none | eda | contextual | command",
            Assert.Throws<ArgumentException>(() => PresetSettings.Apply(preset, "augment", "flip", "--augment")).Message, StringComparison.Ordinal);
        Assert.Contains("--augment-share 1.5: must be in (0, 1]",
            Assert.Throws<ArgumentException>(() => PresetSettings.Validate(PresetSettings.Apply(preset, "augment-share", "1.5", "--augment-share"))).Message, StringComparison.Ordinal);
        Assert.Contains("--augment command needs --augment-command",
            Assert.Throws<ArgumentException>(() => PresetSettings.Validate(PresetSettings.Apply(preset, "augment", "command", "--augment"))).Message, StringComparison.Ordinal);
    }
}
