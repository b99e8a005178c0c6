using System.Text;
using System.Text.Unicode;

namespace FastText.Engine.Text;

/// <summary>
/// fastai's default English tokenization (<c>Tokenizer(SpacyTokenizer())</c> with <c>defaults.text_proc_rules</c>
/// and <c>defaults.text_postproc_rules</c>): the eight rules, spaCy-style word splitting, <c>replace_space</c>.
/// Produces the same tokens as fastai for the worked examples of the reference, without a string per token.
/// </summary>
/// <remarks>
/// Holds reusable buffers, so an instance is not thread-safe: use one per thread (they are cheap).
/// Deliberate differences from fastai: invalid UTF-8 is replaced by U+FFFD and counted (fastai raises), NUL
/// characters become spaces and are counted, and a leading byte-order mark is dropped. Lowercasing is Python's,
/// including <c>İ</c> → <c>i̇</c> and the final sigma (see <see cref="TextRules"/>).
/// A document of more than <see cref="ChunkBytes"/> bytes (a 100 MB line) is tokenized a chunk at a time, cut only
/// between two different plain words (ASCII letters and digits, one space on each side), where no rule looks across:
/// the tokens are the ones of the whole document, and the working memory is that of a chunk, not 15× the document.
/// </remarks>
public sealed class FastaiTokenizer : IDocumentTokenizer
{
    private readonly TextRules rules = new();
    private readonly WordSplitter splitter = new();
    private readonly CharBuffer decoded = new(1 << 16);

    /// <summary>Creates a tokenizer.</summary>
    /// <param name="addBeginningOfStream">Prepend <c>xxbos</c> to every document (fastai's default).</param>
    public FastaiTokenizer(bool addBeginningOfStream = true) => AddBeginningOfStream = addBeginningOfStream;

    /// <summary>Whether every document starts with <c>xxbos</c>.</summary>
    public bool AddBeginningOfStream { get; }

