using FastText.Engine.Text;

namespace FastText.Engine.Tests.Data;

/// <summary>Corpora whose token ids encode their position, so a batch's content can be checked exactly.</summary>
internal static class TestCorpora
{
    /// <summary>Documents of the given lengths; token k of document d is <c>Id(d, k)</c>.</summary>
    public static InMemoryTokenCorpus WithLengths(IReadOnlyList<int> lengths, IReadOnlyList<int>? labels = null, int classes = 2)
    {
        var documents = lengths.Select((length, d) => Enumerable.Range(0, length).Select(k => Id(d, k)).ToArray()).ToArray();
        return labels is null
            ? new InMemoryTokenCorpus(documents)
            : new InMemoryTokenCorpus(documents, labels, Enumerable.Range(0, classes).Select(c => "class" + c).ToArray());
    }

    /// <summary>Id of token <paramref name="k"/> of document <paramref name="d"/> (never the pad id 1).</summary>
    public static int Id(int d, int k) => 2 + d * 10_000 + k;

    /// <summary>Random lengths in [min, max].</summary>
    public static int[] RandomLengths(int count, int min, int max, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(min, max + 1)).ToArray();
    }

    /// <summary>All documents concatenated in <paramref name="order"/>.</summary>
    public static int[] Stream(ITokenCorpus corpus, IEnumerable<int> order)
    {
        var stream = new List<int>();
        foreach (int d in order)
        {
            var tokens = new int[corpus.DocumentLength(d)];
            corpus.CopyTokens(d, 0, tokens);
            stream.AddRange(tokens);
        }
        return stream.ToArray();
    }
}

/// <summary>A corpus that fails when a given document is read (producer-exception tests).</summary>
internal sealed class FailingCorpus : ITokenCorpus
{
    private readonly ITokenCorpus inner;
    private readonly int failingDocument;

    public FailingCorpus(ITokenCorpus inner, int failingDocument)
    {
        this.inner = inner;
        this.failingDocument = failingDocument;
    }

    public int DocumentCount => inner.DocumentCount;

    public long TokenCount => inner.TokenCount;

    public bool HasLabels => inner.HasLabels;

    public IReadOnlyList<string> ClassNames => inner.ClassNames;

    public int DocumentLength(int document) => inner.DocumentLength(document);

    public void CopyTokens(int document, int start, Span<int> destination)
    {
        if (document == failingDocument)
        {
            throw new IOException($"corpus.bin: document {document} is unreadable (test)");
        }
        inner.CopyTokens(document, start, destination);
    }

    public int Label(int document) => inner.Label(document);
}
