namespace FastText.Engine.Pipeline;

/// <summary>One raw document as read from disk: its text, optional class name, and where it came from.</summary>
/// <param name="Text">Raw text (for mails: the body).</param>
/// <param name="ClassName">Class name, or null for unlabelled text.</param>
/// <param name="Source">File it was read from (for error messages and top-loss listings).</param>
public sealed record LabelledText(string Text, string? ClassName, string Source);

/// <summary>Readers for the two shipped sample corpora (Brown for pretraining, SpamAssassin for the task).</summary>
public static class SampleReaders
{
    /// <summary>
    /// Reads NLTK-style Brown files (<c>word/TAG</c> tokens; one document per file), dropping the tags. Files named
    /// README, CONTENTS or with an extension are skipped.
    /// </summary>
    /// <param name="folder">Folder with ca01 … cr09.</param>
    /// <param name="maxDocuments">Read at most this many files (in name order), or all.</param>
    public static IReadOnlyList<LabelledText> ReadBrown(string folder, int? maxDocuments = null)
    {
        var files = Directory.GetFiles(folder)
            .Where(f => Path.GetFileName(f) is { Length: 4 } name && char.IsLetter(name[0]) && char.IsDigit(name[3]))
            .OrderBy(f => f, StringComparer.Ordinal)
            .Take(maxDocuments ?? int.MaxValue)
            .ToList();
        if (files.Count == 0)
        {
            throw new FileNotFoundException($"No Brown files (ca01 … cr09) in '{folder}'.");
        }
        var documents = new List<LabelledText>(files.Count);
        var text = new System.Text.StringBuilder();
        foreach (string file in files)
        {
            text.Clear();
            foreach (string line in File.ReadLines(file))
            {
                foreach (string item in line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                {
                    int slash = item.LastIndexOf('/');
                    string word = slash > 0 ? item[..slash] : item;
                    // Brown writes quotes as `` and ''; give the tokenizer ordinary quotes.
                    text.Append(word is "``" or "''" ? "\"" : word).Append(' ');
                }
                if (text.Length > 0 && text[^1] == ' ')
                {
                    text[^1] = '\n';
                }
            }
            documents.Add(new LabelledText(text.ToString(), null, file));
        }
        return documents;
    }

    /// <summary>
    /// Reads SpamAssassin mails (<c>*.txt</c> under folders such as easy-ham-1, spam-2): the body is everything after the
    /// first empty line; the class is "spam" when the folder name starts with "spam", else "ham".
    /// </summary>
    /// <param name="folder">The data folder holding the group folders (or one group folder).</param>
    /// <param name="maxPerGroup">Read at most this many mails per group folder (in name order), or all.</param>
    public static IReadOnlyList<LabelledText> ReadSpamAssassin(string folder, int? maxPerGroup = null)
    {
        var groups = Directory.GetDirectories(folder).OrderBy(d => d, StringComparer.Ordinal).ToList();
        if (groups.Count == 0)
        {
            groups.Add(folder);
        }
        var mails = new List<LabelledText>();
        foreach (string group in groups)
        {
            string label = Path.GetFileName(group).StartsWith("spam", StringComparison.OrdinalIgnoreCase) ? "spam" : "ham";
            foreach (string file in Directory.GetFiles(group, "*.txt").OrderBy(f => f, StringComparer.Ordinal).Take(maxPerGroup ?? int.MaxValue))
            {
                mails.Add(new LabelledText(MailBody(File.ReadAllText(file)), label, file));
            }
        }
        if (mails.Count == 0)
        {
            throw new FileNotFoundException($"No SpamAssassin mails (*.txt) under '{folder}'.");
        }
        return mails;
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
