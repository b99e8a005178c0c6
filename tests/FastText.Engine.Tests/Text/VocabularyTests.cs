using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

public sealed class VocabularyTests
{
    private static KeyValuePair<string, long> C(string token, long count) => new(token, count);

    [Fact]
    public void Specials_come_first_then_count_order_with_first_occurrence_ties()
    {
        var vocabulary = Vocabulary.Build([C("b", 5), C("the", 9), C("a", 5), C("rare", 2), C("xxmaj", 4), C("c", 5)]);
        Assert.Equal(SpecialTokens.All, vocabulary.Tokens.Take(9));
        // 'the' (9), then b, a, c (5 each, in first-occurrence order); 'rare' is below min_freq 3.
        Assert.Equal(["the", "b", "a", "c"], vocabulary.Tokens.Skip(9).Take(4));
        Assert.Equal(0, vocabulary.IdOf("rare"));
        Assert.Equal(8, vocabulary.IdOf("xxmaj"));
        Assert.Equal(0, vocabulary.Count % 8);
    }

    [Fact]
    public void Padding_adds_eight_when_already_a_multiple_of_eight_like_fastai()
    {
        // 9 specials + 7 words = 16 → fastai appends 8 more 'xxfake'.
        var counts = Enumerable.Range(0, 7).Select(i => C("w" + i, 10)).ToList();
        var vocabulary = Vocabulary.Build(counts);
        Assert.Equal(24, vocabulary.Count);
        Assert.Equal(SpecialTokens.Fake, vocabulary[23]);
        Assert.Equal(SpecialTokens.UnknownId, vocabulary.IdOf(SpecialTokens.Fake));
    }

    [Fact]
    public void Maximum_size_counts_the_specials_then_pads()
    {
        var counts = Enumerable.Range(0, 100).Select(i => C("w" + i, 1000 - i)).ToList();
        var vocabulary = Vocabulary.Build(counts, maximumSize: 20);
        Assert.Equal(24, vocabulary.Count); // 20 + 4 padding
        Assert.Equal("w10", vocabulary[19]);
        Assert.Equal(0, vocabulary.IdOf("w11"));
    }

    [Fact]
    public void Save_and_load_round_trip_including_whitespace_tokens()
    {
        var vocabulary = Vocabulary.Build([C("\n\n", 5), C("a\\b", 4), C("\t", 3), C("é", 3)]);
        using var folder = new TemporaryFolder();
        string path = folder.Combine("vocab.txt");
        vocabulary.Save(path);
        Vocabulary loaded = Vocabulary.Load(path);
        Assert.Equal(vocabulary.Tokens, loaded.Tokens);
        Assert.Equal(vocabulary.Hash, loaded.Hash);
        Assert.Equal(vocabulary.IdOf("\n\n"), loaded.IdOf("\n\n"));
    }

    [Fact]
    public void Damaged_or_foreign_vocabulary_files_are_rejected()
    {
        var vocabulary = Vocabulary.Build([C("hello", 5)]);
        using var folder = new TemporaryFolder();
        string path = folder.Combine("vocab.txt");
        vocabulary.Save(path);
        File.WriteAllText(path, File.ReadAllText(path).Replace("hello", "hallo", StringComparison.Ordinal));
        Assert.Contains("hash mismatch", Assert.Throws<InvalidDataException>(() => Vocabulary.Load(path)).Message, StringComparison.Ordinal);
        File.WriteAllText(path, "{\"not\": \"a vocabulary\"}");
        Assert.Contains("not a vocabulary file", Assert.Throws<InvalidDataException>(() => Vocabulary.Load(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_token_lists_map_duplicates_to_their_last_position_and_xxfake_to_xxunk()
    {
        var vocabulary = Vocabulary.FromTokens(["xxunk", "a", "xxfake", "b", "a"]);
        Assert.Equal(4, vocabulary.IdOf("a"));
        Assert.Equal(3, vocabulary.IdOf("b"));
        Assert.Equal(0, vocabulary.IdOf("xxfake"));
        Assert.Equal(0, vocabulary.IdOf("c"));
    }

    [Fact]
    public void Numericalize_maps_unknown_words_to_xxunk()
    {
        var vocabulary = Vocabulary.Build([C("hello", 5), C("world", 5)]);
        int[] ids = new FastaiTokenizer().Numericalize("Hello unknownword world", vocabulary);
        Assert.Equal([SpecialTokens.BeginningOfStreamId, SpecialTokens.CapitalizedId, vocabulary.IdOf("hello"), 0, vocabulary.IdOf("world")], ids);
    }
}
