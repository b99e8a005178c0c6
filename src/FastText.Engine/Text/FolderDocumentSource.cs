namespace FastText.Engine.Text;

/// <summary>
/// Documents from files under a folder, one document per file (fastai <c>TextBlock.from_folder</c>): recursive, in
/// ordinal order of the relative path, labels and splits from <see cref="FolderLayout"/>. An unreadable file is
/// reported and skipped.
/// </summary>
public sealed class FolderDocumentSource : ITextDocumentSource
{
    private readonly string root;
    private readonly FolderLayout layout;

    /// <summary>Reads the files under <paramref name="root"/>.</summary>
    public FolderDocumentSource(string root, FolderLayout? layout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Folder '{root}' does not exist.");
        }
        this.root = Path.GetFullPath(root);
        this.layout = layout ?? FolderLayout.Imdb;
    }

    /// <inheritdoc />
    public string Description => root;

    /// <inheritdoc />
    public IEnumerable<TextDocument> ReadDocuments(SourceProblems problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = FileAttributes.None };
        var files = new List<string>();
        foreach (string file in Directory.EnumerateFiles(root, "*", options))
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (layout.Includes(relative))
            {
                files.Add(relative);
            }
        }
        files.Sort(StringComparer.Ordinal);
        foreach (string relative in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string path = Path.Combine(root, relative);
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                problems.Fail(path, error.Message);
                continue;
            }
            (string? label, DocumentSplit split) = layout.Classify(relative);
            yield return new TextDocument(path, bytes, label, split);
        }
    }
}
