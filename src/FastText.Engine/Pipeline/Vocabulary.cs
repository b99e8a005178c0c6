namespace FastText.Engine.Pipeline;

/// <summary>
/// Token ↔ id map built like fastai's <c>make_vocab</c>: the special tokens first (xxunk 0, xxpad 1, xxbos 2, …),
/// then tokens seen at least <c>minFrequency</c> times, most frequent first (ties by first appearance), at most
/// <c>maxSize</c>, padded with <c>xxfake</c> to a multiple of 8.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>fastai's special tokens in id order.</summary>
    public static readonly IReadOnlyList<string> SpecialTokens = ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj"];

    private readonly Dictionary<string, int> ids;

    /// <summary>Wraps an existing token list (id = index).</summary>
    public Vocabulary(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        Tokens = tokens;
        ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++)
        {
            ids.TryAdd(tokens[i], i);
        }
    }

    /// <summary>Tokens by id.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>Number of ids.</summary>
    public int Count => Tokens.Count;

    /// <summary>Id of <paramref name="token"/>, or 0 (xxunk).</summary>
    public int this[string token] => ids.TryGetValue(token, out int id) ? id : 0;

    /// <summary>Maps tokens to ids.</summary>
    public int[] Numericalize(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var result = new int[tokens.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = this[tokens[i]];
        }
        return result;
    }

    /// <summary>Builds a vocabulary from tokenized documents.</summary>
    public static Vocabulary Build(IEnumerable<IReadOnlyList<string>> documents, int maxSize = 60000, int minFrequency = 3)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var counts = new Dictionary<string, (int Count, int First)>(StringComparer.Ordinal);
        int order = 0;
        foreach (IReadOnlyList<string> document in documents)
        {
            foreach (string token in document)
            {
                counts[token] = counts.TryGetValue(token, out var c) ? (c.Count + 1, c.First) : (1, order++);
            }
        }
        var tokens = new List<string>(SpecialTokens);
        var special = new HashSet<string>(SpecialTokens, StringComparer.Ordinal);
        tokens.AddRange(counts.Where(kv => kv.Value.Count >= minFrequency && !special.Contains(kv.Key))
            .OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Value.First)
            .Select(kv => kv.Key).Take(Math.Max(0, maxSize - SpecialTokens.Count)));
        for (int fake = 0; tokens.Count % 8 != 0; fake++)
        {
            tokens.Add(fake == 0 ? "xxfake" : $"xxfake{fake}");
        }
        return new Vocabulary(tokens);
    }

    /// <summary>Writes one token per line, atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, string.Join('\n', Tokens) + "\n");

    /// <summary>Reads a file written by <see cref="Save"/>.</summary>
    public static Vocabulary Load(string path)
    {
        string[] lines = File.ReadAllLines(path);
        if (lines.Length < SpecialTokens.Count || lines[1] != "xxpad")
        {
            throw new InvalidDataException($"'{path}' is not a vocabulary file (expected xxunk, xxpad, … on the first lines).");
        }
        return new Vocabulary(lines);
    }
}
