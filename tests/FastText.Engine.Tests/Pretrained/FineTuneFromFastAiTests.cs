using FastText.Cli;
using FastText.Engine.Models;
using FastText.Engine.Models.Pretrained;
using FastText.Engine.Recipes;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;
using TorchSharp;

namespace FastText.Engine.Tests.Pretrained;

/// <summary>
/// <c>fine-tune --pretrained</c> / <c>UlmfitPipeline.FineTune(string, …)</c> on fastai's pair (<c>.pth</c> + <c>.pkl</c>),
/// converted on the fly: the PyTorch-written fixture through the library API, an engine-exported pair through the CLI,
/// and the errors a user meets with the wrong files. Sequential: two seeded fine-tunes are compared bit for bit.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class FineTuneFromFastAiTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public void Dispose() => temporary.Dispose();

    private static string[] NewVocabulary => Fixture.Strings(Fixture.Expected.Value.GetProperty("new_vocab"));

    // The fixture's sizes, and a learning rate so small that fine-tuning leaves the converted weights as they were
    // loaded, so the saved model can be compared with what PyTorch computed for fastai's match_embeds.
    private static UlmfitPreset FixturePreset => UlmfitPreset.Tiny with
    {
        Name = "fixture",
        Model = UlmfitPreset.Tiny.Model with { EmbeddingSize = 8, HiddenSize = 12, Layers = 3 },
        FineTuneFrozenLearningRate = 1e-30,
        FineTuneLearningRate = 1e-30,
    };

    // Lowercase texts over the new vocabulary's words (no xxmaj), enough for tiny-preset batches in both splits.
    private static List<LabelledText> Texts(IReadOnlyList<string> words, int count = 60)
    {
        var random = new Random(5);
        return Enumerable.Range(0, count)
            .Select(i => new LabelledText(string.Join(' ', Enumerable.Range(0, 24).Select(_ => words[random.Next(words.Count)])), null, $"doc{i}"))
            .ToList();
    }

    // fastai's folder layout: the fixture's weights under `weightsFile` and their only .pkl side by side.
    private string FastAiFolder(string name, string weightsFile)
    {
        string pretrained = Path.Combine(folder, name);
        Directory.CreateDirectory(pretrained);
        File.Copy(Fixture.Checkpoint, Path.Combine(pretrained, weightsFile));
        File.Copy(Fixture.Vocabulary, Path.Combine(pretrained, "itos_fixture.pkl"));
        return pretrained;
    }

    // A corpus over the fixture's new vocabulary (texts from its words after the specials).
    private TextDataset NewVocabularyCorpus() => TextDataset.Create(Texts(NewVocabulary[9..]), Path.Combine(folder, "corpus"),
        FixturePreset.Data(labelled: false), Vocabulary.FromTokens(NewVocabulary));

    [Fact]
    public void The_pipeline_fine_tunes_from_the_pytorch_fixture_with_the_vocabulary_found_beside_it()
    {
        TorchTestSetup.Use();
        string pretrained = FastAiFolder("wt", "lstm_fwd.pth");

        var run = new UlmfitPipeline(Path.Combine(folder, "run"), FixturePreset);
        using TextDataset corpus = NewVocabularyCorpus();
        // The folder (fastai's unpacked wt103-fwd layout): its one .pth, and the one .pkl beside it.
        LanguageModelArtifact tuned = run.FineTune(pretrained, corpus, findLearningRate: false);

        Assert.Equal(NewVocabulary, tuned.Vocabulary.Tokens);
        string report = run.Report.ToMarkdown();
        Assert.Contains("lstm_fwd.pth + vocabulary itos_fixture.pkl (16 tokens), converted on the fly", report, StringComparison.Ordinal);
        Assert.Contains("13 tokens from the pretrained model, 4 new", report, StringComparison.Ordinal);

        // The saved fine-tuned model holds fastai's match_embeds rows and bias as PyTorch computed them, and the
        // LSTM weights by name.
        using var model = tuned.LoadModel();
        var expected = Fixture.Expected.Value;
        var state = model.state_dict();
        VocabularyAndMatchingTests.AssertClose(Fixture.Floats(expected.GetProperty("matched_encoder_rows")), Fixture.Values(state["0.encoder.weight"]), 1e-5f);
        VocabularyAndMatchingTests.AssertClose(Fixture.Floats(expected.GetProperty("matched_bias")), Fixture.Values(state["1.decoder.bias"]), 1e-5f);
        using var checkpoint = PyTorchCheckpointFile.Read(Fixture.Checkpoint);
        int compared = 0;
        foreach (var (key, tensor) in state.Where(e => e.Key.StartsWith("0.rnns.", StringComparison.Ordinal)))
        {
            VocabularyAndMatchingTests.AssertClose(Fixture.Values(checkpoint.Tensors[key]), Fixture.Values(tensor), 1e-5f);
            compared++;
        }
        Assert.Equal(12, compared); // 3 layers × (raw hidden weight, input weight, two biases)
    }

    [Fact]
    public void Fastai_weights_record_no_direction_and_are_taken_as_the_runs()
    {
        TorchTestSetup.Use();
        string pretrained = FastAiFolder("wt-bwd", "lstm_bwd.pth");
        var run = new UlmfitPipeline(Path.Combine(folder, "run"), FixturePreset) { Backwards = true };
        using TextDataset corpus = NewVocabularyCorpus();

        LanguageModelArtifact tuned = run.FineTune(pretrained, corpus, findLearningRate: false);

        Assert.True(tuned.Backwards);
        Assert.True(LanguageModelArtifact.Open(tuned.Folder).Backwards);
        Assert.Contains("lstm_bwd.pth + vocabulary itos_fixture.pkl (16 tokens), converted on the fly, taken as backwards (the file records no direction)",
            run.Report.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_cli_fine_tunes_from_fastai_weights_named_like_pretrained_fnames()
    {
        TorchTestSetup.Use();
        var output = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        int Run(params string[] args)
        {
            int code = FastTextCommandLine.Build(handlers).Parse(args).Invoke(new System.CommandLine.InvocationConfiguration { Output = output, Error = output });
            Assert.True(code == 0, $"fasttext {string.Join(' ', args)} → {code}\n{output}");
            return code;
        }
        string P(string name) => Path.Combine(folder, name);
        string[] words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "home", "."];
        File.WriteAllLines(P("english.txt"), Texts(words, 40).Select(t => t.Text));
        File.WriteAllLines(P("task.txt"), Texts(["the", "dog", "barked", "at", "a", "mail", "man", "."], 40).Select(t => t.Text));
        Run("tokenize", "-i", P("english.txt"), "--format", "lines", "-o", P("english"), "--preset", "tiny");
        Run("tokenize", "-i", P("task.txt"), "--format", "lines", "-o", P("task"), "--preset", "tiny");
        Run("pretrain", "-c", P("english"), "-o", P("lm"), "--preset", "tiny");
        // A fastai pair written by the engine's exporter (the format PyTorch loads, see engine_export_pytorch_check.json).
        Directory.CreateDirectory(P("fastai"));
        FastAiArtifacts.ExportLanguageModel(LanguageModelArtifact.Open(P("lm")), P("fastai/ft_lm.pth"), P("fastai/ft_lm_vocab.pkl"));

        Run("fine-tune", "-c", P("task"), "-p", P("fastai/ft_lm.pth"), "-o", P("tuned"), "--preset", "tiny");                  // vocab found beside
        Run("fine-tune", "-c", P("task"), "-p", P("fastai/ft_lm"), "--pretrained-vocab", P("fastai/ft_lm_vocab"), "-o", P("tuned2"), "--preset", "tiny"); // fastai names
        Run("fine-tune", "-c", P("task"), "-p", P("lm"), "-o", P("tuned3"), "--preset", "tiny");                                // our folder still works

        string log = output.ToString();
        Assert.Contains("pretrained: fastai weights ft_lm.pth + vocabulary ft_lm_vocab.pkl", log, StringComparison.Ordinal);
        // The same pretrained model, converted or not, gives the same fine-tuned model (same seed, same data).
        using var fromFastAi = LanguageModelArtifact.Open(P("tuned")).LoadModel();
        using var fromFolder = LanguageModelArtifact.Open(P("tuned3")).LoadModel();
        var a = fromFastAi.state_dict();
        foreach (var (key, tensor) in fromFolder.state_dict())
        {
            Assert.True(torch.allclose(tensor, a[key], rtol: 0, atol: 1e-6), key);
        }
    }

    [Fact]
    public void Wrong_files_give_errors_that_name_them()
    {
        TorchTestSetup.Use();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(new StringWriter(), interactive: false));
        string corpusFolder = Path.Combine(folder, "corpus");
        TextDataset.Create(Texts(NewVocabulary[9..]), corpusFolder, UlmfitPreset.Tiny.Data(labelled: false), Vocabulary.FromTokens(NewVocabulary)).Dispose();
        // Training handlers run on a pool thread (so Ctrl+C can reach them); the error surfaces when the task is awaited.
        T Fails<T>(string pretrained, string? vocabulary = null) where T : Exception => Assert.Throws<T>(() =>
        {
            _ = handlers.FineTuneAsync(new LanguageModelRequest(corpusFolder, pretrained, Path.Combine(folder, "out"), "tiny", null, null, 1)
            {
                PretrainedVocabulary = vocabulary,
            }, default).GetAwaiter().GetResult();
        });

        // No vocabulary beside the weights.
        string alone = Path.Combine(folder, "alone");
        Directory.CreateDirectory(alone);
        File.Copy(Fixture.Checkpoint, Path.Combine(alone, "lstm_fwd.pth"));
        var missing = Fails<FileNotFoundException>(Path.Combine(alone, "lstm_fwd.pth"));
        Assert.Contains(Path.Combine(alone, "lstm_fwd.pth"), missing.Message, StringComparison.Ordinal);
        Assert.Contains("--pretrained-vocab", missing.Message, StringComparison.Ordinal);
        // A vocabulary named but absent.
        string absent = Path.Combine(folder, "itos_missing.pkl");
        Assert.Contains(absent, Fails<FileNotFoundException>(Fixture.Checkpoint, absent).Message, StringComparison.Ordinal);
        // Several .pkl files and none named after the weights (the fixture folder).
        var ambiguous = Fails<FileNotFoundException>(Fixture.Checkpoint);
        Assert.Contains("fastai_vocab.pkl", ambiguous.Message, StringComparison.Ordinal);
        Assert.Contains("engine_export_vocab.pkl", ambiguous.Message, StringComparison.Ordinal);
        // A folder that is neither ours nor holds a .pth.
        Directory.CreateDirectory(Path.Combine(folder, "empty"));
        Assert.Contains("model.json", Fails<FileNotFoundException>(Path.Combine(folder, "empty")).Message, StringComparison.Ordinal);
        // Weights that do not exist.
        Assert.Contains("nothing-here", Fails<FileNotFoundException>(Path.Combine(folder, "nothing-here")).Message, StringComparison.Ordinal);

        // Wrong keys: an encoder file and a classifier checkpoint are not language models.
        var encoder = Fails<PretrainedWeightsException>(Fixture.File("fastai_encoder.pth"), Fixture.Vocabulary);
        Assert.Equal(Fixture.File("fastai_encoder.pth"), encoder.FilePath);
        Assert.Contains("save_encoder", encoder.Message, StringComparison.Ordinal);
        Assert.Contains("text-classifier", Fails<PretrainedWeightsException>(Fixture.File("fastai_classifier.pth"), Fixture.Vocabulary).Message, StringComparison.Ordinal);

        // A vocabulary that is not the weights' own (17 tokens for 16 rows).
        var pair = Fails<PretrainedWeightsException>(Fixture.Checkpoint, Fixture.File("engine_export_vocab.pkl"));
        Assert.Contains("16 embedding rows", pair.Message, StringComparison.Ordinal);
        Assert.Contains("engine_export_vocab.pkl", pair.Message, StringComparison.Ordinal);

        // Config mismatch: the fixture is 8/12/3, the tiny preset 16/32/2.
        var sizes = Fails<PretrainedWeightsException>(Fixture.Checkpoint, Fixture.Vocabulary);
        Assert.Equal(Fixture.Checkpoint, sizes.FilePath);
        Assert.Contains("embedding 8, hidden 12, 3 layers, but the 'tiny' preset builds embedding 16, hidden 32, 2 layers", sizes.Message, StringComparison.Ordinal);
        Assert.Contains("--emb 8 --hidden 12 --layers 3", sizes.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "out", "lm.weights")));
    }

    [Fact]
    public void A_checkpoint_missing_a_layer_key_is_named_through_the_library_api()
    {
        TorchTestSetup.Use();
        string broken = Path.Combine(folder, "broken.pth");
        using (var state = PyTorchCheckpointFile.Read(Fixture.Checkpoint))
        {
            PyTorchCheckpointFile.Write(broken, state.Entries.Where(e => e.Key != "0.rnns.1.module.weight_ih_l0"));
        }
        var run = new UlmfitPipeline(Path.Combine(folder, "run"), FixturePreset);
        using TextDataset corpus = NewVocabularyCorpus();
        var error = Assert.Throws<InvalidDataException>(() => run.FineTune(broken, corpus, findLearningRate: false, pretrainedVocabulary: Fixture.Vocabulary));
        Assert.Contains(broken, error.Message, StringComparison.Ordinal);
        Assert.Contains("0.rnns.1.module.weight_ih_l0", error.Message, StringComparison.Ordinal);

        // A saved model folder has its own vocabulary: a separate .pkl is refused.
        LanguageModelArtifact.Save(Path.Combine(folder, "ours"), new AwdLstmLanguageModel(NewVocabulary.Length, run.Preset.LanguageModel), Vocabulary.FromTokens(NewVocabulary), Tokenization.Words, 0);
        Assert.Throws<ArgumentException>(() => run.FineTune(Path.Combine(folder, "ours"), corpus, pretrainedVocabulary: Fixture.Vocabulary));
    }
}
