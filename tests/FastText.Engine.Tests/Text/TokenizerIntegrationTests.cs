using System.Text;
using FastText.Engine.Text;
using Microsoft.ML.Tokenizers;

namespace FastText.Engine.Tests.Text;

/// <summary>Microsoft.ML.Tokenizers interop: our word tokenizer as a Tokenizer, and a subword model in the corpus builder.</summary>
public sealed class TokenizerIntegrationTests
{
    private static Vocabulary SmallVocabulary() => Vocabulary.Build(
        new[] { "the", "movie", "was", "great", "!", "i", "'m", "shouting" }.Select(t => new KeyValuePair<string, long>(t, 5)));

    [Fact]
    public void Word_tokenizer_encodes_counts_and_decodes_through_the_ml_abstraction()
    {
        Vocabulary vocabulary = SmallVocabulary();
        Tokenizer tokenizer = new WordTokenizer(vocabulary);
        IReadOnlyList<int> ids = tokenizer.EncodeToIds("The movie was GREAT!");
        Assert.Equal(new FastaiTokenizer().Numericalize("The movie was GREAT!", vocabulary), ids);
        Assert.Equal(ids.Count, tokenizer.CountTokens("The movie was GREAT!"));

        IReadOnlyList<EncodedToken> tokens = tokenizer.EncodeToTokens("The movie was GREAT!", out string? normalized);
        Assert.Equal("xxbos xxmaj the movie was xxup great!", normalized);
        Assert.Equal(["xxbos", "xxmaj", "the", "movie", "was", "xxup", "great", "!"], tokens.Select(t => t.Value));
        Assert.All(tokens, t => Assert.Equal(t.Value, normalized![t.Offset]));
        Assert.Equal("The movie was GREAT !", tokenizer.Decode(ids));
    }

    [Fact]
    public void Subword_model_tokenizes_after_the_fastai_rules_and_builds_a_corpus()
    {
        // A tiny BPE model: characters, a few merges, fastai's special tokens kept whole.
        var vocabulary = new Dictionary<string, int>();
        foreach (string piece in "a b c d e g h i m n o r s t u v w x y ! , . th the mo vi movi movie".Split(' '))
        {
            vocabulary[piece] = vocabulary.Count;
        }
        var specials = SpecialTokens.All.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => 1000 + p.i);
        var model = BpeTokenizer.Create(new BpeOptions(vocabulary)
        {
            Merges = ["t h", "th e", "m o", "v i", "mo vi", "movi e"],
            SpecialTokens = specials,
            PreTokenizer = PreTokenizer.CreateWordOrNonWord(specials),
            UnknownToken = null,
        });
        var subword = new SubwordTokenizer(model);
        IReadOnlyList<string> pieces = subword.Tokenize("The movie");
        Assert.Equal("xxbos", pieces[0]);
        Assert.Equal("xxmaj", pieces[1]);
        Assert.Contains("the", pieces);

        using var data = new CorpusTestData();
        data.File("docs/0.txt", "The movie.");
        data.File("docs/1.txt", "A movie, the movie!");
        CorpusBuildResult result = CorpusBuilder.Build(new FolderDocumentSource(Path.Combine(data.Root, "docs"), FolderLayout.Unlabeled),
            Path.Combine(data.Root, "subword.ftc"),
            new CorpusBuildOptions { TokenizerFactory = () => new SubwordTokenizer(model), MinimumFrequency = 1 });
        Assert.Equal(2, result.Documents);
        Assert.True(result.Vocabulary.Contains("the"));
        using NumericalizedCorpus corpus = NumericalizedCorpus.Open(result.CorpusPath);
        Assert.Equal(SpecialTokens.BeginningOfStreamId, ReadFirst(corpus));
        Assert.True(Encoding.UTF8.GetByteCount("x") > 0);
    }

    private static int ReadFirst(ITokenCorpus corpus)
    {
        Span<int> first = stackalloc int[1];
        corpus.CopyTokens(0, 0, first);
        return first[0];
    }
}
