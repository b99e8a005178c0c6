using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Models.Pretrained;
using FastText.Engine.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Pretrained;

/// <summary>The fastai fixture through the engine's own AWD-LSTM (branch <c>model</c>).</summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class AwdLstmInteropTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public void Dispose() => temporary.Dispose();

    private static AwdLstmConfig FixtureConfig
    {
        get
        {
            var sizes = Fixture.Expected.Value.GetProperty("sizes");
            return AwdLstmConfig.LanguageModel with
            {
                EmbeddingSize = sizes.GetProperty("embedding").GetInt32(),
                HiddenSize = sizes.GetProperty("hidden").GetInt32(),
                Layers = sizes.GetProperty("layers").GetInt32(),
            };
        }
    }

    private static string[] NewVocabulary => Fixture.Strings(Fixture.Expected.Value.GetProperty("new_vocab"));

    [Fact]
    public void The_engine_model_on_imported_fastai_weights_computes_pytorchs_logits()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = new AwdLstmLanguageModel(16, FixtureConfig);
        var match = FastAiCheckpoint.ImportLanguageModel(model, Fixture.Checkpoint, Fixture.Vocabulary);
        Assert.Equal(16, match.Matched);
        Assert.Equal(0, match.New);

        model.eval();
        var expected = Fixture.Expected.Value;
        var ids = expected.GetProperty("input_ids").EnumerateArray().Select(r => Fixture.Longs(r)).ToArray();
        using (torch.no_grad())
        {
            var input = torch.tensor(ids.SelectMany(r => r).ToArray(), [ids.Length, ids[0].Length], ScalarType.Int64);
            var logits = model.Decode(model.call(input).Dropped);
            VocabularyAndMatchingTests.AssertClose(Fixture.Floats(expected.GetProperty("eval_logits")), Fixture.Values(logits), 2e-6f);
        }
    }

    [Theory]
    [InlineData("fastai_lm.pth")]
    [InlineData("fastai_lm_wrapped.pth")]
    [InlineData("fastai_lm_legacy.pth")]
    public void Import_matches_the_vocabulary_and_export_writes_the_file_pytorch_verified(string file)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = new AwdLstmLanguageModel(NewVocabulary.Length, FixtureConfig);
        var match = FastAiCheckpoint.ImportLanguageModel(model, Fixture.File(file), Fixture.Vocabulary, NewVocabulary);
        Assert.Equal(13, match.Matched);
        Assert.Equal(4, match.New);
        VocabularyAndMatchingTests.AssertClose(Fixture.Floats(Fixture.Expected.Value.GetProperty("matched_encoder_rows")),
            Fixture.Values(model.Encoder.EmbeddingWeight));

        string pth = Path.Combine(folder, "lm.pth"), pkl = Path.Combine(folder, "lm.pkl");
        FastAiCheckpoint.ExportLanguageModel(model, NewVocabulary, pth, pkl);
        // Same bytes as the export PyTorch loaded strictly (engine_export_pytorch_check.json).
        Assert.Equal(File.ReadAllBytes(Fixture.File("engine_export.pth")), File.ReadAllBytes(pth));
        Assert.Equal(File.ReadAllBytes(Fixture.File("engine_export_vocab.pkl")), File.ReadAllBytes(pkl));

        using var reloaded = new AwdLstmLanguageModel(NewVocabulary.Length, FixtureConfig);
        FastAiCheckpoint.ImportLanguageModel(reloaded, pth, pkl);
        var before = model.state_dict();
        foreach (var (key, tensor) in reloaded.state_dict())
        {
            Assert.True(Fixture.AllEqual(before[key], tensor), key);
        }
    }

    [Fact]
    public void A_fastai_encoder_file_loads_into_the_engine_encoder_and_exports_back()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = new AwdLstmLanguageModel(16, FixtureConfig);
        var report = FastAiCheckpoint.ImportEncoder(model.Encoder, Fixture.File("fastai_encoder.pth"));
        Assert.Equal(13, report.LoadedKeys.Count);
        var expected = Fixture.Expected.Value;
        Assert.Equal(Fixture.Floats(expected.GetProperty("encoder_row_10")), Fixture.Values(model.Encoder.EmbeddingWeight[10]));
        Assert.Equal((float)expected.GetProperty("rnn1_weight_ih_0_3").GetDouble(),
            model.state_dict()["0.rnns.1.module.weight_ih_l0"][0, 3].item<float>());

        string pth = Path.Combine(folder, "encoder.pth");
        FastAiCheckpoint.ExportEncoder(model.Encoder, Fixture.Strings(expected.GetProperty("old_vocab")), pth);
        using var raw = PyTorchCheckpointFile.Read(pth);
        Assert.Equal(Fixture.Strings(expected.GetProperty("encoder_keys")), raw.Keys);
        using var original = PyTorchCheckpointFile.Read(Fixture.File("fastai_encoder.pth"));
        foreach (var (key, tensor) in original.Entries)
        {
            Assert.True(Fixture.AllEqual(tensor, raw.Tensors[key]), key);
        }
    }

    [Fact]
    public void An_untied_model_exports_its_own_decoder_weight_and_reloads_exactly()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var vocabulary = Fixture.Strings(Fixture.Expected.Value.GetProperty("old_vocab"));
        using var model = new AwdLstmLanguageModel(16, FixtureConfig with { TieWeights = false });
        string pth = Path.Combine(folder, "untied.pth"), pkl = Path.Combine(folder, "untied.pkl");
        FastAiCheckpoint.ExportLanguageModel(model, vocabulary, pth, pkl);
        using (var raw = PyTorchCheckpointFile.Read(pth))
        {
            Assert.False(raw.SharesTensor("0.encoder.weight", "1.decoder.weight"));
            Assert.True(raw.SharesTensor("0.encoder.weight", "0.encoder_dp.emb.weight"));
        }
        using var reloaded = new AwdLstmLanguageModel(16, FixtureConfig with { TieWeights = false });
        Assert.Equal(new VocabularyMatch(16, 0), FastAiCheckpoint.ImportLanguageModel(reloaded, pth, pkl));
        var before = model.state_dict();
        Assert.Contains("1.decoder.weight", before.Keys);
        foreach (var (key, tensor) in reloaded.state_dict())
        {
            Assert.True(Fixture.AllEqual(before[key], tensor), key);
        }
    }

    [Fact]
    public void The_engine_classifier_on_imported_fastai_classifier_weights_computes_pytorchs_logits()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var expected = Fixture.Expected.Value;
        var encoder = new AwdLstmEncoder(16, FixtureConfig);
        using var model = new TextClassifier(new AwdLstmClassifierEncoder(encoder), 2, new ClassifierOptions(HiddenSizes: [6]));

        var report = FastAiCheckpoint.ImportStateDictionary(model, Fixture.File("fastai_classifier.pth"));
        Assert.Equal(25, report.LoadedKeys.Count);

        model.eval();
        var ids = expected.GetProperty("classifier_ids").EnumerateArray().Select(r => Fixture.Longs(r)).ToArray();
        using (torch.no_grad())
        {
            var input = torch.tensor(ids.SelectMany(r => r).ToArray(), [ids.Length, ids[0].Length], ScalarType.Int64);
            VocabularyAndMatchingTests.AssertClose(Fixture.Floats(expected.GetProperty("classifier_eval_logits")),
                Fixture.Values(model.call(input)), 2e-6f);
        }

        // And back: the export holds fastai's keys (plus the encoder_dp alias) with the imported values.
        string pth = Path.Combine(folder, "classifier.pth");
        FastAiCheckpoint.ExportStateDictionary(model, pth);
        using var raw = PyTorchCheckpointFile.Read(pth);
        Assert.Equal(Fixture.Strings(expected.GetProperty("classifier_keys")).Order(), raw.Keys.Order());
        using var original = PyTorchCheckpointFile.Read(Fixture.File("fastai_classifier.pth"));
        foreach (var (key, tensor) in original.Entries)
        {
            Assert.True(Fixture.AllEqual(tensor, raw.Tensors[key]), key);
        }
    }

    [Fact]
    public void Fastais_pretrained_pair_converts_to_a_pipeline_folder_and_back()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        string folderPath = Path.Combine(folder, "wt103");
        var artifact = FastAiArtifacts.ImportLanguageModel(Fixture.Checkpoint, Fixture.Vocabulary, folderPath);
        Assert.Equal(FixtureConfig.EmbeddingSize, artifact.Card.EmbeddingSize);
        Assert.Equal(FixtureConfig.HiddenSize, artifact.Card.HiddenSize);
        Assert.Equal(3, artifact.Card.Layers);
        Assert.Equal(Fixture.Strings(Fixture.Expected.Value.GetProperty("old_vocab")), LanguageModelArtifact.Open(folderPath).Vocabulary.Tokens);

        string pth = Path.Combine(folder, "back.pth"), pkl = Path.Combine(folder, "back.pkl");
        FastAiArtifacts.ExportLanguageModel(LanguageModelArtifact.Open(folderPath), pth, pkl);
        using var original = PyTorchCheckpointFile.Read(Fixture.Checkpoint);
        using var back = PyTorchCheckpointFile.Read(pth);
        Assert.Equal(original.Keys, back.Keys);
        foreach (var (key, tensor) in original.Entries)
        {
            Assert.True(Fixture.AllEqual(tensor, back.Tensors[key]), key);
        }
        Assert.Equal(FastAiVocabularyFile.Read(Fixture.Vocabulary), FastAiVocabularyFile.Read(pkl));
    }

    [Fact]
    public void A_checkpoint_with_other_layer_sizes_is_refused_naming_the_file()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = new AwdLstmLanguageModel(16, FixtureConfig with { HiddenSize = 10 });
        var exact = Assert.Throws<PretrainedWeightsException>(() =>
            FastAiCheckpoint.ImportLanguageModel(model, Fixture.Checkpoint, Fixture.Vocabulary));
        Assert.Contains(Fixture.Checkpoint, exact.Message, StringComparison.Ordinal);
        Assert.Equal("0.rnns.0.weight_hh_l0_raw", exact.Key);
        Assert.Contains("[48, 12] in the checkpoint, [40, 10] in the model", exact.Message, StringComparison.Ordinal);

        using var matching = new AwdLstmLanguageModel(NewVocabulary.Length, FixtureConfig with { HiddenSize = 10 });
        var matched = Assert.Throws<InvalidDataException>(() =>
            FastAiCheckpoint.ImportLanguageModel(matching, Fixture.Checkpoint, Fixture.Vocabulary, NewVocabulary));
        Assert.Contains(Fixture.Checkpoint, matched.Message, StringComparison.Ordinal);
        Assert.Contains("0.rnns.0.weight_hh_l0_raw", matched.Message, StringComparison.Ordinal);
    }
}
