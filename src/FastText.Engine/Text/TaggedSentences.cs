using System.IO.Compression;
using System.Text;

namespace FastText.Engine.Text;

/// <summary>A sentence with one part-of-speech tag per word.</summary>
/// <param name="Words">The words, as the tagged file spells them.</param>
/// <param name="Tags">One tag per word.</param>
public sealed record TaggedSentence(IReadOnlyList<string> Words, IReadOnlyList<string> Tags);

/// <summary>
/// Reads POS-tagged text in Brown's own format (<c>samples/brown-tagged.txt.gz</c>): one sentence per line, tokens
/// separated by spaces or tabs, each token <c>word/tag</c> split at its <em>last</em> '/' (Brown has words such as
/// <c>1/2/cd</c>); blank lines are skipped; a <c>.gz</c> file is decompressed.
/// </summary>
public static class TaggedSentences
{
    /// <summary>The sentences of <paramref name="path"/>, tags mapped to the 12 universal tags
    /// (<see cref="BrownTags.ToUniversal"/>) when <paramref name="coarse"/>, Brown's tags (lower case) otherwise.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">A token is not <c>word/tag</c> (the message names the file and line), or
    /// the file holds no sentence.</exception>
    public static IReadOnlyList<TaggedSentence> Read(string path, bool coarse = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Tagged file '{path}' does not exist.", path);
        }
        using Stream file = File.OpenRead(path);
        using Stream text = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(text, Encoding.UTF8);
        var sentences = new List<TaggedSentence>();
        int lineNumber = 0;
        for (string? line = ReadLine(reader, path); line is not null; line = ReadLine(reader, path))
        {
            lineNumber++;
            string[] tokens = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length > 0)
            {
                sentences.Add(Parse(tokens, coarse, path, lineNumber));
            }
        }
        if (sentences.Count == 0)
        {
            throw new InvalidDataException($"'{path}' holds no tagged sentence (expected lines of word/tag tokens).");
        }
        return sentences;
    }

    private static string? ReadLine(StreamReader reader, string path)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (InvalidDataException error)
        {
            // GZipStream's message names no file.
            throw new InvalidDataException($"'{path}' is not a readable gzip file: {error.Message}", error);
        }
    }

    private static TaggedSentence Parse(string[] tokens, bool coarse, string path, int lineNumber)
    {
        var words = new string[tokens.Length];
        var tags = new string[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            int slash = tokens[i].LastIndexOf('/');
            if (slash <= 0 || slash == tokens[i].Length - 1)
            {
                throw new InvalidDataException($"{path}, line {lineNumber}: token {i + 1} '{tokens[i]}' is not word/tag.");
            }
            words[i] = tokens[i][..slash];
            string tag = tokens[i][(slash + 1)..];
            tags[i] = coarse ? BrownTags.ToUniversal(tag) : tag.ToLowerInvariant();
        }
        return new TaggedSentence(words, tags);
    }
}

/// <summary>
/// Brown's ~90 part-of-speech tags (and their compounds) mapped to the 12 universal tags of Petrov, Das and McDonald
/// (2012, "A Universal Part-of-Speech Tagset"): NOUN, VERB, ADJ, ADV, ADP, CONJ, DET, PRON, NUM, PRT, X and '.'.
/// A fine tag set would make a linear probe mostly measure how well it separates rare tags (Brown has 472 distinct
/// tag strings, most of them headline/title/contraction variants); the coarse one asks the question the issue asks:
/// does the hidden state know a word's syntactic category?
/// </summary>
internal static class BrownTags
{
    /// <summary>The 12 universal tags.</summary>
    public static IReadOnlyList<string> Universal { get; } = ["NOUN", "VERB", "ADJ", "ADV", "ADP", "CONJ", "DET", "PRON", "NUM", "PRT", "X", "."];

    // Base tags after the en-brown map of Petrov et al. (NLTK's brown.tagged_words(tagset='universal') uses the same
    // map): be/do/have forms and modals are VERB; subordinating conjunctions (cs) are ADP as PTB's IN is; pre- and
    // post-determiners and existential "there" are DET; qualifiers ("very") and "not" (tag *) are ADV; interjections X.
    private static readonly Dictionary<string, string> Base = Build(
        ("NOUN", "nn nns np nps nr nrs"),
        ("VERB", "vb vbd vbg vbn vbz md be bed bedz beg bem ben ber bez do dod doz hv hvd hvg hvn hvz"),
        ("ADJ", "jj jjr jjs jjt od"),
        ("ADV", "rb rbr rbt rn ql qlp wql wrb abl *"),
        ("ADP", "in cs"),
        ("CONJ", "cc"),
        ("DET", "at ap abn abx dt dti dts dtx wdt ex"),
        ("PRON", "pn pp$ pp$$ ppl ppls ppo pps ppss wp$ wpo wps"),
        ("NUM", "cd"),
        ("PRT", "rp to"),
        ("X", "uh nil"),
        (".", ". , : ; ( ) -- ' '' ``"));

    /// <summary>
    /// The universal tag of a Brown tag. Rules, in order: a universal tag maps to itself; <c>fw-…</c> (foreign word) is
    /// X; the suffixes <c>-tl</c> (title), <c>-hl</c> (headline), <c>-nc</c> (cited) are dropped; a contraction
    /// (<c>ppss+md</c>, "I'll") takes its first part; a tag not in the table loses a trailing <c>*</c> (negated,
    /// "isn't" = <c>bez*</c>) or <c>$</c> (possessive, <c>nn$</c>). Anything still unknown is X.
    /// </summary>
    public static string ToUniversal(string tag)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        if (Universal.Contains(tag))
        {
            return tag;
        }
        string t = tag.ToLowerInvariant();
        if (t.StartsWith("fw-", StringComparison.Ordinal))
        {
            return "X";
        }
        for (bool stripped = true; stripped;)
        {
            stripped = false;
            foreach (string suffix in (ReadOnlySpan<string>)["-tl", "-hl", "-nc"])
            {
                if (t.Length > suffix.Length && t.EndsWith(suffix, StringComparison.Ordinal))
                {
                    t = t[..^suffix.Length];
                    stripped = true;
                }
            }
        }
        int plus = t.IndexOf('+', StringComparison.Ordinal);
        if (plus > 0)
        {
            t = t[..plus];
        }
        while (!Base.ContainsKey(t) && t.Length > 1 && t[^1] is '*' or '$')
        {
            t = t[..^1];
        }
        return Base.GetValueOrDefault(t, "X");
    }

    private static Dictionary<string, string> Build(params (string Tag, string BrownTags)[] rows) =>
        rows.SelectMany(r => r.BrownTags.Split(' ').Select(b => (b, r.Tag))).ToDictionary(p => p.b, p => p.Tag, StringComparer.Ordinal);
}
