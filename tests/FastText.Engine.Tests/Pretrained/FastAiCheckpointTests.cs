using System.Text.Json;
using FastText.Engine.Models.Pretrained;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Pretrained;

public sealed class FastAiCheckpointTests : IDisposable
{
    /// <summary>Set to 1 to rewrite Fixtures/engine_export.pth + engine_export_vocab.pkl (then run the script's
    /// <c>verify</c> step to re-check them in PyTorch).</summary>
    private const string RegenerateVariable = "FASTTEXT_WRITE_FIXTURES";
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public void Dispose() => temporary.Dispose();

    private static JsonElement Expected => Fixture.Expected.Value;

    private static string[] NewVocabulary => Fixture.Strings(Expected.GetProperty("new_vocab"));

    private static long[][] InputIds =>
        Expected.GetProperty("input_ids").EnumerateArray().Select(r => Fixture.Longs(r)).ToArray();

    [Fact]
    public void Imported_weights_reproduce_the_logits_pytorch_computed()
    {
        TorchTestSetup.Use();
        using var weights = FastAiCheckpoint.Read(Fixture.Checkpoint);
        using var logits = Fixture.LanguageModelLogits(weights.Tensors, InputIds, layers: 3);
        VocabularyAndMatchingTests.AssertClose(Fixture.Floats(Expected.GetProperty("eval_logits")), Fixture.Values(logits), 2e-6f);
    }

    [Theory]
    [InlineData("fastai_lm.pth")]
    [InlineData("fastai_lm_wrapped.pth")]
    [InlineData("fastai_lm_legacy.pth")]
    public void Import_with_vocabulary_matching_loads_every_model_key_by_name(string file)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var target = EngineStateDictionary(NewVocabulary.Length, tiedDecoderListed: false);

        using var weights = FastAiCheckpoint.Read(Fixture.File(file), Fixture.Vocabulary, NewVocabulary);
        var report = FastAiCheckpoint.LoadInto(weights, target);

