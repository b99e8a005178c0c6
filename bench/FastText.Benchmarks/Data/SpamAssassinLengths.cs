using System.Text;

namespace FastText.Benchmarks.Data;

/// <summary>
/// Document lengths of the SpamAssassin corpus (all five folders), until the real tokenizer lands: the body (after the
/// first empty line) is split into runs of letters/digits and single punctuation characters, plus one token for
/// xxbos. fastai's tokenizer adds xxmaj/xxup/xxrep markers and splits differently, so real lengths will run somewhat
/// longer; the shape of the distribution (a long tail of huge mails) is what padding depends on.
/// </summary>
public static class SpamAssassinLengths
{
    private static readonly Lazy<int[]> Cached = new(Load);

    /// <summary>The lengths, one per mail, in folder then file-name order.</summary>
    public static int[] All => Cached.Value;

    /// <summary>Where the corpus was read from.</summary>
    public static string Folder => Path.Combine(FindMainData(), "spam-assassin", "data");

    private static int[] Load()
    {
        string root = Folder;
        string[] folders = { "easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2" };
        var lengths = new List<int>();
        foreach (string folder in folders)
        {
            foreach (string file in Directory.GetFiles(Path.Combine(root, folder), "*.txt").Order(StringComparer.Ordinal))
            {
                lengths.Add(CountTokens(File.ReadAllText(file, Encoding.Latin1)));
            }
        }
        if (lengths.Count == 0)
        {
            throw new InvalidOperationException($"No SpamAssassin mails found under {root}; run scripts/fetch-corpora.sh.");
        }
        return lengths.ToArray();
    }

    /// <summary>Tokens of a raw mail's body (whitespace/punctuation split) + 1 for xxbos.</summary>
    public static int CountTokens(string mail)
    {
        int body = mail.IndexOf("\n\n", StringComparison.Ordinal);
        int crlf = mail.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        int start = body < 0 ? (crlf < 0 ? 0 : crlf + 4) : (crlf >= 0 && crlf < body ? crlf + 4 : body + 2);
        int tokens = 1;
        bool inWord = false;
        for (int i = start; i < mail.Length; i++)
        {
            char c = mail[i];
            if (char.IsLetterOrDigit(c))
            {
                if (!inWord)
                {
                    tokens++;
                    inWord = true;
                }
            }
            else
            {
                inWord = false;
                if (!char.IsWhiteSpace(c))
                {
                    tokens++;
                }
            }
        }
        return tokens;
    }

    private static string FindMainData()
    {
        // The corpora live in the main checkout's .data (read-only); worktrees have none of their own.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, ".data");
            if (Directory.Exists(Path.Combine(candidate, "spam-assassin")))
            {
                return candidate;
            }
        }
        string main = Environment.GetEnvironmentVariable("FASTTEXT_DATA") ?? "/work/main/.data";
        return main;
    }
}
