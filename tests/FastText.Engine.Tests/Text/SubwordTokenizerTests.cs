using FastText.Engine.Tests.Pretrained;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

/// <summary>
/// The SentencePiece route against real SentencePiece: the committed models and <c>spm_encode</c>/<c>spm_decode</c>
/// outputs in Fixtures/sentencepiece (made by scripts/make-sentencepiece-fixture.sh with Debian's sentencepiece 0.1.97,
/// trained like fastai's SentencePieceTokenizer: specials as user-defined symbols 0–8, no &lt;s&gt;/&lt;/s&gt;; the
/// <c>fastai</c> model spells them as fastai 2 does, <c>▁xxbos</c> …).
/// </summary>
public sealed class SubwordTokenizerTests
{
    private sealed record Expected(string Raw, string Ruled, string[] Pieces, int[] Ids, string DecodedIds, string DecodedPieces);

    private static string ModelPath(string model) => Fixture.File(Path.Combine("sentencepiece", model + ".model"));

    private static List<Expected> Load(string model)
    {
        string[] sentences = File.ReadAllLines(Fixture.File(Path.Combine("sentencepiece", "sentences.tsv")));
        string[] expected = File.ReadAllLines(Fixture.File(Path.Combine("sentencepiece", model + ".expected.tsv")));
        Assert.Equal(sentences.Length, expected.Length);
        Assert.True(sentences.Length >= 8);
        return sentences.Zip(expected, (s, e) =>
        {
            string[] input = s.Split('\t');
            string[] output = e.Split('\t');
            Assert.Equal(2, input.Length);
            Assert.Equal(4, output.Length);
            return new Expected(input[0], input[1], output[0].Split(' '), output[1].Split(' ').Select(int.Parse).ToArray(), output[2], output[3]);
        }).ToList();
    }

    [Theory]
    [InlineData("unigram")]
    [InlineData("bpe")]
    [InlineData("fastai")]
    public void Pieces_ids_and_decoding_match_spm_encode_and_spm_decode(string model)
    {
        var rules = new FastaiTokenizer();
        SubwordTokenizer tokenizer = SubwordTokenizer.FromSentencePiece(ModelPath(model));
        foreach (Expected sentence in Load(model))
        {
            // The fixture's second column is what our rules make of the raw text; spm_encode was run on it.
            Assert.Equal(sentence.Ruled, rules.ApplyRules(sentence.Raw));
            Assert.Equal(sentence.Pieces, tokenizer.Tokenize(sentence.Raw));
            Assert.Equal(sentence.Ids, tokenizer.EncodeToIds(sentence.Raw));
            Assert.Equal(sentence.DecodedIds, tokenizer.Decode(sentence.Ids));
            Assert.Equal(sentence.DecodedPieces, SubwordTokenizer.DecodePieces(sentence.Pieces));
        }
    }

    [Fact]
    public void The_fixture_covers_specials_unknown_characters_and_normalization()
    {
        // Guards the fixture itself: the cases the comparison above is meant to exercise must be in it.
        List<Expected> unigram = Load("unigram");
        Assert.All(unigram, s => Assert.Equal(SpecialTokens.BeginningOfStreamId, s.Ids[1]));   // xxbos is id 2 in both
        Assert.Contains(unigram, s => s.Ids.Contains(9) && s.Pieces.Contains("日本語"));          // unknown: own text, id 9
        Assert.Contains(unigram, s => s.Ids.Contains(SpecialTokens.RepeatId) && s.Ids.Contains(SpecialTokens.WordRepeatId));
        Assert.Contains(unigram, s => s.Ruled.Contains('ﬁ', StringComparison.Ordinal) && s.DecodedPieces.Contains("final", StringComparison.Ordinal));
    }

