using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Recipes;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;
using TorchSharp;

namespace FastText.Engine.Tests.Recipes;

[Collection(SequentialTorchCollection.Name)]
public sealed class BackwardsTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    [Fact]
    public void A_backwards_recipe_learns_the_easy_task_saves_backwards_artifacts_and_ensembles_with_a_forward_classifier()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var run = new UlmfitPipeline(folder, PipelineTests.Micro) { Backwards = true };
        using PipelineTests.EasyRecipe recipe = PipelineTests.TrainEasyRecipe(run);
        var (task, pretrained, tuned, backwards, mails) = (recipe.Task, recipe.Pretrained, recipe.Tuned, recipe.Classifier, recipe.Mails);

        Assert.True(backwards.Evaluation.Metrics.Accuracy >= 0.8, $"accuracy {backwards.Evaluation.Metrics.Accuracy}\n{run.Report.ToMarkdown()}");
        Assert.True(pretrained.Backwards && tuned.Backwards && backwards.Artifact!.Backwards);
        Assert.True(backwards.Predictor.Backwards);
        Assert.Contains("| direction | backwards", run.Report.ToMarkdown(), StringComparison.Ordinal);
        Assert.Contains("\"Backwards\": true", File.ReadAllText(Path.Combine(tuned.Folder, "model.json")), StringComparison.Ordinal);

        // The saved classifier reloads as backwards and predicts exactly what the trained one did.
        ClassifierArtifact artifact = ClassifierArtifact.Open(backwards.Artifact.Folder);
        Assert.True(artifact.Backwards);
        using TextClassifier model = artifact.LoadModel();
        ClassifierPredictor reloaded = artifact.CreatePredictor(model);
        string[] texts = ["cheap pills click offer free money.", "kernel patch review meeting thanks build.", mails[3].Text, mails[10].Text];
        var before = backwards.Predictor.Predict(texts);
        var after = reloaded.Predict(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(before[i].ClassName, after[i].ClassName);
            Assert.Equal(before[i].Probabilities[0], after[i].Probabilities[0], 5);
        }
        ClassifierEvaluation again = reloaded.Evaluate(task.Subset(task.Validation));
        Assert.Equal(backwards.Evaluation.Metrics.Accuracy, again.Metrics.Accuracy);
        // The predictor does reverse: the same model fed the texts forwards answers otherwise.
        var unreversed = new ClassifierPredictor(model, artifact.Card.ClassNames!, task.Numericalize).Predict(texts);
        Assert.Contains(Enumerable.Range(0, texts.Length), i => Math.Abs(unreversed[i].Probabilities[0] - after[i].Probabilities[0]) > 1e-4);

        // fwd + bwd (ULMFiT's ensemble): the ensemble's probabilities are the members' means.
        var forwardRun = new UlmfitPipeline(Path.Combine(folder, "forward"), PipelineTests.Micro);
        using ClassifierResult forward = forwardRun.TrainClassifier(task, null, "forward");
        Assert.False(forward.Artifact!.Backwards);
        Assert.False(forward.Predictor.Backwards);
        var ensemble = new ClassifierEnsemble([forward.Predictor, reloaded]);
        EnsembleEvaluation evaluation = ensemble.Evaluate(task.Subset(task.Validation));
        Assert.Equal(forward.Evaluation.Metrics.Accuracy, evaluation.Members[0].Metrics.Accuracy);
        Assert.Equal(backwards.Evaluation.Metrics.Accuracy, evaluation.Members[1].Metrics.Accuracy);
        for (int d = 0; d < task.Validation.Count; d++)
        {
            for (int c = 0; c < 2; c++)
            {
                float mean = (forward.Evaluation.Probabilities[d][c] + backwards.Evaluation.Probabilities[d][c]) / 2;
                Assert.Equal(mean, evaluation.Ensemble.Probabilities[d][c], 5);
            }
        }
        Assert.True(evaluation.Ensemble.Metrics.Accuracy >= 0.8);
        var predicted = ensemble.Predict(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(before[i].Probabilities[1], predicted[i].Members[1].Probabilities[1], 5);
            Assert.Equal((predicted[i].Members[0].Probabilities[1] + predicted[i].Members[1].Probabilities[1]) / 2, predicted[i].Ensemble.Probabilities[1], 5);
            Assert.Equal(predicted[i].Ensemble.Probabilities[1] > predicted[i].Ensemble.Probabilities[0] ? 1 : 0, predicted[i].Ensemble.ClassIndex);
        }
    }

    [Fact]
    public void A_backwards_classifier_learns_word_order_reversed()
    {
        // The class is which of two words comes first, so a model only answers right when it reads texts the way it was
        // trained: fed the texts forwards, the backwards classifier sees every class's order swapped.
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var random = new Random(5);
        string[] fillers = ["note", "item", "line"];
        string Fill() => string.Join(' ', Enumerable.Range(0, 1 + random.Next(4)).Select(_ => fillers[random.Next(fillers.Length)]));
        var texts = Enumerable.Range(0, 160).Select(i => i % 2 == 0
            ? new LabelledText($"alpha {Fill()} beta {Fill()}.", "alpha-first", $"a{i}")
            : new LabelledText($"beta {Fill()} alpha {Fill()}.", "beta-first", $"b{i}")).ToList();
        var run = new UlmfitPipeline(folder, PipelineTests.Micro) { Backwards = true };
        using TextDataset task = run.Tokenize("order", texts);
        using ClassifierResult result = run.TrainClassifier(task, null);
        ITokenCorpus validation = task.Subset(task.Validation);
        Assert.True(result.Evaluation.Metrics.Accuracy >= 0.9, $"accuracy {result.Evaluation.Metrics.Accuracy}\n{run.Report.ToMarkdown()}");
        double forwards = new ClassifierPredictor(result.Model, task.ClassNames, task.Numericalize).Evaluate(validation).Metrics.Accuracy;
        Assert.True(forwards <= 0.5, $"read forwards, the backwards classifier still scores {forwards}");
    }

    [Fact]
    public void Models_of_the_other_direction_are_refused_as_a_start_naming_both()
    {
        TorchTestSetup.Use();
        var (english, mails) = PipelineTests.EasyTexts();
        var backwardsRun = new UlmfitPipeline(Path.Combine(folder, "bwd"), PipelineTests.Micro) { Backwards = true };
        var forwardRun = new UlmfitPipeline(Path.Combine(folder, "fwd"), PipelineTests.Micro);
        using TextDataset task = forwardRun.Tokenize("mails", mails);
        LanguageModelArtifact Untrained(string name, bool backwards) => LanguageModelArtifact.Save(Path.Combine(folder, name),
            new AwdLstmLanguageModel(task.Vocabulary.Count, forwardRun.Preset.LanguageModel), task.Vocabulary, task.Tokenization, 0, backwards);
        LanguageModelArtifact forwardLm = Untrained("forward-lm", backwards: false);
        LanguageModelArtifact backwardsLm = Untrained("backwards-lm", backwards: true);

        var error = Assert.Throws<InvalidDataException>(() => backwardsRun.FineTune(forwardLm, task, findLearningRate: false));
        Assert.Contains("Direction mismatch", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{forwardLm.Folder}' reads text forwards", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{backwardsRun.RunFolder}') reads it backwards", error.Message, StringComparison.Ordinal);
        // Through the path overload (a model folder) too.
        Assert.Throws<InvalidDataException>(() => backwardsRun.FineTune(forwardLm.Folder, task, findLearningRate: false));

        error = Assert.Throws<InvalidDataException>(() => forwardRun.TrainClassifier(task, backwardsLm));
        Assert.Contains($"'{backwardsLm.Folder}' reads text backwards", error.Message, StringComparison.Ordinal);
        Assert.Contains("reads it forwards", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => backwardsRun.TrainClassifier(task, forwardLm));
        Assert.False(Directory.Exists(Path.Combine(backwardsRun.RunFolder, "models")), "nothing was trained");
    }

    [Fact]
    public void Resuming_never_reuses_a_stage_of_the_other_direction()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var (english, _) = PipelineTests.EasyTexts();
        string run = Path.Combine(folder, "run");
        using TextDataset general = new UlmfitPipeline(run, PipelineTests.Micro).Tokenize("general", english);

        LanguageModelArtifact forward = new UlmfitPipeline(run, PipelineTests.Micro) { Resume = true }.Pretrain(general);
        Assert.False(forward.Backwards);
        var backwardsRun = new UlmfitPipeline(run, PipelineTests.Micro) { Resume = true, Backwards = true };
        LanguageModelArtifact backwards = backwardsRun.Pretrain(general);
        Assert.True(backwards.Backwards);
        Assert.Single(backwardsRun.Report.Epochs);                                 // trained, not reused
        Assert.DoesNotContain("resumed", backwardsRun.Report.ToMarkdown(), StringComparison.Ordinal);
        var again = new UlmfitPipeline(run, PipelineTests.Micro) { Resume = true, Backwards = true };
        Assert.True(again.Pretrain(general).Backwards);
        Assert.Empty(again.Report.Epochs);                                         // same direction: reused
        Assert.Contains("resumed pretrained", again.Report.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public void Model_cards_record_the_direction_and_cards_without_it_read_as_forwards()
    {
        TorchTestSetup.Use();
        var vocabulary = Vocabulary.FromTokens([.. SpecialTokens.All, "hello", "world"]);
        AwdLstmConfig config = new UlmfitPipeline(Path.Combine(folder, "sizes"), PipelineTests.Micro).Preset.LanguageModel;
        using var lm = new AwdLstmLanguageModel(vocabulary.Count, config);
        string lmFolder = Path.Combine(folder, "lm");
        Assert.True(LanguageModelArtifact.Save(lmFolder, lm, vocabulary, Tokenization.Words, 0, backwards: true).Backwards);
        Assert.True(LanguageModelArtifact.Open(lmFolder).Backwards);
        Assert.False(LanguageModelArtifact.Open(LanguageModelArtifact.Save(Path.Combine(folder, "lm-fwd"), lm, vocabulary, Tokenization.Words, 0).Folder).Backwards);

        using TextClassifier classifier = TextClassifier.Create(vocabulary.Count, config, 2, 0.5, 8);
        string classifierFolder = Path.Combine(folder, "classifier");
        ClassifierArtifact.Save(classifierFolder, classifier, config, vocabulary, Tokenization.Words, ["a", "b"], 0.5, 0, backwards: true);
        ClassifierArtifact saved = ClassifierArtifact.Open(classifierFolder);
        Assert.True(saved.Backwards);
        Assert.Equal(["a", "b"], saved.Card.ClassNames);
        using (TextClassifier loaded = saved.LoadModel())
        {
            Assert.True(saved.CreatePredictor(loaded).Backwards);
        }

        // A model.json from before the field: forwards.
        foreach (string model in new[] { lmFolder, classifierFolder })
        {
            string card = Path.Combine(model, "model.json");
            string json = File.ReadAllText(card);
            Assert.Contains("\"Backwards\": true", json, StringComparison.Ordinal);
            File.WriteAllText(card, json.Replace(",\n  \"Backwards\": true", "", StringComparison.Ordinal).Replace(",\r\n  \"Backwards\": true", "", StringComparison.Ordinal));
            Assert.DoesNotContain("Backwards", File.ReadAllText(card), StringComparison.Ordinal);
        }
        Assert.False(LanguageModelArtifact.Open(lmFolder).Backwards);
        ClassifierArtifact old = ClassifierArtifact.Open(classifierFolder);
        Assert.False(old.Backwards);
        using TextClassifier oldModel = old.LoadModel();
        Assert.False(old.CreatePredictor(oldModel).Backwards);
    }

    [Fact]
    public void A_backwards_language_model_generates_what_precedes_the_prompt()
    {
        TorchTestSetup.Use();
        torch.manual_seed(3);
        var vocabulary = Vocabulary.FromTokens([.. SpecialTokens.All, "the", "meeting", "patch", "review", "."]);
        AwdLstmConfig config = new UlmfitPipeline(Path.Combine(folder, "sizes"), PipelineTests.Micro).Preset.LanguageModel;
        using var model = new AwdLstmLanguageModel(vocabulary.Count, config);
        LanguageModelArtifact backwards = LanguageModelArtifact.Save(Path.Combine(folder, "bwd"), model, vocabulary, Tokenization.Words, 0, backwards: true);
        LanguageModelArtifact forward = LanguageModelArtifact.Save(Path.Combine(folder, "fwd"), model, vocabulary, Tokenization.Words, 0);
        var options = new GenerationOptions(Seed: 5);
        int[] prompt = Tokenization.Words.Numericalize("the patch review", vocabulary);
        Assert.Equal(SpecialTokens.BeginningOfStreamId, prompt[0]);

        int[] text = backwards.Generate(model, "the patch review", 6, options);
        // The sampled tokens come first, in reading order; the prompt (without the tokenizer's xxbos) ends the text.
        Assert.Equal(6 + prompt.Length - 1, text.Length);
        Assert.Equal(prompt[1..], text[6..]);
        int[] sampled = LanguageModelGenerator.Generate(model, prompt[1..].Reverse().ToArray(), 6, options);
        Assert.Equal(sampled.Reverse(), text[..6]);

        int[] continued = forward.Generate(model, "the patch review", 6, options);
        Assert.Equal(prompt, continued[..prompt.Length]);
        Assert.Equal(LanguageModelGenerator.Generate(model, prompt, 6, options), continued[prompt.Length..]);
    }

    [Fact]
    public void An_ensemble_averages_probabilities_and_refuses_other_classes()
    {
        TorchTestSetup.Use();
        AwdLstmConfig config = new UlmfitPipeline(Path.Combine(folder, "sizes"), PipelineTests.Micro).Preset.LanguageModel;
        torch.manual_seed(1);
        using TextClassifier first = TextClassifier.Create(20, config, 3, 0.5, 8);
        torch.manual_seed(2);
        using TextClassifier second = TextClassifier.Create(20, config, 3, 0.5, 8);
        string[] classes = ["a", "b", "c"];
        static int[] Ids(string text) => text.Select(c => 9 + (c % 11)).ToArray();
        var members = new[] { new ClassifierPredictor(first, classes, Ids), new ClassifierPredictor(second, classes, Ids) { Backwards = true } };
        var ensemble = new ClassifierEnsemble(members);
        string[] texts = ["abcabcabcab", "zz", "hello world, hello"];
        var result = ensemble.Predict(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            var one = members[0].Predict(texts[i]);
            var two = members[1].Predict(texts[i]);
            Assert.NotEqual(one.Probabilities[0], two.Probabilities[0]);
            for (int c = 0; c < 3; c++)
            {
                Assert.Equal((one.Probabilities[c] + two.Probabilities[c]) / 2, result[i].Ensemble.Probabilities[c], 6);
            }
            Assert.Equal(result[i].Ensemble.Probabilities.ToList().IndexOf(result[i].Ensemble.Probabilities.Max()), result[i].Ensemble.ClassIndex);
            Assert.Equal(classes[result[i].Ensemble.ClassIndex], result[i].Ensemble.ClassName);
        }

        var reordered = new ClassifierPredictor(second, ["a", "c", "b"], Ids);
        var error = Assert.Throws<ArgumentException>(() => new ClassifierEnsemble([members[0], reordered]));
        Assert.Contains("[a, b, c]", error.Message, StringComparison.Ordinal);
        Assert.Contains("[a, c, b]", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ClassifierEnsemble([]));
    }

    public void Dispose() => temporary.Dispose();
}