        Assert.Equal(13, report.Matched);
        Assert.Equal(4, report.New);
        Assert.Empty(report.IgnoredKeys);
        Assert.Equal(target.Keys.OrderBy(k => k), report.LoadedKeys.OrderBy(k => k));
        Assert.Equal(file == "fastai_lm_wrapped.pth" ? ["0.rnns.0.module.weight_hh_l0"] : [], report.DroppedStaleKeys);
        VocabularyAndMatchingTests.AssertClose(Fixture.Floats(Expected.GetProperty("matched_encoder_rows")),
            Fixture.Values(target["0.encoder.weight"]));
        VocabularyAndMatchingTests.AssertClose(Fixture.Floats(Expected.GetProperty("matched_bias")),
            Fixture.Values(target["1.decoder.bias"]));
        var rnn = Expected.GetProperty("tensors").GetProperty("0.rnns.2.weight_hh_l0_raw");
        Assert.Equal(Fixture.Floats(rnn.GetProperty("first")), Fixture.Values(target["0.rnns.2.weight_hh_l0_raw"]).Take(4).ToArray());
    }

    [Fact]
    public void A_target_listing_the_tied_decoder_weight_gets_the_matched_matrix_there_too()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var target = EngineStateDictionary(NewVocabulary.Length, tiedDecoderListed: true);
        using var weights = FastAiCheckpoint.Read(Fixture.Checkpoint, Fixture.Vocabulary, NewVocabulary);
        FastAiCheckpoint.LoadInto(weights, target);
        Assert.True(Fixture.AllEqual(target["1.decoder.weight"], target["0.encoder.weight"]));
    }

    [Fact]
    public void Missing_unexpected_and_misshapen_keys_fail_naming_file_and_key()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var weights = FastAiCheckpoint.Read(Fixture.Checkpoint, Fixture.Vocabulary, NewVocabulary);

        var withExtra = EngineStateDictionary(NewVocabulary.Length, false);
        withExtra["0.rnns.3.weight_hh_l0_raw"] = torch.zeros(32, 8);
        var missing = Assert.Throws<PretrainedWeightsException>(() =>
            FastAiCheckpoint.LoadInto(weights, withExtra, FastAiKeyMap.LanguageModel(layers: 4)));
        Assert.Contains(Fixture.Checkpoint, missing.Message, StringComparison.Ordinal);
        Assert.Equal("0.rnns.3.weight_hh_l0_raw", missing.Key);

        var twoLayers = EngineStateDictionary(NewVocabulary.Length, false);
        foreach (var key in twoLayers.Keys.Where(k => k.StartsWith("0.rnns.2.", StringComparison.Ordinal)).ToList())
        {
            twoLayers.Remove(key);
        }
        var unexpected = Assert.Throws<PretrainedWeightsException>(() => FastAiCheckpoint.LoadInto(weights, twoLayers));
        Assert.StartsWith("0.rnns.2.", unexpected.Key, StringComparison.Ordinal);
        Assert.Contains("the model lacks", unexpected.Message, StringComparison.Ordinal);
        var lenient = FastAiCheckpoint.LoadInto(weights, twoLayers, strict: false);
        Assert.Equal(4, lenient.IgnoredKeys.Count);

        var wrongVocabulary = EngineStateDictionary(NewVocabulary.Length + 1, false);
        var shape = Assert.Throws<PretrainedWeightsException>(() => FastAiCheckpoint.LoadInto(weights, wrongVocabulary));
        Assert.Equal("0.encoder.weight", shape.Key);
        Assert.Contains("[17, 8] in the checkpoint, [18, 8] in the model", shape.Message, StringComparison.Ordinal);

        var vocabulary = Assert.Throws<PretrainedWeightsException>(() =>
            FastAiCheckpoint.Read(Fixture.Checkpoint, Fixture.File("fastai_lm_expected.json"), NewVocabulary));
        Assert.Contains("fastai_lm_expected.json", vocabulary.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_encoder_of_a_language_model_loads_into_an_encoder_only_target_when_not_strict()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var weights = FastAiCheckpoint.Read(Fixture.Checkpoint);
        var encoder = EngineStateDictionary(16, false).Where(e => e.Key.StartsWith("0.", StringComparison.Ordinal))
            .ToDictionary(e => e.Key, e => e.Value);
        var report = FastAiCheckpoint.LoadInto(weights, encoder, strict: false);
        Assert.Equal(["1.decoder.bias"], report.IgnoredKeys);
        Assert.Equal(Fixture.Floats(Expected.GetProperty("encoder_row_10")), Fixture.Values(encoder["0.encoder.weight"][10]));
    }

    [Fact]
    public void Export_then_import_gives_back_the_same_tensors_and_the_file_pytorch_verified()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var model = EngineStateDictionary(NewVocabulary.Length, tiedDecoderListed: false);
        using (var weights = FastAiCheckpoint.Read(Fixture.Checkpoint, Fixture.Vocabulary, NewVocabulary))
        {
            FastAiCheckpoint.LoadInto(weights, model);
        }
        string pth = Path.Combine(folder, "export.pth"), pkl = Path.Combine(folder, "export_vocab.pkl");
        FastAiCheckpoint.Write(model, NewVocabulary, pth, pkl);

        using (var raw = PyTorchCheckpointFile.Read(pth))
        {
            // fastai's exact layout: its key order, and the duplicate entries sharing the embedding's storage.
            Assert.Equal(Fixture.Strings(Expected.GetProperty("keys")), raw.Keys);
            Assert.True(raw.SharesTensor("0.encoder.weight", "0.encoder_dp.emb.weight"));
            Assert.True(raw.SharesTensor("0.encoder.weight", "1.decoder.weight"));
        }
        Assert.Equal(NewVocabulary, FastAiVocabularyFile.Read(pkl));
        var reimported = EngineStateDictionary(NewVocabulary.Length, tiedDecoderListed: false);
        using (var weights = FastAiCheckpoint.Read(pth))
        {
            FastAiCheckpoint.LoadInto(weights, reimported);
        }
        foreach (var (key, tensor) in model)
        {
            Assert.True(Fixture.AllEqual(tensor, reimported[key]), key);
        }

        // The committed export is what this writer produces today, byte for byte — and PyTorch loaded that file.
        if (Environment.GetEnvironmentVariable(RegenerateVariable) == "1")
        {
            File.Copy(pth, Fixture.File("engine_export.pth"), overwrite: true);
            File.Copy(pkl, Fixture.File("engine_export_vocab.pkl"), overwrite: true);
        }
        Assert.Equal(File.ReadAllBytes(Fixture.File("engine_export.pth")), File.ReadAllBytes(pth));
        Assert.Equal(File.ReadAllBytes(Fixture.File("engine_export_vocab.pkl")), File.ReadAllBytes(pkl));
    }

    [Fact]
    public void Pytorch_loaded_our_export_strictly_with_shared_storages_and_the_same_logits()
    {
        TorchTestSetup.Use();
        var check = Fixture.Load("engine_export_pytorch_check.json");
        Assert.True(check.GetProperty("ok").GetBoolean());
        Assert.Empty(check.GetProperty("strict_load_missing").EnumerateArray());
        Assert.Empty(check.GetProperty("strict_load_unexpected").EnumerateArray());
        Assert.True(check.GetProperty("encoder_dp_shares_storage").GetBoolean());
        Assert.True(check.GetProperty("decoder_shares_storage").GetBoolean());
        Assert.Equal(NewVocabulary, Fixture.Strings(check.GetProperty("vocab")));
        var classifier = check.GetProperty("classifier");
        Assert.True(classifier.GetProperty("ok").GetBoolean());
        Assert.True(classifier.GetProperty("all_equal").GetBoolean());
        Assert.Equal(7, classifier.GetProperty("num_batches_tracked").GetInt32());

        // PyTorch's forward on our export equals TorchSharp's forward on the same file.
        using var weights = FastAiCheckpoint.Read(Fixture.File("engine_export.pth"));
        using var logits = Fixture.LanguageModelLogits(weights.Tensors, InputIds, layers: 3);
        VocabularyAndMatchingTests.AssertClose(Fixture.Floats(check.GetProperty("eval_logits")), Fixture.Values(logits), 2e-6f);
    }

    [Fact]
    public void A_save_encoder_file_loads_strictly_through_the_encoder_key_map_and_exports_back()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var map = FastAiKeyMap.Encoder(layers: 3);
        var encoder = EngineStateDictionary(16, false).Where(e => e.Key.StartsWith("0.", StringComparison.Ordinal))
            .ToDictionary(e => e.Key[2..], e => e.Value);
        using (var weights = FastAiCheckpoint.Read(Fixture.File("fastai_encoder.pth"), keyMap: map))
        {
            var report = FastAiCheckpoint.LoadInto(weights, encoder, map);
            Assert.Equal(13, report.LoadedKeys.Count);
        }
        Assert.Equal(Fixture.Floats(Expected.GetProperty("encoder_row_10")), Fixture.Values(encoder["encoder.weight"][10]));

        string pth = Path.Combine(folder, "encoder.pth");
        FastAiCheckpoint.Write(encoder, Fixture.Strings(Expected.GetProperty("old_vocab")), pth, keyMap: map);
        using var raw = PyTorchCheckpointFile.Read(pth);
        Assert.Equal(Fixture.Strings(Expected.GetProperty("encoder_keys")), raw.Keys);
        Assert.True(raw.SharesTensor("encoder.weight", "encoder_dp.emb.weight"));
    }

    [Fact]
    public void A_fastai_classifier_state_dict_loads_by_name_and_exports_back_in_fastais_layout()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        // The engine classifier mirrors fastai's keys (0.module.… encoder, 1.layers.… head) without the alias entry.
        var described = Expected.GetProperty("classifier_tensors");
        var target = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var property in described.EnumerateObject().Where(p => !p.Name.EndsWith("encoder_dp.emb.weight", StringComparison.Ordinal)))
        {
            var dtype = property.Value.GetProperty("dtype").GetString() == "int64" ? ScalarType.Int64 : ScalarType.Float32;
            target[property.Name] = torch.zeros(Fixture.Longs(property.Value.GetProperty("shape")), dtype);
        }

        var report = FastAiCheckpoint.ImportStateDictionary(target, Fixture.File("fastai_classifier.pth"));
        Assert.Empty(report.IgnoredKeys);
        Assert.Equal(25, report.LoadedKeys.Count);
        foreach (var (key, tensor) in target)
        {
            var description = described.GetProperty(key);
            float[] values = Fixture.Values(tensor);
            Assert.Equal(Fixture.Floats(description.GetProperty("first")), values.Take(4).ToArray());
            Assert.Equal(description.GetProperty("sum").GetDouble(), values.Sum(v => (double)v), 9);
        }
        Assert.Equal(7L, target["1.layers.1.0.num_batches_tracked"].item<long>());

        string pth = Path.Combine(folder, "classifier.pth");
        FastAiCheckpoint.ExportStateDictionary(target, pth);
        using (var raw = PyTorchCheckpointFile.Read(pth))
        {
            Assert.Equal(Fixture.Strings(Expected.GetProperty("classifier_keys")), raw.Keys);
            Assert.True(raw.SharesTensor("0.module.encoder.weight", "0.module.encoder_dp.emb.weight"));
            Assert.Equal(ScalarType.Int64, raw.Tensors["1.layers.0.0.num_batches_tracked"].dtype);
        }
        if (Environment.GetEnvironmentVariable(RegenerateVariable) == "1")
        {
            File.Copy(pth, Fixture.File("engine_classifier_export.pth"), overwrite: true);
        }
        // PyTorch loaded this exact file strictly into fastai's classifier (engine_export_pytorch_check.json).
        Assert.Equal(File.ReadAllBytes(Fixture.File("engine_classifier_export.pth")), File.ReadAllBytes(pth));
    }

    [Fact]
    public void Export_refuses_keys_outside_the_layout_and_a_vocabulary_of_the_wrong_size()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var model = EngineStateDictionary(16, false);
        string pth = Path.Combine(folder, "bad.pth");
        var size = Assert.Throws<PretrainedWeightsException>(() => FastAiCheckpoint.Write(model, NewVocabulary, pth));
        Assert.Contains("vocabulary of 17 tokens", size.Message, StringComparison.Ordinal);

        model["head.weight"] = torch.zeros(2, 2);
        var extra = Assert.Throws<PretrainedWeightsException>(() =>
            FastAiCheckpoint.Write(model, Fixture.Strings(Expected.GetProperty("old_vocab")), pth));
        Assert.Equal("head.weight", extra.Key);
        Assert.False(File.Exists(pth));
    }

    /// <summary>An engine-side state dict with the fixture's sizes (emb 8, hidden 12, 3 layers), zero-filled.</summary>
    private static Dictionary<string, Tensor> EngineStateDictionary(int vocabularySize, bool tiedDecoderListed)
    {
        var sizes = Expected.GetProperty("sizes");
        int embedding = sizes.GetProperty("embedding").GetInt32(), hidden = sizes.GetProperty("hidden").GetInt32();
        int layers = sizes.GetProperty("layers").GetInt32();
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var embeddingWeight = torch.zeros(vocabularySize, embedding);
        state["0.encoder.weight"] = embeddingWeight;
        for (int l = 0; l < layers; l++)
        {
            int input = l == 0 ? embedding : hidden, output = l == layers - 1 ? embedding : hidden;
            state[$"0.rnns.{l}.weight_hh_l0_raw"] = torch.zeros(4 * output, output);
            state[$"0.rnns.{l}.module.weight_ih_l0"] = torch.zeros(4 * output, input);
            state[$"0.rnns.{l}.module.bias_ih_l0"] = torch.zeros(4 * output);
            state[$"0.rnns.{l}.module.bias_hh_l0"] = torch.zeros(4 * output);
        }
        if (tiedDecoderListed)
        {
            state["1.decoder.weight"] = embeddingWeight;
        }
        state["1.decoder.bias"] = torch.zeros(vocabularySize);
        return state;
    }
}