    /// <summary>Tokenizes <paramref name="text"/> into a new list of strings (convenient; allocates per token).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sink = new ListSink();
        Tokenize(text.AsSpan(), ref sink);
        return sink.Tokens;
    }

    /// <summary>Tokenizes <paramref name="text"/>, handing each token to <paramref name="sink"/> (no allocation per token).</summary>
    public void Tokenize<TSink>(ReadOnlySpan<char> text, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        ReadOnlySpan<char> ruled = rules.ApplyUpToSpaces(text);
        splitter.Split(ruled, ref sink, applyCaseRules: true, AddBeginningOfStream);
    }

    /// <summary>
    /// Decodes UTF-8 <paramref name="utf8"/> (replacing invalid sequences, turning NUL into spaces) and tokenizes it.
    /// </summary>
    /// <returns>What was repaired while decoding.</returns>
    public DecodeReport TokenizeUtf8<TSink>(ReadOnlySpan<byte> utf8, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        if (utf8.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }
        int invalid = 0, nul = 0;
        bool first = true;
        do
        {
            int cut = utf8.Length <= ChunkBytes ? utf8.Length : SafeCut(utf8, ChunkBytes);
            DecodeReport report = DecodeUtf8(utf8[..cut], decoded, skipByteOrderMark: false);
            invalid += report.InvalidSequences;
            nul += report.NulCharacters;
            ReadOnlySpan<char> ruled = rules.ApplyUpToSpaces(decoded.Written);
            splitter.Split(ruled, ref sink, applyCaseRules: true, first && AddBeginningOfStream);
            utf8 = utf8[cut..];
            first = false;
        }
        while (!utf8.IsEmpty);
        return new DecodeReport(invalid, nul);
    }

    /// <summary>Largest document tokenized in one piece, in UTF-8 bytes (4 MB); longer ones go a chunk at a time.</summary>
    internal int ChunkBytes { get; init; } = 1 << 22;

    // Where to end the next chunk: the last space before `limit` between two different plain words (ASCII letters and
    // digits, no character three times running, which the repeat rule would rewrite) whose left word also differs from
    // the plain word before it. No rule spans
    // such a cut: repeated characters and capitals stay inside a word, HTML and special spacing need other characters,
    // and a word-repetition match (fastai's regex, which consumes the space after a run) can neither cross the cut nor
    // end just before it. Searched within 1 MB before the limit; where there is no such place the rest is tokenized
    // whole, exactly as before.
    private static int SafeCut(ReadOnlySpan<byte> utf8, int limit)
    {
        int floor = Math.Max(1, limit - (1 << 20));
        for (int space = utf8[..limit].LastIndexOf((byte)' '); space >= floor; space = utf8[..space].LastIndexOf((byte)' '))
        {
            int leftStart = utf8[..space].LastIndexOf((byte)' ') + 1;
            int rightLength = utf8[(space + 1)..].IndexOf((byte)' ');
            if (leftStart <= 1 || rightLength <= 0)
            {
                continue;
            }
            int previousStart = utf8[..(leftStart - 1)].LastIndexOf((byte)' ') + 1;
            ReadOnlySpan<byte> previous = utf8[previousStart..(leftStart - 1)], left = utf8[leftStart..space], right = utf8.Slice(space + 1, rightLength);
            if (IsPlainWord(left) && IsPlainWord(right) && IsPlainWord(previous)
                && !Ascii.EqualsIgnoreCase(left, right) && !Ascii.EqualsIgnoreCase(previous, left))
            {
                return space;
            }
        }
        return utf8.Length;
    }

    private static bool IsPlainWord(ReadOnlySpan<byte> word)
    {
        if (word.IsEmpty || word.ContainsAnyExcept(PlainWordBytes))
        {
            return false;
        }
        for (int i = 2; i < word.Length; i++)
        {
            if (word[i] == word[i - 1] && word[i] == word[i - 2])
            {
                return false;
            }
        }
        return true;
    }

    private static readonly System.Buffers.SearchValues<byte> PlainWordBytes =
        System.Buffers.SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>The document string after all eight rules (what fastai hands to spaCy), e.g. <c>"xxbos xxmaj hello"</c>.</summary>
    public string ApplyRules(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ReadOnlySpan<char> ruled = rules.ApplyUpToSpaces(text);
        var result = new CharBuffer(ruled.Length + 16);
        TextRules.ApplyCaseRules(ruled, result, AddBeginningOfStream);
        return result.Written.ToString();
    }

    /// <summary>Tokenizes <paramref name="text"/> and maps each token to its id in <paramref name="vocabulary"/> (fastai <c>Numericalize</c>).</summary>
    public int[] Numericalize(string text, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var ids = new TokenIdBuffer(vocabulary);
        var sink = new TokenIdSink(ids);
        Tokenize(text.AsSpan(), ref sink);
        ids.Flush();
        return ids.Ids.ToArray();
    }

    /// <summary>Decodes UTF-8 into <paramref name="destination"/> with the repairs described on the class.</summary>
    internal static DecodeReport DecodeUtf8(ReadOnlySpan<byte> utf8, CharBuffer destination, bool skipByteOrderMark = true)
    {
        destination.Clear();
        if (skipByteOrderMark && utf8.StartsWith("\uFEFF"u8))
        {
            utf8 = utf8[3..];
        }
        int invalid = 0;
        Span<char> target = destination.GetSpan(utf8.Length);
        int written;
        if (Utf8.IsValid(utf8))
        {
            written = Encoding.UTF8.GetChars(utf8, target);
        }
        else
        {
            // Vectorized replacement (one U+FFFD per maximal invalid subpart, as Python's 'replace'); the number of
            // repairs is the growth in U+FFFD characters.
            Utf8.ToUtf16(utf8, target, out _, out written, replaceInvalidSequences: true);
            invalid = target[..written].Count('\uFFFD') - utf8.Count("\uFFFD"u8);
        }
        destination.Advance(written);
        Span<char> text = destination.Written;
        int nul = text.Count('\0');
        if (nul > 0)
        {
            text.Replace('\0', ' ');
        }
        return new DecodeReport(invalid, nul);
    }

    private sealed class ListSink : ITokenSink
    {
        public List<string> Tokens { get; } = [];

        public void Add(ReadOnlySpan<char> token) => Tokens.Add(token.ToString());
    }
}

/// <summary>Repairs made while decoding one document.</summary>
/// <param name="InvalidSequences">Invalid UTF-8 sequences replaced by U+FFFD.</param>
/// <param name="NulCharacters">NUL characters turned into spaces.</param>
public readonly record struct DecodeReport(int InvalidSequences, int NulCharacters);
