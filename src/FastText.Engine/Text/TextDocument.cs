namespace FastText.Engine.Text;

/// <summary>One raw document as a reader produced it: UTF-8 bytes, where it came from, its label and split.</summary>
/// <param name="Source">Where it came from (file path, <c>archive.tar.gz:entry</c>, <c>file.csv:line</c>), for error messages.</param>
/// <param name="Utf8">The text as UTF-8 (decoded with repairs by the tokenizer).</param>
/// <param name="Label">Class name, or null when unlabeled.</param>
/// <param name="Split">Train or validation.</param>
public sealed record TextDocument(string Source, ReadOnlyMemory<byte> Utf8, string? Label = null, DocumentSplit Split = DocumentSplit.Train);

/// <summary>A problem a reader met and skipped (the rest of the run goes on).</summary>
/// <param name="Source">The file or entry that failed.</param>
/// <param name="Message">What went wrong.</param>
public sealed record SourceFailure(string Source, string Message);

/// <summary>Collects the failures of a read (thread-safe).</summary>
public sealed class SourceProblems
{
    private readonly List<SourceFailure> failures = [];

    /// <summary>Failures so far, in the order they happened.</summary>
    public IReadOnlyList<SourceFailure> Failures
    {
        get
        {
            lock (failures)
            {
                return failures.ToArray();
            }
        }
    }

    /// <summary>Records that <paramref name="source"/> could not be read.</summary>
    public void Fail(string source, string message)
    {
        lock (failures)
        {
            failures.Add(new SourceFailure(source, message));
        }
    }

    /// <summary>The bytes of <paramref name="path"/>, or null after recording why it cannot be read.</summary>
    internal byte[]? TryReadAllBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            Fail(path, error.Message);
            return null;
        }
    }

    /// <summary>Opens <paramref name="path"/> for one sequential read, or records why it cannot be opened and returns null.</summary>
    internal FileStream? TryOpenSequential(string path, int bufferSize)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize, FileOptions.SequentialScan);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            Fail(path, error.Message);
            return null;
        }
    }
}

/// <summary>
/// Produces documents in a deterministic order, streaming (memory bounded by the largest document, not the input).
/// Unreadable items are reported to <see cref="SourceProblems"/> and skipped.
/// </summary>
public interface ITextDocumentSource
{
    /// <summary>A short description for logs (e.g. the path).</summary>
    string Description { get; }

    /// <summary>Enumerates the documents.</summary>
    IEnumerable<TextDocument> ReadDocuments(SourceProblems problems, CancellationToken cancellationToken = default);
}
