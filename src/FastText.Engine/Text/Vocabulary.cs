using System.Globalization;
using System.Text;
using FastText.Engine.IO;

namespace FastText.Engine.Text;

/// <summary>
/// The token list of a model (fastai <c>vocab</c>, built by <c>make_vocab</c>): the nine special tokens at ids 0–8,
/// then the most frequent tokens, padded with <c>xxfake</c> to a multiple of 8. Unknown tokens map to 0 (<c>xxunk</c>).
/// Immutable; lookups are thread-safe and allocation-free.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>fastai's default minimum count (<c>min_freq</c>).</summary>
    public const int DefaultMinimumFrequency = 3;

    /// <summary>fastai's default size cap before padding (<c>max_vocab</c>).</summary>
    public const int DefaultMaximumSize = 60000;

    private const string FileHeader = "fasttext-engine-vocabulary";
    private const int FileVersion = 1;

    private readonly string[] tokens;
    private readonly TokenTable table;
    private readonly int[] tableToId;
    private readonly bool identity; // table entry == id (no duplicates): skip the indirection on lookups

    private Vocabulary(string[] tokens)
    {
        this.tokens = tokens;
        table = new TokenTable(tokens.Length);
        tableToId = new int[tokens.Length];
        for (int id = 0; id < tokens.Length; id++)
        {
            if (tokens[id] == SpecialTokens.Fake)
            {
                continue; // fastai: o2i skips the padding entries, so 'xxfake' reads back as xxunk
            }
            int entry = table.GetOrAdd(tokens[id]);
            tableToId[entry] = id; // a duplicated token maps to its last position, like fastai's dict comprehension
        }
        table.BuildInlineTables();
        identity = true;
        for (int entry = 0; entry < table.Count; entry++)
        {
            identity &= tableToId[entry] == entry;
        }
        Hash = ComputeHash(tokens);
    }

    /// <summary>Number of entries, padding included (the embedding size).</summary>
    public int Count => tokens.Length;

    /// <summary>The tokens in id order.</summary>
    public IReadOnlyList<string> Tokens => tokens;

    /// <summary>A stable 64-bit fingerprint of the token list (stored in corpus files to catch mismatched vocabularies).</summary>
    public ulong Hash { get; }

    /// <summary>The token with id <paramref name="id"/>.</summary>
    public string this[int id] => tokens[id];

    /// <summary>The id of <paramref name="token"/>, or <see cref="SpecialTokens.UnknownId"/> when it is not in the vocabulary.</summary>
    public int IdOf(ReadOnlySpan<char> token)
    {
        int entry = table.Find(token);
        return entry < 0 ? SpecialTokens.UnknownId : identity ? entry : tableToId[entry];
    }

    /// <summary>The id a lookup resolves to, from the token table entry (or -1).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal int IdOfEntry(int entry) => entry < 0 ? SpecialTokens.UnknownId : identity ? entry : tableToId[entry];

    internal TokenTable Table => table;

    /// <summary>Whether <paramref name="token"/> has its own id.</summary>
    public bool Contains(ReadOnlySpan<char> token) => table.Find(token) >= 0;

    /// <summary>A vocabulary made of exactly <paramref name="tokens"/> (fastai <c>Numericalize(vocab=...)</c>), no padding added.</summary>
    public static Vocabulary FromTokens(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        string[] list = tokens.ToArray();
        if (list.Length == 0)
        {
            throw new ArgumentException("A vocabulary needs at least one token.", nameof(tokens));
        }
        return new Vocabulary(list);
    }

    /// <summary>
    /// fastai's <c>make_vocab</c>: the <paramref name="maximumSize"/> most common tokens with a count of at least
    /// <paramref name="minimumFrequency"/>, the special tokens moved or inserted to ids 0–8, truncated to
    /// <paramref name="maximumSize"/>, then <c>8 − len % 8</c> copies of <c>xxfake</c> (8 when already a multiple of 8:
    /// fastai's quirk, kept so embedding sizes match fastai's, e.g. 60008).
    /// </summary>
    /// <param name="counts">Token counts, enumerated in first-occurrence order: equal counts keep this order
    /// (fastai's order for equal counts depends on worker timing; ours is deterministic).</param>
    /// <param name="minimumFrequency">fastai <c>min_freq</c>.</param>
    /// <param name="maximumSize">fastai <c>max_vocab</c>.</param>
    public static Vocabulary Build(IEnumerable<KeyValuePair<string, long>> counts, int minimumFrequency = DefaultMinimumFrequency, int maximumSize = DefaultMaximumSize)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumSize, SpecialTokens.All.Count);
        return BuildSorted(counts.Select(pair => (pair.Key, pair.Value)).ToList(), minimumFrequency, maximumSize);
    }

    internal static Vocabulary Build(TokenTable table, long[] counts, int minimumFrequency, int maximumSize)
    {
        var list = new List<(string Token, long Count)>(table.Count);
        for (int id = 0; id < table.Count; id++)
        {
            if (counts[id] >= minimumFrequency)
            {
                list.Add((table[id].ToString(), counts[id]));
            }
        }
        return BuildSorted(list, minimumFrequency, maximumSize);
    }

    private static Vocabulary BuildSorted(List<(string Token, long Count)> list, int minimumFrequency, int maximumSize)
    {
        // Counter.most_common(max_vocab) is a stable sort by count, descending: ties keep insertion order.
        var order = Enumerable.Range(0, list.Count).ToArray();
        Array.Sort(order, (a, b) => list[a].Count != list[b].Count ? list[b].Count.CompareTo(list[a].Count) : a.CompareTo(b));
        var vocabulary = new List<string>(Math.Min(list.Count, maximumSize) + 16);
        foreach (int index in order.Take(maximumSize))
        {
            if (list[index].Count >= minimumFrequency)
            {
                vocabulary.Add(list[index].Token);
            }
        }
        for (int s = SpecialTokens.All.Count - 1; s >= 0; s--)
        {
            vocabulary.Remove(SpecialTokens.All[s]);
            vocabulary.Insert(0, SpecialTokens.All[s]);
        }
        if (vocabulary.Count > maximumSize)
        {
            vocabulary.RemoveRange(maximumSize, vocabulary.Count - maximumSize);
        }
        int padding = 8 - (vocabulary.Count % 8);
        for (int i = 0; i < padding; i++)
        {
            vocabulary.Add(SpecialTokens.Fake);
        }
        return new Vocabulary(vocabulary.ToArray());
    }

    /// <summary>Writes the vocabulary as UTF-8 text, one escaped token per line, atomically (temporary file + rename).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var text = new StringBuilder(tokens.Length * 8);
        text.Append(CultureInfo.InvariantCulture, $"{FileHeader} {FileVersion} {tokens.Length} {Hash:x16}\n");
        foreach (string token in tokens)
        {
            foreach (char c in token)
            {
                text.Append(c switch { '\\' => "\\\\", '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => c.ToString() });
            }
            text.Append('\n');
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }

    /// <summary>Reads a file written by <see cref="Save"/>; a damaged or foreign file is rejected naming the problem.</summary>
    public static Vocabulary Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string content = File.ReadAllText(path, Encoding.UTF8);
        string[] lines = content.Split('\n');
        string[] header = lines[0].Split(' ');
        if (header.Length != 4 || header[0] != FileHeader)
        {
            throw new InvalidDataException($"{path}: not a vocabulary file (first line '{Truncate(lines[0])}').");
        }
        if (header[1] != FileVersion.ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidDataException($"{path}: vocabulary format version {header[1]} is not supported (expected {FileVersion}).");
        }
        int count = int.Parse(header[2], CultureInfo.InvariantCulture);
        if (lines.Length < count + 1)
        {
            throw new InvalidDataException($"{path}: truncated vocabulary: header says {count} tokens, file has {lines.Length - 1} lines.");
        }
        var tokens = new string[count];
        var builder = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            tokens[i] = Unescape(lines[i + 1], builder, path, i + 2);
        }
        var vocabulary = new Vocabulary(tokens);
        if (vocabulary.Hash.ToString("x16", CultureInfo.InvariantCulture) != header[3])
        {
            throw new InvalidDataException($"{path}: vocabulary hash mismatch (file says {header[3]}, content gives {vocabulary.Hash:x16}); the file is damaged.");
        }
        return vocabulary;
    }

    private static string Unescape(string line, StringBuilder builder, string path, int lineNumber)
    {
        if (!line.Contains('\\', StringComparison.Ordinal))
        {
            return line;
        }
        builder.Clear();
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }
            if (++i >= line.Length)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: dangling backslash.");
            }
            builder.Append(line[i] switch
            {
                '\\' => '\\',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                _ => throw new InvalidDataException($"{path}:{lineNumber}: unknown escape '\\{line[i]}'."),
            });
        }
        return builder.ToString();
    }

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "…";

    private static ulong ComputeHash(string[] tokens)
    {
        // FNV-1a over UTF-16 code units with a separator that cannot occur in text, stable across runs and machines.
        ulong hash = 0xCBF29CE484222325UL;
        foreach (string token in tokens)
        {
            foreach (char c in token)
            {
                hash = (hash ^ c) * 0x100000001B3UL;
            }
            hash = (hash ^ 0xFFFF) * 0x100000001B3UL;
        }
        return hash;
    }
}
