namespace FastText.Engine.Text;

/// <summary>
/// Every document of another <see cref="ITokenCorpus"/> with its tokens in reverse order (fastai's <c>backwards=True</c>,
/// its <c>reverse_text</c> transform: token i of a reversed document is token L−1−i of the source, so <c>xxbos</c> comes
/// last). Labels and class names pass through; no tokens are copied until read.
/// </summary>
/// <remarks>
/// The loaders read documents only through <see cref="ITokenCorpus"/>, so wrapping a corpus is all a backwards language
/// model or classifier needs on the data side: LM streams concatenate reversed documents, classifier batches pad reversed
/// texts exactly as they pad forward ones. Stateless, hence as safe for concurrent reads as its source.
/// </remarks>
internal sealed class ReversedTokenCorpus : ITokenCorpus
{
    private readonly ITokenCorpus source;

    /// <summary>Presents <paramref name="source"/>'s documents reversed.</summary>
    public ReversedTokenCorpus(ITokenCorpus source)
    {
        ArgumentNullException.ThrowIfNull(source);
        this.source = source;
    }

    /// <inheritdoc />
    public int DocumentCount => source.DocumentCount;

    /// <inheritdoc />
    public long TokenCount => source.TokenCount;

    /// <inheritdoc />
    public bool HasLabels => source.HasLabels;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames => source.ClassNames;

    /// <inheritdoc />
    public int DocumentLength(int document) => source.DocumentLength(document);

    /// <inheritdoc />
    public void CopyTokens(int document, int start, Span<int> destination)
    {
        int length = source.DocumentLength(document);
        if (start < 0 || (long)start + destination.Length > length)
        {
            // Checked here: the source would report the mirrored range, which names tokens the caller never asked for.
            throw new ArgumentOutOfRangeException(nameof(destination), $"Tokens [{start}, {(long)start + destination.Length}) are outside reversed document {document} ({length} tokens).");
        }
        // Reversed tokens [start, start + n) are source tokens [L − start − n, L − start), read backwards.
        source.CopyTokens(document, length - start - destination.Length, destination);
        destination.Reverse();
    }

    /// <inheritdoc />
    public int Label(int document) => source.Label(document);
}
