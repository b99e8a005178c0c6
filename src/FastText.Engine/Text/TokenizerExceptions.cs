using System.Globalization;

namespace FastText.Engine.Text;

/// <summary>
/// spaCy's English tokenizer exceptions ("special cases"), lowercase forms only: fastai lowercases before splitting,
/// so the capitalised entries (<c>Mr.</c>, <c>Jan.</c>, state names) can never fire. Built from spaCy's generation
/// rules: pronoun and wh-word contractions, verb + <c>n't</c>, modal + <c>'ve</c>, times, abbreviations, emoticons,
/// single letters with a dot, and the curly-apostrophe (’) variant of every entry with an apostrophe.
/// Words spaCy excludes on purpose (<c>ill its hell shell shed were well whore</c>) stay one token.
/// </summary>
internal static class TokenizerExceptions
{
    private static readonly (TokenTable Keys, string[][] Parts) Data = Build();

    // A cheap pre-filter: which (length, first char class, last char class) triples any exception has.
    private static readonly bool[] Candidates = BuildCandidates();

    /// <summary>The fixed split of <paramref name="word"/>, or null when it is not an exception.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static string[]? Find(ReadOnlySpan<char> word)
    {
        if (word.Length is < 2 or > MaxLength || !Candidates[FilterIndex(word.Length, word[0], word[^1])])
        {
            return null;
        }
        int id = Data.Keys.Find(word);
        return id < 0 ? null : Data.Parts[id];
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int CharClass(char c) => (uint)(c - 'a') < 26 ? c - 'a' : 26;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int FilterIndex(int length, char first, char last) => (((length * 27) + CharClass(first)) * 27) + CharClass(last);

    private static bool[] BuildCandidates()
    {
        var candidates = new bool[(MaxLength + 1) * 27 * 27];
        for (int id = 0; id < Data.Keys.Count; id++)
        {
            ReadOnlySpan<char> word = Data.Keys[id];
            candidates[FilterIndex(word.Length, word[0], word[^1])] = true;
        }
        return candidates;
    }

    private const int MaxLength = 24;

    /// <summary>Every exception (for tests and documentation).</summary>
    public static IEnumerable<(string Word, string[] Parts)> All()
    {
        for (int id = 0; id < Data.Keys.Count; id++)
        {
            yield return (Data.Keys[id].ToString(), Data.Parts[id]);
        }
    }

    private static (TokenTable, string[][]) Build()
    {
        var entries = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string word, params string[] parts) => entries[word] = parts;

        Add("i'm", "i", "'m");
        Add("im", "i", "m");
        Add("i'ma", "i", "'m", "a");
        Add("ima", "i", "m", "a");
        foreach (string pronoun in new[] { "i", "you", "he", "she", "it", "we", "they" })
        {
            Add(pronoun + "'ll", pronoun, "'ll");
            Add(pronoun + "ll", pronoun, "ll");
            Add(pronoun + "'ll've", pronoun, "'ll", "'ve");
            Add(pronoun + "llve", pronoun, "ll", "ve");
            Add(pronoun + "'d", pronoun, "'d");
            Add(pronoun + "d", pronoun, "d");
            Add(pronoun + "'d've", pronoun, "'d", "'ve");
            Add(pronoun + "dve", pronoun, "d", "ve");
        }
        foreach (string pronoun in new[] { "i", "you", "we", "they" })
        {
            Add(pronoun + "'ve", pronoun, "'ve");
            Add(pronoun + "ve", pronoun, "ve");
        }
        foreach (string pronoun in new[] { "you", "we", "they" })
        {
            Add(pronoun + "'re", pronoun, "'re");
            Add(pronoun + "re", pronoun, "re");
        }
        foreach (string pronoun in new[] { "he", "she", "it" })
        {
            Add(pronoun + "'s", pronoun, "'s");
            Add(pronoun + "s", pronoun, "s");
        }
        foreach (string word in new[] { "who", "what", "when", "where", "why", "how", "there", "that", "this", "these", "those" })
        {
            Add(word + "'s", word, "'s");
            Add(word + "s", word, "s");
            Add(word + "'ll", word, "'ll");
            Add(word + "ll", word, "ll");
            Add(word + "'ll've", word, "'ll", "'ve");
            Add(word + "llve", word, "ll", "ve");
            Add(word + "'re", word, "'re");
            Add(word + "re", word, "re");
            Add(word + "'ve", word, "'ve");
            Add(word + "ve", word, "ve");
            Add(word + "'d", word, "'d");
            Add(word + "d", word, "d");
            Add(word + "'d've", word, "'d", "'ve");
            Add(word + "dve", word, "d", "ve");
        }
        foreach (string verb in new[] { "ca", "could", "do", "does", "did", "had", "may", "might", "must", "need", "ought", "sha", "should", "wo", "would" })
        {
            Add(verb + "n't", verb, "n't");
            Add(verb + "nt", verb, "nt");
            Add(verb + "n't've", verb, "n't", "'ve");
            Add(verb + "ntve", verb, "nt", "ve");
        }
        foreach (string verb in new[] { "could", "might", "must", "should", "would" })
        {
            Add(verb + "'ve", verb, "'ve");
            Add(verb + "ve", verb, "ve");
        }
        foreach (string verb in new[] { "ai", "are", "is", "was", "were", "have", "has", "dare" })
        {
            Add(verb + "n't", verb, "n't");
            Add(verb + "nt", verb, "nt");
        }
        foreach (string word in new[] { "doin", "goin", "nothin", "nuthin", "ol", "somethin" })
        {
            Add(word, word);
            Add(word + "'", word + "'");
        }
        foreach (string word in new[] { "cause", "em", "ll", "nuff" })
        {
            Add("'" + word, "'" + word);
        }
        for (int hour = 1; hour <= 12; hour++)
        {
            string h = hour.ToString(CultureInfo.InvariantCulture);
            foreach (string period in new[] { "a.m.", "am", "p.m.", "pm" })
            {
                Add(h + period, h, period);
            }
        }
        Add("y'all", "y'", "all");
        Add("yall", "y", "all");
        Add("how'd'y", "how", "'d", "'y");
        Add("not've", "not", "'ve");
        Add("notve", "not", "ve");
        Add("cannot", "can", "not");
        Add("gonna", "gon", "na");
        Add("gotta", "got", "ta");
        Add("let's", "let", "'s");
        foreach (string word in new[]
                 {
                     "'s", "'re", "'d", "'cause", "'cos", "'coz", "'cuz", "'bout", "ma'am", "o'clock", "lovin'", "lovin", "havin'", "havin",
                     "and/or", "w/o", "a.m.", "co.", "e.g.", "i.e.", "p.m.", "vs.", "v.s.", "''", "c++",
                 })
        {
            Add(word, word);
        }
        for (char letter = 'a'; letter <= 'z'; letter++)
        {
            Add(letter + ".", letter + ".");
        }
        foreach (string word in new[] { "ä.", "ö.", "ü." })
        {
            Add(word, word);
        }
        // spaCy's emoticons whose lowercase form can survive fastai's rules (those with '/', '#', '\' are spaced apart first).
        foreach (string emoticon in (
                     ":) :-) :)) :-)) :))) :-))) (: (-: =) (= \") :] :-] [: [-: [= =] :o) (o: :} :-} 8) 8-) (-8 ;) ;-) (; (-; " +
                     ":( :-( :(( :-(( :((( :-((( ): )-: =( >:( :') :'-) :'( :'-( =| :| :-| ]= =[ :1 :p :-p :o :-o :0 :-0 :() >:o " +
                     ":* :-* :3 :-3 =3 :> :-> :x :-x ^_^ ^__^ ^___^ >.< >.> <.< ._. ;_; -_- -__- v.v v_v o_o o_0 0_o 0_0 o.o 0.0 o.0 " +
                     "0.o @_@ <3 <33 <333 (^_^) (-_-) (._.) (>_<) (*_*) (¬_¬) ಠ_ಠ ಠ︵ಠ (ಠ_ಠ) (╯°□°）╯︵┻━┻ ><(((*>")
                 .Split(' '))
        {
            Add(emoticon, emoticon);
        }
        // Curly apostrophe variants (spaCy lists them for the contractions).
        foreach ((string word, string[] parts) in entries.ToArray())
        {
            if (word.Contains('\'', StringComparison.Ordinal))
            {
                string curly = word.Replace('\'', '’');
                if (!entries.ContainsKey(curly))
                {
                    entries[curly] = Array.ConvertAll(parts, p => p.Replace('\'', '’'));
                }
            }
        }
        foreach (string excluded in new[] { "ill", "its", "hell", "shell", "shed", "were", "well", "whore" })
        {
            entries.Remove(excluded);
        }

        var keys = new TokenTable(entries.Count);
        var values = new string[entries.Count][];
        foreach ((string word, string[] parts) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (word.Length > MaxLength)
            {
                throw new InvalidOperationException($"Exception '{word}' is longer than {MaxLength} chars.");
            }
            values[keys.GetOrAdd(word)] = parts;
        }
        keys.BuildInlineTables();
        return (keys, values);
    }
}
