namespace FastText.Engine.Text;

/// <summary>A subset of the documents of another <see cref="ITokenCorpus"/>, renumbered 0…n−1 (no tokens copied).</summary>
public sealed class TokenCorpusView : ITokenCorpus
{
    private readonly ITokenCorpus source;
    private readonly int[] documents;
    private readonly bool allLabeled;

    /// <summary>Creates a view of <paramref name="documents"/> (indices into <paramref name="source"/>).</summary>
    /// <param name="source">The corpus to read from.</param>
    /// <param name="documents">Source document indices, in the order the view presents them.</param>
    /// <param name="isLabeled">Whether a source document has a label; null means "as the source says".</param>
    public TokenCorpusView(ITokenCorpus source, int[] documents, Func<int, bool>? isLabeled = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(documents);
        this.source = source;
        this.documents = documents;
        long tokens = 0;
        foreach (int d in documents)
        {
            if ((uint)d >= (uint)source.DocumentCount)
            {
                throw new ArgumentOutOfRangeException(nameof(documents), $"Document {d} is outside the {source.DocumentCount} documents of the source.");
            }
            tokens += source.DocumentLength(d);
        }
        TokenCount = tokens;
        allLabeled = documents.Length > 0 && (isLabeled is null ? source.HasLabels : documents.All(isLabeled));
    }

    /// <summary>The source index of view document <paramref name="document"/>.</summary>
    public int SourceDocument(int document) => documents[document];

    /// <inheritdoc />
    public int DocumentCount => documents.Length;

    /// <inheritdoc />
    public long TokenCount { get; }

    /// <inheritdoc />
    public bool HasLabels => allLabeled;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames => source.ClassNames;

    /// <inheritdoc />
    public int DocumentLength(int document) => source.DocumentLength(documents[document]);

    /// <inheritdoc />
    public void CopyTokens(int document, int start, Span<int> destination) => source.CopyTokens(documents[document], start, destination);

    /// <inheritdoc />
    public int Label(int document) => source.Label(documents[document]);
}
