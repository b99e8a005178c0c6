namespace FastText.Engine.Text;

/// <summary>
/// Numericalized documents as the loaders see them: token ids per document, optional class labels.
/// Implemented by the memory-mapped corpus file and by <see cref="InMemoryTokenCorpus"/>.
/// </summary>
/// <remarks>Implementations must be safe for concurrent reads (the prefetching loaders read from a background thread).</remarks>
public interface ITokenCorpus
{
    /// <summary>Number of documents.</summary>
    int DocumentCount { get; }

    /// <summary>Total number of tokens over all documents.</summary>
    long TokenCount { get; }

    /// <summary>Number of tokens in <paramref name="document"/>.</summary>
    int DocumentLength(int document);

    /// <summary>
    /// Copies tokens <c>[start, start + destination.Length)</c> of <paramref name="document"/> into
    /// <paramref name="destination"/> as int32 ids.
    /// </summary>
    void CopyTokens(int document, int start, Span<int> destination);

    /// <summary>Whether documents carry class labels.</summary>
    bool HasLabels { get; }

    /// <summary>Class index of <paramref name="document"/> (0 … ClassNames.Count−1); throws when there are no labels.</summary>
    int Label(int document);

    /// <summary>Class names, indexed by label; empty when there are no labels.</summary>
    IReadOnlyList<string> ClassNames { get; }
}
