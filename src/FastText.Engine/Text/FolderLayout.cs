namespace FastText.Engine.Text;

/// <summary>
/// How file paths map to labels and splits (fastai's <c>parent_label</c> and <c>GrandparentSplitter</c>): the label
/// is the parent folder's name, and a grandparent named like <c>test</c> puts the document in the validation split.
/// </summary>
public sealed record FolderLayout
{
    /// <summary>IMDb-style: <c>train/{pos,neg}</c>, <c>test/{pos,neg}</c>, <c>unsup</c> (unlabeled), only <c>.txt</c> files.</summary>
    public static FolderLayout Imdb { get; } = new();

    /// <summary>Plain text, one document per file: no labels, everything in the training split.</summary>
    public static FolderLayout Unlabeled { get; } = new() { LabelFromParentFolder = false, ValidationFolders = [] };

    /// <summary>Take the label from the parent folder's name.</summary>
    public bool LabelFromParentFolder { get; init; } = true;

    /// <summary>Parent folder names whose documents have no label (IMDb's <c>unsup</c>).</summary>
    public IReadOnlyCollection<string> UnlabeledFolders { get; init; } = ["unsup"];

    /// <summary>Grandparent folder names that mean "validation" (fastbook uses IMDb's <c>test</c> as validation set).</summary>
    public IReadOnlyCollection<string> ValidationFolders { get; init; } = ["test", "valid", "validation"];

    /// <summary>Only files whose name ends with this (case-insensitive); null or empty for every file. fastai reads <c>.txt</c>.</summary>
    public string? Extension { get; init; } = ".txt";

    /// <summary>Whether a file at <paramref name="relativePath"/> is a document.</summary>
    public bool Includes(string relativePath) =>
        string.IsNullOrEmpty(Extension) || relativePath.EndsWith(Extension, StringComparison.OrdinalIgnoreCase);

    /// <summary>The label and split of the file at <paramref name="relativePath"/> ('/' or '\' separated).</summary>
    public (string? Label, DocumentSplit Split) Classify(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        string[] parts = relativePath.Split(['/', '\\'], StringSplitOptions.RemoveEmptyEntries);
        string? parent = parts.Length >= 2 ? parts[^2] : null;
        string? grandparent = parts.Length >= 3 ? parts[^3] : null;
        string? label = LabelFromParentFolder && parent is not null && !UnlabeledFolders.Contains(parent) ? parent : null;
        DocumentSplit split = grandparent is not null && ValidationFolders.Contains(grandparent) ? DocumentSplit.Validation : DocumentSplit.Train;
        return (label, split);
    }
}