    [Fact]
    public void Fastai_spelled_specials_are_whole_pieces_and_counted_like_words()
    {
        // fastai 2's SentencePieceTokenizer.train passes the specials as ▁xxbos … ▁xxmaj, so "xxbos" after the rules
        // is the one piece ▁xxbos (id 2 of the SentencePiece model). fastai's Numericalize then counts ▁xxbos like
        // any piece: its vocabulary holds both xxbos (special, id 2) and ▁xxbos (counted). We keep that, so a vocabulary
        // of a fastai SentencePiece language model matches ours token by token.
        const string Bos = "\u2581xxbos", Maj = "\u2581xxmaj";
        List<Expected> sentences = Load("fastai");
        Assert.All(sentences, s => Assert.Equal((Bos, SpecialTokens.BeginningOfStreamId), (s.Pieces[0], s.Ids[0])));
        Assert.Contains(sentences, s => s.Pieces.Contains(Maj) && s.Ids.Contains(SpecialTokens.CapitalizedId));

        using var data = new CorpusTestData();
        string lines = data.File("sentences.txt", string.Join('\n', sentences.Select(s => s.Raw)) + "\n");
        string modelPath = ModelPath("fastai");
        CorpusBuildResult result = CorpusBuilder.Build(new LineDocumentSource(lines), Path.Combine(data.Root, "fastai.ftc"),
            new CorpusBuildOptions { TokenizerFactory = () => SubwordTokenizer.FromSentencePiece(modelPath), MinimumFrequency = 1 });
        Assert.Equal(SpecialTokens.BeginningOfStreamId, result.Vocabulary.IdOf(SpecialTokens.BeginningOfStream));
        int counted = result.Vocabulary.IdOf(Bos);
        Assert.True(counted >= SpecialTokens.All.Count, $"{Bos} has id {counted}, inside the special range");
        using NumericalizedCorpus corpus = NumericalizedCorpus.Open(result.CorpusPath, Vocabulary.Load(result.VocabularyPath));
        var first = new int[1];
        corpus.CopyTokens(0, 0, first);
        Assert.Equal(counted, first[0]);
    }

    [Theory]
    [InlineData("unigram", 2)]
    [InlineData("bpe", 1)]
    [InlineData("fastai", 2)]
    public void A_subword_corpus_holds_spm_encode_pieces_and_decodes_back(string model, int workers)
    {
        List<Expected> sentences = Load(model);
        using var data = new CorpusTestData();
        string lines = data.File("sentences.txt", string.Join('\n', sentences.Select(s => s.Raw)) + "\n");
        string modelPath = ModelPath(model);
        CorpusBuildResult result = CorpusBuilder.Build(new LineDocumentSource(lines), Path.Combine(data.Root, "subword.ftc"),
            new CorpusBuildOptions
            {
                TokenizerFactory = () => SubwordTokenizer.FromSentencePiece(modelPath),
                MinimumFrequency = 1,
                Workers = workers,
                BatchBytes = 64, // several work items, so the ordered merge is exercised
            });
        Assert.Equal(sentences.Count, result.Documents);
        Assert.Equal(sentences.Sum(s => s.Pieces.Length), result.Tokens);
        // fastai's Numericalize over the pieces: specials keep ids 0–8, so xxbos is 2 as in the SentencePiece model.
        Assert.Equal(SpecialTokens.BeginningOfStreamId, result.Vocabulary.IdOf(SpecialTokens.BeginningOfStream));

        using NumericalizedCorpus corpus = NumericalizedCorpus.Open(result.CorpusPath, Vocabulary.Load(result.VocabularyPath));
        for (int d = 0; d < sentences.Count; d++)
        {
            var ids = new int[corpus.DocumentLength(d)];
            corpus.CopyTokens(d, 0, ids);
            string[] pieces = ids.Select(id => result.Vocabulary[id]).ToArray();
            Assert.Equal(sentences[d].Pieces, pieces);
            Assert.Equal(sentences[d].DecodedPieces, SubwordTokenizer.DecodePieces(pieces));
        }
    }

    [Fact]
    public void A_missing_model_file_is_named()
    {
        string path = Path.Combine(Path.GetTempPath(), "fte-missing-" + Guid.NewGuid().ToString("N") + ".model");
        var error = Assert.Throws<FileNotFoundException>(() => SubwordTokenizer.FromSentencePiece(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("text")]
    [InlineData("truncated")]
    [InlineData("random")]
    public void A_corrupt_model_file_is_rejected_with_its_name(string kind)
    {
        byte[] model = File.ReadAllBytes(ModelPath("unigram"));
        byte[] bytes = kind switch
        {
            "empty" => [],
            "text" => "this is not a model\n"u8.ToArray(),
            "truncated" => model[..(model.Length / 2)],
            _ => RandomBytes(4096),
        };
        using var data = new CorpusTestData();
        string path = data.File(kind + ".model", bytes);
        var error = Assert.Throws<InvalidDataException>(() => SubwordTokenizer.FromSentencePiece(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_loading_names_the_file_and_equals_path_loading()
    {
        string path = ModelPath("bpe");
        using (FileStream stream = File.OpenRead(path))
        {
            SubwordTokenizer fromStream = SubwordTokenizer.FromSentencePiece(stream);
            Assert.Equal(SubwordTokenizer.FromSentencePiece(path).Tokenize("The jury said it."), fromStream.Tokenize("The jury said it."));
        }
        using var broken = new MemoryStream([0x0A, 0x7F, 0x01]);
        var error = Assert.Throws<InvalidDataException>(() => SubwordTokenizer.FromSentencePiece(broken));
        Assert.Contains("SentencePiece", error.Message, StringComparison.Ordinal);
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(7).NextBytes(bytes);
        return bytes;
    }
}
