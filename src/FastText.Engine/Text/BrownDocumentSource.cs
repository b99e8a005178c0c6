using System.Text;

namespace FastText.Engine.Text;

/// <summary>
/// The Brown corpus in NLTK's tagged format (files <c>ca01</c> … <c>cr09</c>, tokens <c>word/TAG</c>): one document
/// per file, tags stripped to plain text (one sentence per line, a blank line between paragraphs). The label is the
/// genre named by the file's second letter (<c>a</c> = news … <c>r</c> = humor); every document is in the training split.
/// </summary>
public sealed class BrownDocumentSource : ITextDocumentSource
{
    /// <summary>Brown genre names by category letter (as NLTK names them).</summary>
    public static IReadOnlyDictionary<char, string> Genres { get; } = new Dictionary<char, string>
    {
        ['a'] = "news", ['b'] = "editorial", ['c'] = "reviews", ['d'] = "religion", ['e'] = "hobbies", ['f'] = "lore",
        ['g'] = "belles_lettres", ['h'] = "government", ['j'] = "learned", ['k'] = "fiction", ['l'] = "mystery",
        ['m'] = "science_fiction", ['n'] = "adventure", ['p'] = "romance", ['r'] = "humor",
    };

    private readonly string folder;
    private readonly bool labelByGenre;

    /// <summary>Reads the Brown files in <paramref name="folder"/>.</summary>
    public BrownDocumentSource(string folder, bool labelByGenre = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Folder '{folder}' does not exist.");
        }
        this.folder = Path.GetFullPath(folder);
        this.labelByGenre = labelByGenre;
    }

    /// <inheritdoc />
    public string Description => folder;

    /// <summary>Whether <paramref name="fileName"/> is a Brown text file name (<c>c</c>, genre letter, two digits).</summary>
    public static bool IsBrownFile(string fileName) =>
        fileName.Length == 4 && fileName[0] == 'c' && Genres.ContainsKey(fileName[1]) && char.IsAsciiDigit(fileName[2]) && char.IsAsciiDigit(fileName[3]);

    /// <inheritdoc />
    public IEnumerable<TextDocument> ReadDocuments(SourceProblems problems, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        string[] files = Directory.GetFiles(folder).Where(f => IsBrownFile(Path.GetFileName(f))).Order(StringComparer.Ordinal).ToArray();
        foreach (string file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (problems.TryReadAllBytes(file) is not { } bytes)
            {
                continue;
            }
            string name = Path.GetFileName(file);
            yield return new TextDocument(file, StripTags(bytes), labelByGenre ? Genres[name[1]] : null);
        }
    }

    /// <summary>Plain text of a tagged Brown file: each <c>word/TAG</c> becomes <c>word</c> (split at the last '/').</summary>
    public static byte[] StripTags(ReadOnlySpan<byte> tagged)
    {
        string text = Encoding.UTF8.GetString(tagged);
        var plain = new StringBuilder(text.Length / 2);
        bool pendingParagraph = false;
        foreach (string line in text.Split('\n'))
        {
            string[] tokens = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0)
            {
                pendingParagraph = plain.Length > 0;
                continue;
            }
            if (pendingParagraph)
            {
                plain.Append('\n');
                pendingParagraph = false;
            }
            for (int i = 0; i < tokens.Length; i++)
            {
                int slash = tokens[i].LastIndexOf('/');
                if (i > 0)
                {
                    plain.Append(' ');
                }
                plain.Append(slash > 0 ? tokens[i].AsSpan(0, slash) : tokens[i]);
            }
            plain.Append('\n');
        }
        return Encoding.UTF8.GetBytes(plain.ToString());
    }
}
