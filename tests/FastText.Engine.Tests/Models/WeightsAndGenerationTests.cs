using FastText.Engine.Models;
using FastText.Engine.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Models;

[Collection(SequentialTorchCollection.Name)]
public sealed class WeightsAndGenerationTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public WeightsAndGenerationTests()
    {
        TorchTestSetup.Use();
    }

    public void Dispose() => temporary.Dispose();

    private static string[] Vocabulary(int size, string prefix = "w") =>
        new[] { "xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj" }
            .Concat(Enumerable.Range(0, size - 9).Select(i => prefix + i)).ToArray();

    [Fact]
    public void Encoder_round_trips_by_name_and_refuses_another_vocabulary_or_architecture()
    {
        string path = Path.Combine(folder, "encoder.bin");
        string[] vocabulary = Vocabulary(40);
        using var source = TinyModels.LanguageModel(seed: 20);
        ModelWeights.SaveEncoder(source.Encoder, path, vocabulary);
        using var target = TinyModels.LanguageModel(seed: 21);
        ModelWeights.LoadEncoder(target.Encoder, path, vocabulary);
        foreach (var (key, value) in source.Encoder.state_dict())
        {
            Assert.True(TinyModels.Same(value, target.Encoder.state_dict()[key]), key);
        }

        string[] shuffled = (string[])vocabulary.Clone();
        (shuffled[10], shuffled[11]) = (shuffled[11], shuffled[10]);
        var error = Assert.Throws<InvalidDataException>(() => ModelWeights.LoadEncoder(target.Encoder, path, shuffled));
        Assert.Contains("id 10", error.Message);
        using var bigger = TinyModels.LanguageModel(vocabulary: 48, seed: 22);
        error = Assert.Throws<InvalidDataException>(() => ModelWeights.LoadEncoder(bigger.Encoder, path));
        Assert.Contains("40 tokens", error.Message);
        using var twoLayers = TinyModels.LanguageModel(seed: 22, config: TinyModels.Config(layers: 2));
        error = Assert.Throws<InvalidDataException>(() => ModelWeights.LoadEncoder(twoLayers.Encoder, path));
        Assert.Contains("layers=3", error.Message);
        Assert.Throws<FileNotFoundException>(() => ModelWeights.LoadEncoder(target.Encoder, Path.Combine(folder, "missing.bin")));
    }

    [Fact]
    public void Pretrained_start_matches_rows_by_token_and_gives_new_tokens_the_mean_row_and_bias()
    {
        string path = Path.Combine(folder, "lm.bin");
        string[] oldVocabulary = Vocabulary(40);
        using var pretrained = TinyModels.LanguageModel(seed: 23);
        using (torch.no_grad())
        {
            pretrained.Decoder.Bias!.uniform_(-1, 1);
        }
        ModelWeights.SaveLanguageModel(pretrained, path, oldVocabulary);

        // New vocabulary: specials, then old tokens in another order, then 6 unseen tokens; different size.
        string[] newVocabulary = oldVocabulary.Take(9).Concat(oldVocabulary.Skip(9).Reverse().Take(25)).Concat(Enumerable.Range(0, 6).Select(i => "new" + i)).ToArray();
        using var model = TinyModels.LanguageModel(vocabulary: newVocabulary.Length, seed: 24);
        VocabularyMatch match = ModelWeights.LoadPretrained(model, path, newVocabulary);
        Assert.Equal(34, match.Matched);
        Assert.Equal(6, match.New);

        Tensor oldEmbedding = pretrained.Encoder.EmbeddingWeight, newEmbedding = model.Encoder.EmbeddingWeight;
        Tensor oldBias = pretrained.Decoder.Bias!, newBias = model.Decoder.Bias!;
        int oldIndexOfW30 = Array.IndexOf(oldVocabulary, "w30");
        int newIndexOfW30 = Array.IndexOf(newVocabulary, "w30");
        Assert.True(TinyModels.Same(oldEmbedding[oldIndexOfW30], newEmbedding[newIndexOfW30]));
        Assert.Equal(oldBias[oldIndexOfW30].item<float>(), newBias[newIndexOfW30].item<float>());
        int unseen = Array.IndexOf(newVocabulary, "new3");
        Assert.True(newEmbedding[unseen].allclose(oldEmbedding.mean(new long[] { 0 }), rtol: 1e-5, atol: 1e-6));
        Assert.Equal(oldBias.mean().item<float>(), newBias[unseen].item<float>(), 5);
        Assert.True(TinyModels.Same(pretrained.state_dict()["0.rnns.1.weight_hh_l0_raw"], model.state_dict()["0.rnns.1.weight_hh_l0_raw"]));
        Assert.Same(model.Encoder.EmbeddingWeight, model.Decoder.Weight);   // still tied
    }

    [Fact]
    public void Incremental_generation_sees_the_same_distribution_as_rerunning_the_whole_text()
    {
        using var model = TinyModels.LanguageModel(seed: 25);
        int[] prompt = { 2, 11, 12, 13 };
        int[] generated = LanguageModelGenerator.Generate(model, prompt, 8, new GenerationOptions(Seed: 5));
        Assert.Equal(generated, LanguageModelGenerator.Generate(model, prompt, 8, new GenerationOptions(Seed: 5)));
        Assert.DoesNotContain(0, generated);
        Assert.True(model.training);

        // Re-run the whole text from zero state (fastai's way): the last position's logits match the incremental run's.
        using var scope = torch.NewDisposeScope();
        model.eval();
        using (torch.no_grad())
        {
            long[] all = prompt.Concat(generated).Select(i => (long)i).ToArray();
            model.Reset();
            Tensor full = model.Decode(model.call(torch.tensor(all).unsqueeze(0)).Dropped);            // (1, len, vocab)
            model.Reset();
            Tensor incremental = model.Decode(model.call(torch.tensor(all.Take(prompt.Length).ToArray()).unsqueeze(0)).Dropped);
            for (int i = prompt.Length; i < all.Length; i++)
            {
                incremental = model.Decode(model.call(torch.tensor(new[] { all[i] }).unsqueeze(0)).Dropped);
            }
            Assert.True(full.select(1, -1).allclose(incremental.select(1, -1), rtol: 1e-4, atol: 1e-5));
        }
        model.train();
    }

    [Fact]
    public void Low_temperature_generation_is_greedy_and_no_unknown_is_respected()
    {
        using var model = TinyModels.LanguageModel(seed: 26);
        using (torch.no_grad())
        {
            model.Decoder.Bias![0] = 50;          // the model loves xxunk
        }
        int[] withUnknown = LanguageModelGenerator.Generate(model, new[] { 2 }, 5, new GenerationOptions(Temperature: 0.01, NoUnknown: false, Seed: 1));
        Assert.All(withUnknown, id => Assert.Equal(0, id));
        int[] without = LanguageModelGenerator.Generate(model, new[] { 2 }, 5, new GenerationOptions(Temperature: 0.01, Seed: 1));
        Assert.DoesNotContain(0, without);
    }
}
