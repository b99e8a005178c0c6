using FastText.Engine.Text;

namespace FastText.Benchmarks.Data;

/// <summary>Deterministic in-memory corpora for loader benchmarks (the memory-mapped corpus is another branch's work).</summary>
public static class SyntheticCorpus
{
    /// <summary>Documents with lengths uniform in [<paramref name="minLength"/>, <paramref name="maxLength"/>] and ids
    /// uniform below <paramref name="vocabulary"/>, until about <paramref name="tokens"/> tokens; labels alternate 0/1.</summary>
    public static InMemoryTokenCorpus Create(long tokens, int minLength, int maxLength, int vocabulary, int seed)
    {
        var random = new Random(seed);
        var documents = new List<int[]>();
        long total = 0;
        while (total < tokens)
        {
            var document = new int[random.Next(minLength, maxLength + 1)];
            for (int k = 0; k < document.Length; k++)
            {
                document[k] = random.Next(2, vocabulary);
            }
            documents.Add(document);
            total += document.Length;
        }
        return new InMemoryTokenCorpus(documents, documents.Select((_, i) => i % 2).ToArray(), new[] { "ham", "spam" });
    }

    /// <summary>A labelled corpus whose documents have exactly <paramref name="lengths"/> tokens (ids are irrelevant for padding).</summary>
    public static InMemoryTokenCorpus WithLengths(IReadOnlyList<int> lengths)
    {
        var documents = lengths.Select(l => new int[l]).ToArray();
        return new InMemoryTokenCorpus(documents, documents.Select((_, i) => i % 2).ToArray(), new[] { "ham", "spam" });
    }
}
