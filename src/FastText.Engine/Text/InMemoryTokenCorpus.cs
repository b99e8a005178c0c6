namespace FastText.Engine.Text;

/// <summary>An <see cref="ITokenCorpus"/> over arrays already in memory (tests, small data, tokenized-on-the-fly text).</summary>
public sealed class InMemoryTokenCorpus : ITokenCorpus
{
    private readonly int[] tokens;
    private readonly long[] offsets; // document d is tokens[offsets[d] .. offsets[d + 1])
    private readonly int[]? labels;

    /// <summary>Creates a corpus from one id array per document and, optionally, a label per document.</summary>
    /// <param name="documents">Token ids of each document.</param>
    /// <param name="labels">Class index of each document, or <c>null</c>.</param>
    /// <param name="classNames">Names of the classes, indexed by label (required with labels).</param>
    public InMemoryTokenCorpus(IReadOnlyList<int[]> documents, IReadOnlyList<int>? labels = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        offsets = new long[documents.Count + 1];
        for (int d = 0; d < documents.Count; d++)
        {
            offsets[d + 1] = offsets[d] + documents[d].Length;
        }
        tokens = new int[offsets[^1]];
        for (int d = 0; d < documents.Count; d++)
        {
            documents[d].CopyTo(tokens, offsets[d]);
        }
        if (labels is not null)
        {
            if (labels.Count != documents.Count)
            {
                throw new ArgumentException($"{labels.Count} labels for {documents.Count} documents.", nameof(labels));
            }
            if (classNames is null || classNames.Count == 0)
            {
                throw new ArgumentException("Labels need class names.", nameof(classNames));
            }
            this.labels = new int[labels.Count];
            for (int d = 0; d < labels.Count; d++)
            {
                if ((uint)labels[d] >= (uint)classNames.Count)
                {
                    throw new ArgumentOutOfRangeException(nameof(labels), $"Document {d} has label {labels[d]}, but there are {classNames.Count} classes.");
                }
                this.labels[d] = labels[d];
            }
        }
        ClassNames = classNames ?? Array.Empty<string>();
    }

    /// <inheritdoc />
    public int DocumentCount => offsets.Length - 1;

    /// <inheritdoc />
    public long TokenCount => offsets[^1];

    /// <inheritdoc />
    public bool HasLabels => labels is not null;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc />
    public int DocumentLength(int document) => checked((int)(offsets[document + 1] - offsets[document]));

    /// <inheritdoc />
    public void CopyTokens(int document, int start, Span<int> destination)
    {
        int length = DocumentLength(document);
        if (start < 0 || start + destination.Length > length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Tokens [{start}, {start + destination.Length}) are outside document {document} of length {length}.");
        }
        tokens.AsSpan(checked((int)(offsets[document] + start)), destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    public int Label(int document) => labels is null
        ? throw new InvalidOperationException("This corpus has no labels.")
        : labels[document];
}
