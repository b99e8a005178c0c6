using FastText.Cli;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;
using TorchSharp;

namespace FastText.Engine.Tests.Interpretation;

[Collection(SequentialTorchCollection.Name)]
public sealed class LanguageModelLensTests : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    private static readonly Vocabulary Words = Vocabulary.FromTokens([.. SpecialTokens.All, "the", "cat", "sat", "on", "mat", ".", "a", "dog"]);

    [Fact]
    public void A_tokens_surprisal_is_the_next_token_probability_after_the_text_before_it()
    {
        TorchTestSetup.Use();
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: Words.Count, seed: 11);
        var lens = new LanguageModelLens(model, Words);
        int[] ids = [SpecialTokens.BeginningOfStreamId, .. new[] { "the", "cat", "sat", "on", "the", "mat", "." }.Select(w => Words.IdOf(w))];
        IReadOnlyList<TokenSurprisal> scored = lens.Surprisal(ids, alternatives: 2);
        Assert.Equal(ids.Length - 1, scored.Count);
        for (int t = 1; t < ids.Length; t++)
        {
            // The whole-text run and a run over the prefix alone agree (the state carried through the text is the same).
            IReadOnlyList<NextToken> all = lens.NextTokens(ids[..t], Words.Count);
            Assert.Equal(1.0, all.Sum(c => c.Probability), 4);
            Assert.True(all.Zip(all.Skip(1), (a, b) => a.Probability >= b.Probability).All(x => x));
            Assert.Equal(all.Single(c => c.Id == ids[t]).Probability, scored[t - 1].Probability, 5);
            Assert.Equal(Words[ids[t]], scored[t - 1].Token);
            Assert.Equal(all.Take(2).Select(c => c.Id), scored[t - 1].Expected.Select(c => c.Id));
            Assert.Equal(-Math.Log2(scored[t - 1].Probability), scored[t - 1].Bits, 9);
        }
        Assert.Empty(lens.Surprisal([SpecialTokens.BeginningOfStreamId]));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => lens.NextTokens([2, 99]));
        Assert.Contains("position 1", error.Message, StringComparison.Ordinal);
        Assert.True(model.training);                                                       // mode restored
    }

    [Fact]
    public void Neighbours_are_the_rows_of_highest_cosine_and_an_unknown_token_has_none()
    {
        TorchTestSetup.Use();
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: Words.Count, seed: 13);
        // Make "dog" a scaled copy of "cat" plus a little: its nearest neighbour by cosine, whatever the lengths.
        using (torch.no_grad())
        {
            var weight = model.Encoder.EmbeddingWeight;
            weight[Words.IdOf("dog")].copy_(weight[Words.IdOf("cat")] * 3 + 0.01);
        }
        var near = new LanguageModelLens(model, Words).Neighbours("cat", 3)!;
        Assert.Equal("dog", near[0].Token);
        Assert.True(near[0].Cosine > 0.99 && near[0].Cosine >= near[1].Cosine && near[1].Cosine >= near[2].Cosine);
        Assert.DoesNotContain(near, n => n.Token == "cat");
        Assert.Null(new LanguageModelLens(model, Words).Neighbours("zebra"));
    }

    [Fact]
    public async Task Next_and_surprisal_commands_read_a_saved_model_and_refuse_a_backwards_one()
    {
        TorchTestSetup.Use();
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: Words.Count, seed: 12);
        string forward = folder.Combine("lm");
        LanguageModelArtifact.Save(forward, model, Words, Tokenization.Words, 0);
        var output = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        Assert.Equal(0, await handlers.NextTokensAsync(new NextTokensRequest(forward, "the cat", 3, 1), CancellationToken.None));
        Assert.Equal(3, output.ToString().Split('\n').Count(l => l.StartsWith("  0.", StringComparison.Ordinal) || l.StartsWith("  1.", StringComparison.Ordinal)));

        string page = folder.Combine("surprisal.html");
        Assert.Equal(0, await handlers.SurprisalAsync(new SurprisalRequest(forward, ["the cat sat on the mat ."], null, page, 1), CancellationToken.None));
        Assert.Contains("perplexity", output.ToString(), StringComparison.Ordinal);
        string html = File.ReadAllText(page);
        Assert.Equal(Tokenization.Words.Numericalize("the cat sat on the mat .", Words).Length - 1,
            html.Split("data-bits=").Length - 1);                                        // every token after the first is scored
        Assert.DoesNotContain("http", html, StringComparison.OrdinalIgnoreCase);

        string backwards = folder.Combine("lm-bwd");
        LanguageModelArtifact.Save(backwards, model, Words, Tokenization.Words, 0, backwards: true);
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => handlers.NextTokensAsync(new NextTokensRequest(backwards, "the", 3, 1), CancellationToken.None));
        Assert.Contains("backwards", refused.Message, StringComparison.Ordinal);
    }
}
