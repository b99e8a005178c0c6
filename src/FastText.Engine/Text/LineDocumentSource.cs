using System.Buffers;
using System.IO.Pipelines;

namespace FastText.Engine.Text;

/// <summary>
/// One document per line of a text file, read through a <see cref="PipeReader"/>: a multi-GB file streams with
/// memory bounded by the longest line (a 100 MB single line is one 100 MB document). <c>\r\n</c> and <c>\n</c> end lines.
/// </summary>
public sealed class LineDocumentSource : ITextDocumentSource
{
    private readonly string path;

    /// <summary>Reads <paramref name="path"/> line by line.</summary>
    public LineDocumentSource(string path, string? label = null, DocumentSplit split = DocumentSplit.Train)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        this.path = Path.GetFullPath(path);
        Label = label;
        Split = split;
    }

    /// <summary>Label given to every line (null: unlabeled).</summary>
    public string? Label { get; }

    /// <summary>Split given to every line.</summary>
    public DocumentSplit Split { get; }

    /// <summary>Skip lines that are empty or whitespace-only (default true).</summary>
    public bool SkipBlankLines { get; init; } = true;

    /// <inheritdoc />
    public string Description => path;

    /// <inheritdoc />
    public IEnumerable<TextDocument> ReadDocuments(SourceProblems problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        FileStream? stream = problems.TryOpenSequential(path, 1);
        if (stream is null)
        {
            yield break;
        }
        long lineNumber = 0;
        foreach (byte[] line in PipeLines.Read(stream, (byte)'\n', problems, path, cancellationToken))
        {
            lineNumber++;
            ReadOnlyMemory<byte> content = line.Length > 0 && line[^1] == '\r' ? line.AsMemory(0, line.Length - 1) : line;
            if (SkipBlankLines && content.Span.Trim(" \t\r\f\v"u8).IsEmpty)
            {
                continue;
            }
            yield return new TextDocument($"{path}:{lineNumber}", content, Label, Split);
        }
    }
}

/// <summary>Splits a stream into delimiter-terminated records with <see cref="PipeReader"/> (synchronously, for iterators).</summary>
internal static class PipeLines
{
    public static IEnumerable<byte[]> Read(Stream stream, byte delimiter, SourceProblems problems, string path, CancellationToken cancellationToken)
    {
        PipeReader reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 20, minimumReadSize: 1 << 16, leaveOpen: false));
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = reader.ReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
                }
                catch (IOException error)
                {
                    problems.Fail(path, error.Message);
                    yield break;
                }
                ReadOnlySequence<byte> buffer = result.Buffer;
                var lines = new List<byte[]>();
                while (true)
                {
                    SequencePosition? end = buffer.PositionOf(delimiter);
                    if (end is null)
                    {
                        break;
                    }
                    lines.Add(buffer.Slice(0, end.Value).ToArray());
                    buffer = buffer.Slice(buffer.GetPosition(1, end.Value));
                }
                if (result.IsCompleted && !buffer.IsEmpty)
                {
                    lines.Add(buffer.ToArray());
                    buffer = buffer.Slice(buffer.End);
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                foreach (byte[] line in lines)
                {
                    yield return line;
                }
                if (result.IsCompleted)
                {
                    yield break;
                }
            }
        }
        finally
        {
            reader.Complete();
        }
    }
}
