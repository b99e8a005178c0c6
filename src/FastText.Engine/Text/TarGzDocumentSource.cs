using System.Formats.Tar;
using System.IO.Compression;

namespace FastText.Engine.Text;

/// <summary>
/// Documents straight from a <c>.tar.gz</c> archive (e.g. fastai's <c>imdb.tgz</c>) without unpacking it: entries are
/// streamed in archive order through <see cref="GZipStream"/>, with labels and splits from <see cref="FolderLayout"/>
/// applied to the entry paths. A damaged archive is reported with the last good entry and ends the read.
/// </summary>
public sealed class TarGzDocumentSource : ITextDocumentSource
{
    private readonly string path;
    private readonly FolderLayout layout;

    /// <summary>Reads the archive at <paramref name="path"/>.</summary>
    public TarGzDocumentSource(string path, FolderLayout? layout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        this.path = Path.GetFullPath(path);
        this.layout = layout ?? FolderLayout.Imdb;
    }

    /// <inheritdoc />
    public string Description => path;

    /// <inheritdoc />
    public IEnumerable<TextDocument> ReadDocuments(SourceProblems problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        Stream? file = problems.TryOpenSequential(path, 1 << 16);
        if (file is null)
        {
            yield break;
        }
        using (file)
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var reader = new TarReader(gzip))
        {
            string lastEntry = "(start of archive)";
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                TarEntry? entry;
                byte[]? bytes = null;
                try
                {
                    entry = reader.GetNextEntry();
                    if (entry is null)
                    {
                        break;
                    }
                    lastEntry = entry.Name;
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || !layout.Includes(entry.Name))
                    {
                        continue;
                    }
                    bytes = new byte[entry.Length];
                    entry.DataStream?.ReadExactly(bytes);
                }
                catch (Exception error) when (error is InvalidDataException or EndOfStreamException or IOException or FormatException)
                {
                    problems.Fail($"{path}:{lastEntry}", $"archive is damaged after this entry: {error.Message}");
                    yield break;
                }
                (string? label, DocumentSplit split) = layout.Classify(entry.Name);
                yield return new TextDocument($"{path}:{entry.Name}", bytes, label, split);
            }
        }
    }
}
