using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

public sealed class TaggedSentencesTests : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    [Theory]
    [InlineData("nn", "NOUN")]
    [InlineData("nn-tl", "NOUN")]
    [InlineData("np$", "NOUN")]
    [InlineData("nns-tl-hl", "NOUN")]
    [InlineData("pp$", "PRON")]
    [InlineData("ppss+md", "PRON")]
    [InlineData("bez*", "VERB")]
    [InlineData("md", "VERB")]
    [InlineData("cs", "ADP")]
    [InlineData("*", "ADV")]
    [InlineData("*-hl", "ADV")]
    [InlineData("fw-nn", "X")]
    [InlineData("at", "DET")]
    [InlineData("to", "PRT")]
    [InlineData(".-hl", ".")]
    [InlineData("``", ".")]
    [InlineData("cd", "NUM")]
    [InlineData("NOUN", "NOUN")]
    [InlineData("zzz", "X")]
    public void Brown_tags_map_to_the_universal_tags(string brown, string universal) => Assert.Equal(universal, BrownTags.ToUniversal(brown));

    [Fact]
    public void A_tagged_file_reads_one_sentence_per_line_split_at_the_last_slash()
    {
        string path = folder.Write("tagged.txt", "The/at jury/nn said/vbd 1/2/cd ./.\n\n  \nIt/pps is/bez ./.\n");
        IReadOnlyList<TaggedSentence> sentences = TaggedSentences.Read(path);
        Assert.Equal(2, sentences.Count);
        Assert.Equal(["The", "jury", "said", "1/2", "."], sentences[0].Words);
        Assert.Equal(["DET", "NOUN", "VERB", "NUM", "."], sentences[0].Tags);
        Assert.Equal(["pps", "bez", "."], TaggedSentences.Read(path, coarse: false)[1].Tags);
    }

    [Theory]
    [InlineData("The/at jury/nn\nsaid ./.\n", "line 2: token 1 'said'")]
    [InlineData("The/at jury/\n", "line 1: token 2 'jury/'")]
    [InlineData("/at jury/nn\n", "line 1: token 1 '/at'")]
    public void A_bad_token_is_rejected_naming_the_file_and_line(string text, string expected)
    {
        string path = folder.Write("bad.txt", text);
        var error = Assert.Throws<InvalidDataException>(() => TaggedSentences.Read(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_or_missing_file_is_rejected_by_name()
    {
        string empty = folder.Write("empty.txt", "\n\n");
        Assert.Contains(empty, Assert.Throws<InvalidDataException>(() => TaggedSentences.Read(empty)).Message, StringComparison.Ordinal);
        string missing = folder.Combine("missing.txt");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => TaggedSentences.Read(missing)).Message, StringComparison.Ordinal);
        string notGzip = folder.Write("plain.txt.gz", "The/at jury/nn\n");
        Assert.Contains(notGzip, Assert.Throws<InvalidDataException>(() => TaggedSentences.Read(notGzip)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_tagged_sample_is_Brown_in_twelve_universal_tags()
    {
        IReadOnlyList<TaggedSentence> sentences = TaggedSentences.Read(SampleCorpusTests.Sample("brown-tagged.txt.gz"));
        Assert.Equal(2825, sentences.Count);
        string[] tags = sentences.SelectMany(s => s.Tags).ToArray();
        Assert.Equal(57679, tags.Length);
        Assert.Subset(BrownTags.Universal.ToHashSet(), tags.ToHashSet());
        Assert.True(tags.Count(t => t == "X") < tags.Length / 200, "almost every Brown tag has a universal one");
        Assert.Equal("NOUN", tags.GroupBy(t => t).MaxBy(g => g.Count())!.Key);
        Assert.Equal(["The", "Fulton", "County"], sentences[0].Words.Take(3));
    }
}
