using FastText.Engine.Models;
using FastText.Engine.Models.Pretrained;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Pretrained;

public sealed class VocabularyAndMatchingTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public void Dispose() => temporary.Dispose();

    [Fact]
    public void Reads_the_vocabulary_list_python_pickled()
    {
        var vocabulary = FastAiVocabularyFile.Read(Fixture.Vocabulary);
        Assert.Equal(Fixture.Strings(Fixture.Expected.Value.GetProperty("old_vocab")), vocabulary);
    }

    [Fact]
    public void Written_vocabularies_read_back_identical_including_unicode_and_more_than_one_batch()
    {
        var tokens = Enumerable.Range(0, 2500).Select(i => $"tok{i}").Concat(["xxunk", "naïve", "日本語", "🙂", "", "a\nb"]).ToArray();
        string path = Path.Combine(folder, "vocab.pkl");
        FastAiVocabularyFile.Write(path, tokens);
        Assert.Equal(tokens, FastAiVocabularyFile.Read(path));
    }

    [Theory]
    [InlineData(0, "(lp0\nVxxunk\np1\naVthe\np2\naVna\u00efve\np3\naV\\u65e5\\U0001f642\\u005c\np4\na.")]
    [InlineData(1, "]q\u0000(X\u0005\u0000\u0000\u0000xxunkq\u0001X\u0003\u0000\u0000\u0000theq\u0002X\u0006\u0000\u0000\u0000na\u00c3\u00afveq\u0003e.")]
    [InlineData(4, "\u0080\u0004\u0095\u001c\u0000\u0000\u0000\u0000\u0000\u0000\u0000]\u0094(\u008c\u0005xxunk\u0094\u008c\u0003the\u0094\u008c\u0006na\u00c3\u00afve\u0094e.")]
    public void Reads_vocabularies_pickled_with_any_protocol(int protocol, string latin1Bytes)
    {
        // Bytes printed by CPython 3.11's pickle.dumps(['xxunk', 'the', 'naïve', ...], protocol).
        string path = Path.Combine(folder, $"protocol{protocol}.pkl");
        File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes(latin1Bytes));
        var tokens = FastAiVocabularyFile.Read(path);
        Assert.Equal(["xxunk", "the", "naïve"], tokens.Take(3));
        if (protocol == 0)
        {
            Assert.Equal("日🙂\\", tokens[3]);
        }
    }

    [Fact]
    public void A_checkpoint_given_as_vocabulary_fails_clearly()
    {
        var error = Assert.Throws<PretrainedWeightsException>(() => FastAiVocabularyFile.Read(Fixture.Checkpoint));
        Assert.Contains(Fixture.Checkpoint, error.Message, StringComparison.Ordinal);
        Assert.Contains("zip archive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_embeddings_gives_what_fastai_match_embeds_computed_in_pytorch()
    {
        TorchTestSetup.Use();
        var expected = Fixture.Expected.Value;
        using var state = PyTorchCheckpointFile.Read(Fixture.Checkpoint);
        var oldVocabulary = FastAiVocabularyFile.Read(Fixture.Vocabulary);
        var newVocabulary = Fixture.Strings(expected.GetProperty("new_vocab"));

        using var match = EmbeddingMatcher.MatchEmbeddings(state.Tensors["0.encoder.weight"], state.Tensors["1.decoder.bias"],
            oldVocabulary, newVocabulary);

        Assert.Equal(13, match.Matched); // 9 specials + a . the of
        Assert.Equal(4, match.New); // cat dog sat mat
        Assert.Equal(new long[] { 17, 8 }, match.Weights.shape);
        AssertClose(Fixture.Floats(expected.GetProperty("matched_encoder_rows")), Fixture.Values(match.Weights));
        AssertClose(Fixture.Floats(expected.GetProperty("matched_bias")), Fixture.Values(match.Bias!));
        // A matched token's row is copied exactly: "the" is new id 12, old id 9.
        Assert.Equal(Fixture.Values(state.Tensors["0.encoder.weight"][9]), Fixture.Values(match.Weights[12]));
    }

    [Fact]
    public void Match_embeddings_rejects_a_vocabulary_that_does_not_fit_the_weights()
    {
        TorchTestSetup.Use();
        using var weights = torch.zeros(4, 2);
        var error = Assert.Throws<ArgumentException>(() => EmbeddingMatcher.MatchEmbeddings(weights, null, ["a", "b"], ["a"]));
        Assert.Contains("2 tokens", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Copied rows are exact; mean rows may differ in the last bit between libtorch versions.</summary>
    internal static void AssertClose(float[] expected, float[] actual, float tolerance = 1e-7f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
