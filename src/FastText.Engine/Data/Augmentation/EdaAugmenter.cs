using FastText.Engine.Text;

namespace FastText.Engine.Data.Augmentation;

/// <summary>
/// EDA (Wei and Zou, 2019, "Easy Data Augmentation"): one of synonym replacement, random insertion, random swap and
/// random deletion, picked at random for each copy, on the document's words. With n = max(1, ⌊α · words⌋): replacement
/// swaps n distinct non-stop words that have synonyms for a random synonym; insertion puts a random synonym of a random
/// such word before a random word, n times; swap exchanges two different random words, n times; deletion drops each
/// word with probability α (never all of them).
/// </summary>
/// <remarks>
/// Words are <see cref="WordTokens"/>: punctuation, numbers and the case markers <c>xxmaj</c>/<c>xxup</c> are not. A marker belongs to the word it describes (the next one, or
/// the previous one in a backwards model's order): it is deleted and swapped with its word, and nothing is inserted
/// between them. A word repeated by <c>xxwrep N</c> is left alone.
/// Synonyms come from a <see cref="SynonymTable"/> and must be single vocabulary words themselves; stop words are
/// never replaced (WordNet would turn "a" into "angstrom" and "in" into "indium").
/// </remarks>
internal sealed class EdaAugmenter : IDocumentAugmenter
{
    // Function words: never replaced or used for insertion (EDA uses NLTK's list; this is the same idea).
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because",
        "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
        "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
        "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my",
        "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out",
        "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
        "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very",
        "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
        "your", "yours", "yourself", "yourselves", "also", "may", "might", "must", "shall", "upon", "us", "yet",
    };

    private readonly bool[] isWord;
    private readonly bool[] isMarker;
    private readonly int[][] synonyms;
    private readonly double alpha;
    private readonly int markerStep;                 // where a word's marker sits: −1 before it, +1 after it (backwards)
    private readonly List<int> words = [];          // scratch: positions of words in the working copy
    private readonly List<int> replaceable = [];
    private readonly List<int> work = [];

    /// <summary>Creates the augmenter over <paramref name="vocabulary"/>.</summary>
    /// <param name="vocabulary">The corpus's vocabulary (word tokenization).</param>
    /// <param name="table">Synonyms; only those that are vocabulary words are used.</param>
    /// <param name="alpha">EDA's α: the share of words changed (0 &lt; α ≤ 1; EDA's default 0.1).</param>
    /// <param name="backwards">Documents are in a backwards model's order (a word's case marker follows it).</param>
    public EdaAugmenter(Vocabulary vocabulary, SynonymTable table, double alpha, bool backwards)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(table);
        if (!(alpha > 0 && alpha <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "EDA's alpha must be in (0, 1].");
        }
        this.alpha = alpha;
        markerStep = backwards ? 1 : -1;
        int count = vocabulary.Count;
        isWord = WordTokens.Of(vocabulary);
        isMarker = new bool[count];
        synonyms = new int[count][];
        isMarker[SpecialTokens.AllCapsId] = isMarker[SpecialTokens.CapitalizedId] = true;
        int withSynonyms = 0;
        for (int id = 0; id < count; id++)
        {
            synonyms[id] = [];
            if (!isWord[id] || StopWords.Contains(vocabulary[id]))
            {
                continue;
            }
            synonyms[id] = table.Of(vocabulary[id]).Select(w => vocabulary.IdOf(w))
                .Where(s => s != SpecialTokens.UnknownId && s != id && isWord[s] && !StopWords.Contains(vocabulary[s])).Distinct().ToArray();
            withSynonyms += synonyms[id].Length > 0 ? 1 : 0;
        }
        WordsWithSynonyms = withSynonyms;
        Description = FormattableString.Invariant($"EDA alpha {alpha} ({withSynonyms} vocabulary words with synonyms, {Path.GetFileName(table.Source)})");
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>Vocabulary words that have at least one synonym in the vocabulary.</summary>
    public int WordsWithSynonyms { get; }

    /// <summary>Which of the four operations the last copy used (tests).</summary>
    internal EdaOperation LastOperation { get; private set; }

    /// <inheritdoc />
    public void Augment(int document, ReadOnlySpan<int> tokens, List<int> output, ref DeterministicRandom random)
    {
        work.Clear();
        work.AddRange(tokens);
        FindWords();
        if (words.Count == 0)
        {
            output.AddRange(tokens);
            return;
        }
        int n = Math.Max(1, (int)(alpha * words.Count));
        LastOperation = (EdaOperation)random.Next(4);
        switch (LastOperation)
        {
            case EdaOperation.SynonymReplacement:
                Replace(n, ref random);
                break;
            case EdaOperation.RandomInsertion:
                for (int i = 0; i < n && Insert(ref random); i++)
                {
                }
                break;
            case EdaOperation.RandomSwap:
                for (int i = 0; i < n && words.Count > 1; i++)
                {
                    int a = random.Next(words.Count), b = random.Next(words.Count - 1);
                    Swap(words[a], words[b >= a ? b + 1 : b]);         // two different words
                }
                break;
            default:
                Delete(ref random);
                break;
        }
        output.AddRange(work);
    }

    // Word positions, leaving out a word repeated by xxwrep (xxwrep N word): it belongs to its repeat marker.
    private void FindWords()
    {
        words.Clear();
        for (int i = 0; i < work.Count; i++)
        {
            int repeatAt = i + 2 * markerStep;
            if (isWord[work[i]] && !(repeatAt >= 0 && repeatAt < work.Count && work[repeatAt] == SpecialTokens.WordRepeatId))
            {
                words.Add(i);
            }
        }
    }

    // The word positions whose word has a synonym.
    private void FindReplaceable()
    {
        replaceable.Clear();
        foreach (int position in words)
        {
            if (synonyms[work[position]].Length > 0)
            {
                replaceable.Add(position);
            }
        }
    }

    // The tokens of the word at `position` with its case markers: [start, end).
    private (int Start, int End) Span(int position)
    {
        int start = position, end = position + 1;
        if (markerStep < 0)
        {
            while (start > 0 && isMarker[work[start - 1]])
            {
                start--;
            }
        }
        else
        {
            while (end < work.Count && isMarker[work[end]])
            {
                end++;
            }
        }
        return (start, end);
    }

    // Exchanges two words with their case markers ("xxmaj john met mary" → "mary met xxmaj john").
    private void Swap(int first, int second)
    {
        var (x, y) = (Span(Math.Min(first, second)), Span(Math.Max(first, second)));
        int[] before = work.ToArray();
        work.Clear();
        work.AddRange(before.AsSpan(0, x.Start));
        work.AddRange(before.AsSpan(y.Start, y.End - y.Start));
        work.AddRange(before.AsSpan(x.End, y.Start - x.End));
        work.AddRange(before.AsSpan(x.Start, x.End - x.Start));
        work.AddRange(before.AsSpan(y.End));
        FindWords();
    }

    private void Replace(int n, ref DeterministicRandom random)
    {
        FindReplaceable();
        // n distinct positions: a partial Fisher–Yates shuffle.
        for (int i = 0; i < n && i < replaceable.Count; i++)
        {
            int j = i + random.Next(replaceable.Count - i);
            (replaceable[i], replaceable[j]) = (replaceable[j], replaceable[i]);
            int[] choices = synonyms[work[replaceable[i]]];
            work[replaceable[i]] = choices[random.Next(choices.Length)];
        }
    }

    // One insertion; false when no word has a synonym (nothing to insert).
    private bool Insert(ref DeterministicRandom random)
    {
        FindReplaceable();
        if (replaceable.Count == 0)
        {
            return false;
        }
        int[] choices = synonyms[work[replaceable[random.Next(replaceable.Count)]]];
        int synonym = choices[random.Next(choices.Length)];
        // Before a random word (after it, backwards), outside its case markers.
        var (start, end) = Span(words[random.Next(words.Count)]);
        work.Insert(markerStep < 0 ? start : end, synonym);
        FindWords();
        return true;
    }

    private void Delete(ref DeterministicRandom random)
    {
        var drop = new bool[work.Count];
        int kept = words.Count;
        foreach (int position in words)
        {
            if (random.NextDouble() < alpha)
            {
                drop[position] = true;
                kept--;
            }
        }
        if (kept == 0)
        {
            drop[words[random.Next(words.Count)]] = false;             // EDA keeps one word rather than none
        }
        foreach (int position in words)
        {
            // A dropped word takes its case markers with it.
            for (int m = position + markerStep; drop[position] && m >= 0 && m < work.Count && isMarker[work[m]]; m += markerStep)
            {
                drop[m] = true;
            }
        }
        int write = 0;
        for (int i = 0; i < work.Count; i++)
        {
            if (!drop[i])
            {
                work[write++] = work[i];
            }
        }
        work.RemoveRange(write, work.Count - write);
    }
}

/// <summary>EDA's four operations.</summary>
internal enum EdaOperation
{
    /// <summary>Replace words by synonyms.</summary>
    SynonymReplacement,

    /// <summary>Insert synonyms of words.</summary>
    RandomInsertion,

    /// <summary>Swap two words.</summary>
    RandomSwap,

    /// <summary>Delete words.</summary>
    RandomDeletion,
}
