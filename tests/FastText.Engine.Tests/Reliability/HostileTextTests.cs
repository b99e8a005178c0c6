using System.Text;
using System.Text.Unicode;
using CsCheck;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;
using FastText.Engine.Tests.Training;

namespace FastText.Engine.Tests.Reliability;

/// <summary>
/// Property-based tests (CsCheck: random inputs, a failing one shrunk to a minimal case and printed with its seed):
/// random Unicode (lone surrogates, NUL, controls, bidi marks, fastai's own markers), random bytes (invalid UTF-8),
/// long texts. The tokenizer never throws, its two entry points agree, chunking a long document changes no token,
/// plain text decodes back to itself, and predict gives finite probabilities that sum to 1 for anything.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class HostileTextTests
{
    // Pieces that have broken tokenizers: fastai's markers typed by a user, HTML entities, repeats, odd whitespace.
    private static readonly string[] Nasty =
    [
        "\0", "\u0001", "\u001f", "\u007f", "\t", "\r\n", "\u00a0", "\u2028", "\u200b", "\u202e", "\ufeff", "\ufffd",
        "\ud800", "\udfff", "😀", "e\u0301", "İ", "ς", "xxbos", "xxmaj", "xxup", "xxrep", "xxwrep", "xxunk", "xxpad",
        "&amp;", "&#39;", "<br />", "#", "/", "@.@", "!!!!", "aaaa", "the the the the", " ", "    ", "quot;", "\\n",
    ];

    private static readonly Gen<string> AnyText = Gen.OneOf(
        Gen.String[0, 200],                                                 // any UTF-16 code units
        Gen.Frequency((3, Gen.String[Gen.Char['a', 'z'], 1, 8]), (1, Gen.OneOf(Nasty)), (1, Gen.String[0, 4]))
            .Array[0, 60].Select(parts => string.Join(' ', parts)));

    // Words of the kinds the rules rewrite (capitals, repeats, punctuation, HTML) and plain ones the chunker may cut at.
    private static readonly Gen<string> Prose = Gen.Frequency(
            (6, Gen.OneOf("the", "money", "free", "Kernel", "PATCH", "a", "I", "2024", "x1")),
            (2, Gen.OneOf("don't", "U.S.", "e-mail", "(see", "it)", ",", ".", "!!", "&amp;", "<br />", "#tag", "a/b")),
            (1, Gen.OneOf("aaaa", "the the the the", "Free Free Free", "NO NO NO NO", "  ", "xxbos", "\0", "é")))
        .Array[1, 400].Select(words => string.Join(' ', words));

    [Fact]
    public void Any_text_tokenizes_without_throwing_into_non_empty_tokens_whose_ids_are_in_the_vocabulary()
    {
        Vocabulary vocabulary = Vocabulary.FromTokens(["the", "money", "xxmaj", "."]);
        AnyText.Sample(text =>
        {
            var tokenizer = new FastaiTokenizer();
            IReadOnlyList<string> tokens = tokenizer.Tokenize(text);
            Assert.Equal(SpecialTokens.BeginningOfStream, tokens[0]);
            Assert.All(tokens, t => Assert.False(string.IsNullOrEmpty(t)));
            Assert.All(tokenizer.Numericalize(text, vocabulary), id => Assert.InRange(id, 0, vocabulary.Count - 1));
        }, iter: 2000, threads: 1);
    }

    [Fact]
    public void The_utf8_path_gives_the_tokens_of_the_string_path_with_nul_as_space()
    {
        // Lone surrogates have no UTF-8 form (they would become U+FFFD), and a leading BOM is dropped by design.
        AnyText.Where(t => !t.StartsWith('\ufeff') && Utf8.FromUtf16(t, new byte[t.Length * 3], out _, out _, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done)
            .Sample(text =>
            {
                var tokenizer = new FastaiTokenizer();
                Assert.Equal(tokenizer.Tokenize(text.Replace('\0', ' ')), TokenizeUtf8(tokenizer, Encoding.UTF8.GetBytes(text)).Tokens);
            }, iter: 2000, threads: 1);
    }

    [Fact]
    public void Random_bytes_tokenize_counting_each_repair_and_no_token_holds_a_nul()
    {
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            var (tokens, report) = TokenizeUtf8(new FastaiTokenizer(), bytes);
            Assert.Equal(!Utf8.IsValid(bytes), report.InvalidSequences > 0);
            Assert.Equal(bytes.Count(b => b == 0), report.NulCharacters);
            Assert.All(tokens, t => Assert.DoesNotContain('\0', t));
        }, iter: 3000, threads: 1);
    }

    [Fact]
    public void A_document_tokenized_in_chunks_gives_the_tokens_of_the_whole()
    {
        // Chunks of 16–200 bytes instead of 4 MB: every cut is exercised on texts of a few hundred words.
        Gen.Select(Prose, Gen.Int[16, 200]).Sample((text, chunk) =>
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            var whole = TokenizeUtf8(new FastaiTokenizer(), utf8);
            var chunked = TokenizeUtf8(new FastaiTokenizer { ChunkBytes = chunk }, utf8);
            Assert.Equal(whole.Tokens, chunked.Tokens);
            Assert.Equal(whole.Report, chunked.Report);
        }, iter: 1500, threads: 1);
    }

    [Fact]
    public void Plain_words_decode_back_to_the_text()
    {
        // Lower-case, Capitalised and UPPER-CASE words, no letter three times running, no word twice running (fastai
        // rewrites those into xxrep/xxwrep, which decode to the same letters but not around capitals), and without the
        // letters of English contractions (n t m s d v l r): spaCy splits "Im", "cant", "gonna" as it would "I'm".
        const string Lower = "abcefghijkopquwxyz", Upper = "ABCEFGHIJKOPQUWXYZ";
        Gen<string> word = Gen.OneOf(
            Gen.String[Gen.Char[Lower], 1, 8],
            Gen.Select(Gen.Char[Upper], Gen.String[Gen.Char[Lower], 1, 7], (c, rest) => c + rest),
            Gen.String[Gen.Char[Upper], 2, 8]);
        // Nor a word that spells one of fastai's markers ("XXUP" is lower-cased to xxup, which decodes as a marker).
        word.Where(w => !HasTriple(w) && !w.StartsWith("xx", StringComparison.OrdinalIgnoreCase)).Array[1, 40]
            .Where(words => words.Zip(words.Skip(1)).All(p => !string.Equals(p.First, p.Second, StringComparison.OrdinalIgnoreCase)))
            .Select(words => string.Join(' ', words))
            .Sample(text => Assert.Equal(text, TokenDecoder.Decode(new FastaiTokenizer().Tokenize(text))), iter: 2000, threads: 1);
    }

    [Fact]
    public void Predict_gives_finite_probabilities_summing_to_one_for_any_text()
    {
        TorchTestSetup.Use();
        Vocabulary vocabulary = Vocabulary.FromTokens(["the", "money", "free", "kernel", "xxmaj", "."]);
        TorchSharp.torch.manual_seed(3);
        using TextClassifier model = TextClassifier.Create(vocabulary.Count, new AwdLstmConfig(EmbeddingSize: 8, HiddenSize: 16, Layers: 2), classCount: 3, bptt: 16);
        model.eval();
        var tokenizer = new FastaiTokenizer();
        var predictor = new ClassifierPredictor(model, ["a", "b", "c"], text => tokenizer.Numericalize(text, vocabulary), batchSize: 8);
        AnyText.Array[1, 8].Sample(texts =>
        {
            IReadOnlyList<Prediction> predictions = predictor.Predict(texts);
            Assert.Equal(texts.Length, predictions.Count);
            foreach (Prediction p in predictions)
            {
                Assert.All(p.Probabilities, q => Assert.True(float.IsFinite(q) && q >= 0, $"probability {q}"));
                Assert.InRange(p.Probabilities.Sum(), 0.999f, 1.001f);
                Assert.Equal(p.Probabilities.Max(), p.Probabilities[p.ClassIndex]);
            }
        }, iter: 60, threads: 1);
    }

    private static bool HasTriple(string word)
    {
        for (int i = 2; i < word.Length; i++)
        {
            if (word[i] == word[i - 1] && word[i] == word[i - 2])
            {
                return true;
            }
        }
        return false;
    }

    private static (List<string> Tokens, DecodeReport Report) TokenizeUtf8(FastaiTokenizer tokenizer, byte[] utf8)
    {
        var sink = new Collect();
        DecodeReport report = tokenizer.TokenizeUtf8(utf8, ref sink);
        return (sink.Tokens, report);
    }

    private struct Collect : ITokenSink
    {
        public Collect() { }

        public List<string> Tokens { get; } = [];

        public readonly void Add(ReadOnlySpan<char> token) => Tokens.Add(token.ToString());
    }
}
