using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

/// <summary>The shipped samples read through the tar.gz reader and build real corpora.</summary>
public sealed class SampleCorpusTests
{
    internal static string Sample(string name)
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "samples", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"samples/{name} not found above {AppContext.BaseDirectory}.");
    }

    [Fact]
    public void Brown_sample_builds_a_500_document_corpus_with_15_genres()
    {
        using var data = new CorpusTestData();
        CorpusBuildResult result = CorpusBuilder.Build(new TarGzDocumentSource(Sample("brown.tar.gz")), Path.Combine(data.Root, "brown.ftc"));
        Assert.Empty(result.Failures);
        Assert.Equal(500, result.Documents);
        Assert.Equal(0, result.InvalidUtf8Sequences);
        using NumericalizedCorpus corpus = NumericalizedCorpus.Open(result.CorpusPath, result.Vocabulary);
        Assert.Equal(15, corpus.ClassNames.Count);
        Assert.True(corpus.HasLabels);
        Assert.Equal(2, corpus.IdWidth); // a few ten thousand words fit in 16 bits
        Assert.InRange(corpus.TokenCount, 1_000_000, 1_400_000);
        Assert.Equal("the", result.Vocabulary[9]);
    }

    [Fact]
    public void Spam_sample_has_ham_spam_and_a_test_split()
    {
        List<TextDocument> documents = new TarGzDocumentSource(Sample("spam-assassin.tar.gz")).ReadDocuments(new SourceProblems()).ToList();
        Assert.Equal(6046, documents.Count);
        Assert.Equal(["ham", "spam"], documents.Select(d => d.Label).Distinct().Order());
        int validation = documents.Count(d => d.Split == DocumentSplit.Validation);
        Assert.InRange(validation, 6046 * 15 / 100, 6046 * 25 / 100); // ~52 of 256 leading bytes are multiples of 5
    }
}
