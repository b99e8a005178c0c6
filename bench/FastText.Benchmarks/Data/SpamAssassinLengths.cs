using FastText.Engine.Text;

namespace FastText.Benchmarks.Data;

/// <summary>
/// Document lengths of the SpamAssassin corpus (all five folders, 6,046 mails): each body (after the first empty
/// line, as <see cref="SpamAssassinDocumentSource"/> reads it) tokenized by the engine's <see cref="FastaiTokenizer"/>
/// (fastai rules + spaCy-style split, with xxbos), so these are the lengths the classifier loader really sees.
/// </summary>
public static class SpamAssassinLengths
{
    private static readonly Lazy<int[]> Cached = new(Load);

    /// <summary>The lengths, one per mail, in the source's order.</summary>
    public static int[] All => Cached.Value;

    /// <summary>Where the corpus is read from (the main checkout's read-only .data, or FASTTEXT_DATA).</summary>
    public static string Folder => Path.Combine(Environment.GetEnvironmentVariable("FASTTEXT_DATA") ?? "/work/main/.data", "spam-assassin", "data");

    private static int[] Load()
    {
        var source = new SpamAssassinDocumentSource(Folder);
        var problems = new SourceProblems();
        var tokenizer = new FastaiTokenizer();
        var lengths = new List<int>();
        foreach (TextDocument document in source.ReadDocuments(problems))
        {
            var counter = new Counter();
            tokenizer.TokenizeUtf8(document.Utf8.Span, ref counter);
            lengths.Add(counter.Count);
        }
        if (lengths.Count == 0)
        {
            throw new InvalidOperationException($"No SpamAssassin mails found under {Folder}; run scripts/fetch-corpora.sh.");
        }
        return lengths.ToArray();
    }

    private struct Counter : ITokenSink
    {
        public int Count;

        public void Add(ReadOnlySpan<char> token) => Count++;
    }
}
