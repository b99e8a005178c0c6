using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Recipes.Experiments;
using FastText.Engine.Recipes;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;
using TorchSharp;

namespace FastText.Engine.Tests.Recipes;

public sealed class PipelineTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    internal static readonly UlmfitPreset Micro = UlmfitPreset.Tiny with
    {
        Name = "micro",
        Model = UlmfitPreset.Tiny.Model with { EmbeddingSize = 32, HiddenSize = 32 },
        MinFrequency = 1,
        LanguageModelBatchSize = 4,
        LanguageModelSequenceLength = 8,
        ClassifierBatchSize = 8,
        ClassifierSequenceLength = 8,
        ClassifierDropMultiplier = 0.1,
        ClassifierStages = [(-1, 2, 5e-2), (0, 6, 3e-2)],
        // fastai's default, not the small preset's 0.1: with clipping the micro classifier saturates on the easy task,
        // and the tests that compare its probabilities need some left (GradientClipSettingTests and the tiny-preset
        // DemoTests run the clipped recipe).
        GradientClip = 0,
    };

    [Fact]
    public void The_whole_recipe_runs_saves_reloadable_artifacts_and_learns_an_easy_task()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var run = new UlmfitPipeline(folder, Micro);
        using EasyRecipe recipe = TrainEasyRecipe(run);
        var (task, tuned, classifier, mails) = (recipe.Task, recipe.Tuned, recipe.Classifier, recipe.Mails);
        string report = run.SaveReport();

        Assert.True(classifier.Evaluation.Metrics.Accuracy >= 0.8, $"accuracy {classifier.Evaluation.Metrics.Accuracy}\n{run.Report.ToMarkdown()}");
        Assert.Equal(["pretrain", "fine-tune · freeze() · lr 0.02", "fine-tune · unfreeze() · lr 0.01", "classifier · freeze_to(-1) · lr 0.05", "classifier · unfreeze() · lr slice(0.0006565, 0.03)"],
            run.Report.Epochs.Select(e => e.Stage).Distinct());
        Assert.Equal(1 + 1 + 1 + 2 + 6, run.Report.Epochs.Count); // pretrain 1, fine-tune frozen 1 + unfrozen 1, classifier 2 + 6
        Assert.Contains("perplexity", File.ReadAllText(report), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(folder, "plots", "losses-lm.png")));
        Assert.True(File.Exists(Path.Combine(folder, "plots", "losses-classifier.png")));

        // Every artifact reloads: corpus, vocabulary, language model, classifier (same predictions).
        using TextDataset reloaded = TextDataset.Load(Path.Combine(folder, "corpus", "mails"));
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
    public void The_whole_recipe_runs_in_bf16_and_saves_fp32_artifacts()
    {
        TorchTestSetup.Use();
        torch.manual_seed(0);
        var run = new UlmfitPipeline(folder, Micro with { Precision = FastText.Engine.Models.ComputePrecision.BFloat16 });
        using EasyRecipe recipe = TrainEasyRecipe(run);
        var (tuned, classifier) = (recipe.Tuned, recipe.Classifier);

        Assert.True(classifier.Evaluation.Metrics.Accuracy >= 0.8, $"accuracy {classifier.Evaluation.Metrics.Accuracy}\n{run.Report.ToMarkdown()}");
        var fineTuning = run.Report.Epochs.Where(e => e.Stage.StartsWith("fine-tune", StringComparison.Ordinal)).ToList();
        Assert.True(fineTuning[^1].ValidLoss < fineTuning[0].ValidLoss, "the bf16 language model learns");
        Assert.Contains("| precision | bf16 matrix products", run.Report.ToMarkdown(), StringComparison.Ordinal);
        Assert.Equal(ComputePrecision.BFloat16, classifier.Model.Precision);
        Assert.Equal(torch.ScalarType.BFloat16, classifier.Model.AwdLstmEncoder.ComputeType);
        using var lm = LanguageModelArtifact.Open(tuned.Folder).LoadModel();
        Assert.All(lm.parameters(), p => Assert.Equal(torch.ScalarType.Float32, p.dtype));
    }

    /// <summary>
    /// The whole recipe on <see cref="EasyTexts"/>: tokenize both sets, pretrain, fine-tune (no learning-rate finder),
    /// train the classifier — in <paramref name="run"/>'s settings (preset, precision, direction).
    /// </summary>
    internal static EasyRecipe TrainEasyRecipe(UlmfitPipeline run)
    {
        var (english, mails) = EasyTexts();
        TextDataset general = run.Tokenize("general", english);
        TextDataset task = run.Tokenize("mails", mails);
        LanguageModelArtifact pretrained = run.Pretrain(general);
        LanguageModelArtifact tuned = run.FineTune(pretrained, task, findLearningRate: false);
        return new EasyRecipe(general, task, pretrained, tuned, run.TrainClassifier(task, tuned), mails);
    }

    /// <summary>What <see cref="TrainEasyRecipe"/> made; disposing it frees the corpora and the classifier.</summary>
    internal sealed record EasyRecipe(TextDataset General, TextDataset Task, LanguageModelArtifact Pretrained, LanguageModelArtifact Tuned,
        ClassifierResult Classifier, List<LabelledText> Mails) : IDisposable
    {
        public void Dispose()
        {
            Classifier.Dispose();
            Task.Dispose();
            General.Dispose();
        }
    }

    /// <summary>An unlabelled "general English" set and 120 labelled mails whose class is obvious from their words.</summary>
    internal static (List<LabelledText> English, List<LabelledText> Mails) EasyTexts()
    {
        var random = new Random(1);
        string[] spamWords = ["cheap", "pills", "winner", "money", "free", "click", "offer"];
        string[] hamWords = ["meeting", "patch", "kernel", "review", "build", "thanks", "schedule"];
        string Sentence(string[] words) => string.Join(' ', Enumerable.Range(0, 4 + random.Next(12)).Select(_ => words[random.Next(words.Length)])) + ".";
        var english = Enumerable.Range(0, 20).Select(i => new LabelledText(Sentence(i % 2 == 0 ? spamWords : hamWords) + " " + Sentence(hamWords), null, $"doc{i}")).ToList();
        var mails = Enumerable.Range(0, 120).Select(i => i % 2 == 0
            ? new LabelledText(Sentence(spamWords), "spam", $"spam{i}")
            : new LabelledText(Sentence(hamWords), "ham", $"ham{i}")).ToList();
        return (english, mails);
    }

    [Fact]
    public void Fine_tuning_on_all_text_splits_every_document_once_with_a_seeded_held_out_share()
    {
        var (training, validation) = UlmfitPipeline.SplitAllText(200, 0.1, seed: 42);
        Assert.Equal(20, validation.Count);
        Assert.Equal(Enumerable.Range(0, 200), training.Concat(validation).Order());
        Assert.Equal(training.Order(), training);
        var again = UlmfitPipeline.SplitAllText(200, 0.1, seed: 42);
        Assert.Equal(validation, again.Validation);
        Assert.NotEqual(validation, UlmfitPipeline.SplitAllText(200, 0.1, seed: 7).Validation);
        Assert.NotEqual(Enumerable.Range(180, 20), validation); // shuffled, not the corpus's tail

        TorchTestSetup.Use();
        torch.manual_seed(0);
        var run = new UlmfitPipeline(folder, Micro with { FineTuneOnAllText = true, FineTuneEpochs = 1 });
        var texts = Enumerable.Range(0, 40).Select(i => new LabelledText($"the meeting about patch {i % 7} moved to thursday.", i % 2 == 0 ? "ham" : "spam", $"m{i}")).ToList();
        using TextDataset general = run.Tokenize("general", texts.Select(t => t with { ClassName = null }).ToList());
        using TextDataset task = run.Tokenize("mails", texts);
        LanguageModelArtifact tuned = run.FineTune(run.Pretrain(general), task, findLearningRate: false);
        Assert.True(File.Exists(tuned.EncoderPath));
        string setting = run.Report.ToMarkdown();
        Assert.Contains("| fine-tuning text | all 40 documents' text", setting, StringComparison.Ordinal);
        Assert.Contains("36 train / 4 LM-validation docs", setting, StringComparison.Ordinal);

        // The sample-efficiency ablation: the LM arm trained like the scratch arm (one unfrozen cycle, same epochs and rate).
        using ClassifierResult ablation = run.TrainClassifier(task, tuned, "ablation", save: false, epochScale: 2, gradualUnfreezing: false);
        Assert.Equal(["ablation · unfrozen, one cycle · lr 0.0125"], ablation.Epochs.Select(e => e.Stage).Distinct());
        Assert.Equal((2 + 6) * 2, ablation.Epochs.Count);

        // --clas-lr-factor 1: gradual unfreezing with one rate for every layer group (the default slices it by 2.6⁴).
        var flatRun = new UlmfitPipeline(folder, Micro with { ClassifierDiscriminativeFactor = 1, ClassifierStages = [(-1, 1, 5e-2), (0, 1, 3e-2)] });
        using ClassifierResult flat = flatRun.TrainClassifier(task, tuned, "flat", save: false);
        Assert.Equal(["flat · freeze_to(-1) · lr 0.05", "flat · unfreeze() · lr slice(0.03, 0.03)"], flat.Epochs.Select(e => e.Stage).Distinct());
    }

    [Fact]
    public void Batching_comparison_reports_both_encoder_modes_with_thread_count_and_what_random_means()
    {
        var comparison = new BatchingComparison(
        [
            new(ClassifierOrder.Sorted, false, 10, 0.03, 100), new(ClassifierOrder.Random, false, 11, 0.5, 180),
            new(ClassifierOrder.Sorted, true, 10.5, 0.03, 95), new(ClassifierOrder.Random, true, 21, 0.5, 90),
        ]) { Threads = 2 };
        string table = comparison.ToMarkdown();
        Assert.Equal(1.1, comparison.Speedup(feedEveryRow: false), 9);
        Assert.Equal(2.0, comparison.Speedup(feedEveryRow: true), 9);
        Assert.Contains("Speed-up of bucketing, started rows fed: **1.10×** (target ≥ 1.5×). Speed-up of bucketing, every row fed: **2.00×** (target ≥ 1.5×). 2 torch thread(s).", table, StringComparison.Ordinal);
        Assert.Contains("| random | every row (fastai v1) | 21.0 s | 50.0% | 90 |", table, StringComparison.Ordinal);
        Assert.Contains("Random = the same loader", table, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => new BatchingComparison([comparison.Epochs[0]]).Speedup(feedEveryRow: false));
    }

    [Fact]
    public void Sample_efficiency_table_gives_every_arm_means_per_seed_accuracies_and_wins_over_seeds()
    {
        SampleEfficiencyPoint P(int examples, string arm, double accuracy, int seed) => new(examples, arm, accuracy, 60) { Seed = seed };
        string table = SampleEfficiencyPoint.ToMarkdown(
        [
            P(100, "ULMFiT", 0.90, 7), P(100, "from scratch", 0.80, 7), P(100, "SVM", 0.95, 7),
            P(100, "ULMFiT", 0.85, 42), P(100, "from scratch", 0.95, 42), P(100, "SVM", 0.80, 42),
            P(300, "ULMFiT", 0.93, 7), P(300, "from scratch", 0.92, 7), P(300, "SVM", 0.90, 7),
            P(300, "ULMFiT", 0.94, 42), P(300, "from scratch", 0.93, 42), P(300, "SVM", 0.91, 42),
        ]);
        Assert.Contains("| labelled mails | ULMFiT: mean (per seed) | from scratch: mean (per seed) | SVM: mean (per seed) | ULMFiT better, of seeds | training time (ULMFiT / from scratch / SVM) |", table, StringComparison.Ordinal);
        Assert.Contains("| 100 | 87.50% (90.0, 85.0) | 87.50% (80.0, 95.0) | 87.50% (95.0, 80.0) | 1 of 2 against from scratch, 1 of 2 against SVM | 01:00 / 01:00 / 01:00 |", table, StringComparison.Ordinal);
        Assert.Contains("| 300 | 93.50% (93.0, 94.0) | 92.50% (92.0, 93.0) | 90.50% (90.0, 91.0) | 2 of 2 against from scratch, 2 of 2 against SVM |", table, StringComparison.Ordinal);
        Assert.Contains("Seeds 7, 42,", table, StringComparison.Ordinal);
        string single = SampleEfficiencyPoint.ToMarkdown([P(100, "ULMFiT", 0.9, 1), P(100, "from scratch", 0.8, 1)]);
        Assert.Contains("| 100 | 90.00% | 80.00% | 01:00 / 01:00 |", single, StringComparison.Ordinal);
        Assert.Equal(5, single.Split('\n')[1].Count(c => c == '|'));     // four columns
    }

    [Fact]
    public void Shipped_mail_sample_reads_with_labels_and_its_own_split()
    {
        string archive = Path.Combine(TestRepository.Root, "samples", "spam-assassin.tar.gz");
        var mails = SampleReaders.Read(new FastText.Engine.Text.TarGzDocumentSource(archive), maxDocuments: 300, seed: 1);
        Assert.Equal(300, mails.Count);
        Assert.Equal(["ham", "spam"], mails.Select(m => m.ClassName).Distinct().Order());
        Assert.Contains(mails, m => m.IsValidation == true);
        Assert.Contains(mails, m => m.IsValidation == false);
        string corpusFolder = Path.Combine(folder, "mails");
        using TextDataset data = TextDataset.Create(mails, corpusFolder, UlmfitPreset.Tiny.Data(labelled: true));
        Assert.Equal(mails.Count(m => m.IsValidation == true), data.Validation.Count);
        Assert.All(Enumerable.Range(0, data.DocumentCount), d => Assert.InRange(data.Document(d).Length, 1, UlmfitPreset.Tiny.MaxTokensPerDocument));
        Assert.Equal(Enumerable.Range(0, data.DocumentCount).Sum(d => (long)data.Document(d).Length), data.Corpus.TokenCount);
        Assert.All(data.Validation, d => Assert.True(mails[d].IsValidation));
        Assert.Equal(mails.Select(m => m.ClassName), Enumerable.Range(0, data.DocumentCount).Select(d => data.ClassNames[data.Corpus.Label(d)]));

        // The cap is applied when reading: the file keeps whole mails, a reload caps them the same way.
        using (var whole = FastText.Engine.Text.NumericalizedCorpus.Open(Path.Combine(corpusFolder, TextDataset.CorpusFileName)))
        {
            Assert.True(whole.TokenCount > data.Corpus.TokenCount, "some shipped mails are longer than the tiny preset's cap");
        }
        using TextDataset reloaded = TextDataset.Load(corpusFolder);
        Assert.Equal(UlmfitPreset.Tiny.MaxTokensPerDocument, reloaded.MaxTokens);
        Assert.Equal(data.Corpus.TokenCount, reloaded.Corpus.TokenCount);
        Assert.Equal(data.Training, reloaded.Training);
        Assert.Equal(data.Document(7), reloaded.Document(7));
        Assert.Equal(data.Document(7), data.Numericalize(mails[7].Text));
    }

    [Fact]
    public void Texts_without_a_split_get_a_seeded_stratified_validation_share_stored_in_the_corpus()
    {
        var texts = Enumerable.Range(0, 50).Select(i => new LabelledText(i % 5 == 0 ? "" : $"Mail number {i} says hello.", i % 5 == 0 ? "spam" : "ham", $"t{i}")).ToList();
        var options = new TextDatasetOptions(MinFrequency: 1, ValidationShare: 0.2, Seed: 3);
        using TextDataset first = TextDataset.Create(texts, Path.Combine(folder, "a"), options);
        using TextDataset second = TextDataset.Create(texts, Path.Combine(folder, "b"), options);
        Assert.Equal(10, first.Validation.Count);
        Assert.Equal(2, first.Validation.Count(d => texts[d].ClassName == "spam")); // 20 % of each class
        Assert.Equal(first.Validation, second.Validation);
        Assert.Equal(40, first.Training.Count);
        Assert.Equal(["xxbos"], first.Document(0).Select(id => first.Vocabulary[id])); // an empty text keeps xxbos
        using var file = FastText.Engine.Text.NumericalizedCorpus.Open(Path.Combine(folder, "a", TextDataset.CorpusFileName));
        Assert.Equal(first.Validation, Enumerable.Range(0, file.DocumentCount).Where(d => file.Split(d) == FastText.Engine.Text.DocumentSplit.Validation));
        Assert.Throws<ArgumentException>(() => TextDataset.Create([texts[1], texts[2] with { ClassName = null }], Path.Combine(folder, "c"), options));
    }

    [Fact]
    public void Decoding_applies_case_and_repeat_rules_to_one_item_only()
    {
        Assert.Equal("Hello WORLD !!!! again again again x",
            TextDecoding.Decode(["xxbos", "xxmaj", "hello", "xxup", "world", "xxrep", "4", "!", "again", "xxwrep", "2", "again", "x"]));
        Assert.Equal("abc xxrep-less", TextDecoding.Decode(["xxrep", "abc", "xxrep-less"]));
    }

    public void Dispose() => temporary.Dispose();
}
