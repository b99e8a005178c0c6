namespace FastText.Engine.Text;

/// <summary>One raw document as read from disk: its text, optional class name, and where it came from.</summary>
/// <param name="Text">Raw text (for mails: the body).</param>
/// <param name="ClassName">Class name, or null for unlabelled text.</param>
/// <param name="Source">File it was read from (for error messages and top-loss listings).</param>
/// <param name="IsValidation">The source's own split (e.g. the samples' <c>test/</c> folder), or null to split randomly.</param>
public sealed record LabelledText(string Text, string? ClassName, string Source, bool? IsValidation = null);

/// <summary>Turns the text library's document sources into the pipeline's raw texts.</summary>
public static class SampleReaders
{
    /// <summary>
    /// Reads any document source of the text library — e.g. the shipped <c>samples/*.tar.gz</c> through
    /// <c>TarGzDocumentSource</c> — keeping labels and the source's train/validation split. A seeded random subset of
    /// <paramref name="maxDocuments"/> documents is taken when given (both splits keep their share).
    /// </summary>
    public static IReadOnlyList<LabelledText> Read(FastText.Engine.Text.ITextDocumentSource source, int? maxDocuments = null, int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(source);
        var problems = new FastText.Engine.Text.SourceProblems();
        var documents = source.ReadDocuments(problems)
            .Select(d => new LabelledText(System.Text.Encoding.UTF8.GetString(d.Utf8.Span), d.Label, d.Source,
                d.Split == FastText.Engine.Text.DocumentSplit.Validation))
            .ToList();
        if (problems.Failures.Count > 0)
        {
            throw new InvalidDataException($"{source.Description}: {problems.Failures.Count} unreadable item(s), first: {problems.Failures[0].Source}: {problems.Failures[0].Message}");
        }
        if (documents.Count == 0)
        {
            throw new InvalidDataException($"{source.Description} holds no documents.");
        }
        return Subset(documents, maxDocuments, seed);
    }

    /// <summary>
    /// The seeded random subset of <paramref name="maxDocuments"/> documents that <see cref="Read"/> takes (in reading
    /// order; all when null or not fewer), so texts read once can be cut the same way. Documents that all lie in the
    /// training split get no split (the dataset then splits randomly).
    /// </summary>
    public static IReadOnlyList<LabelledText> Subset(IReadOnlyList<LabelledText> documents, int? maxDocuments = null, int seed = 42)
    {
        ArgumentNullException.ThrowIfNull(documents);
        if (maxDocuments is int max && max < documents.Count)
        {
            var random = new Random(seed);
            int[] order = Enumerable.Range(0, documents.Count).ToArray();
            random.Shuffle(order);
            documents = order.Take(max).Order().Select(i => documents[i]).ToList();
        }
        // Archives without a validation folder put everything in training: let the dataset split randomly then.
        if (documents.All(d => d.IsValidation == false))
        {
            documents = documents.Select(d => d with { IsValidation = null }).ToList();
        }
        return documents;
    }

    /// <summary>Everything after the first empty line (the headers end there); the whole text if there is none.</summary>
    public static string MailBody(string mail)
    {
        ArgumentNullException.ThrowIfNull(mail);
        int index = mail.IndexOf("\n\n", StringComparison.Ordinal);
        int crlf = mail.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (crlf >= 0 && (index < 0 || crlf < index))
        {
            return mail[(crlf + 4)..];
        }
        return index >= 0 ? mail[(index + 2)..] : mail;
    }
}
