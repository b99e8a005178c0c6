using System.IO.Compression;
using System.Text;

namespace FastText.Engine.Text;

/// <summary>
/// Words and their synonyms, for EDA's synonym replacement and insertion: one line per word,
/// <c>word&lt;TAB&gt;synonym synonym …</c>, plain or gzip-compressed. The shipped table
/// (<see cref="SampleLocations.WordNetSynonyms"/>) holds WordNet 3.0's single-word lemmas that share a synset, built by
/// <c>scripts/build-synonyms.sh</c>.
/// </summary>
public sealed class SynonymTable
{
    private readonly Dictionary<string, string[]> synonyms;

    private SynonymTable(Dictionary<string, string[]> synonyms, string source)
    {
        this.synonyms = synonyms;
        Source = source;
    }

    /// <summary>Where the table was read from.</summary>
    public string Source { get; }

    /// <summary>Words that have synonyms.</summary>
    public int Count => synonyms.Count;

    /// <summary>The synonyms of <paramref name="word"/> (empty when it has none).</summary>
    public IReadOnlyList<string> Of(string word) => synonyms.TryGetValue(word, out string[]? found) ? found : [];

    /// <summary>Reads a table; a file ending in <c>.gz</c> is decompressed.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">A line without a tab or with an empty word; the message names the file and line.</exception>
    public static SynonymTable Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Synonym table '{path}' not found.", path);
        }
        using Stream file = File.OpenRead(path);
        using Stream text = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(text, new UTF8Encoding(false, throwOnInvalidBytes: true));
        var table = new Dictionary<string, string[]>(StringComparer.Ordinal);
        int number = 0;
        try
        {
            for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
            {
                number++;
                if (line.Length == 0)
                {
                    continue;
                }
                int tab = line.IndexOf('\t', StringComparison.Ordinal);
                if (tab <= 0)
                {
                    throw new InvalidDataException($"{path}, line {number}: expected 'word<TAB>synonym synonym …'.");
                }
                string word = line[..tab];
                string[] words = line[(tab + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Where(w => w != word).Distinct(StringComparer.Ordinal).ToArray();
                if (words.Length > 0)
                {
                    table[word] = table.TryGetValue(word, out string[]? earlier) ? earlier.Union(words, StringComparer.Ordinal).ToArray() : words;
                }
            }
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{path}, line {number + 1}: not UTF-8 text ({e.Message}).", e);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: damaged compressed data after line {number} ({e.Message}).", e);
        }
        return new SynonymTable(table, path);
    }

    /// <summary>A table from pairs already in memory (tests, or a caller's own lexicon).</summary>
    /// <param name="synonyms">Each word with its synonyms.</param>
    public static SynonymTable FromPairs(IEnumerable<KeyValuePair<string, IEnumerable<string>>> synonyms)
    {
        ArgumentNullException.ThrowIfNull(synonyms);
        var table = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (word, words) in synonyms)
        {
            string[] distinct = words.Where(w => w != word).Distinct(StringComparer.Ordinal).ToArray();
            if (distinct.Length > 0)
            {
                table[word] = distinct;
            }
        }
        return new SynonymTable(table, "memory");
    }
}
