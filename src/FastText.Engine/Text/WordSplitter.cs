using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.RegularExpressions;

namespace FastText.Engine.Text;

/// <summary>
/// spaCy's rule-based English tokenizer (<c>spacy.blank("en")</c>, as fastai's <c>SpacyTokenizer</c> uses it),
/// re-implemented over spans, fused with fastai's rules 6–8 (<c>replace_all_caps</c>, <c>replace_maj</c>,
/// <c>lowercase</c>) and the <c>replace_space</c> post-rule. See ulmfit-reference §3 for the algorithm.
/// </summary>
/// <remarks>
/// Fusing is exact because rules 6–7 look at whitespace-delimited words, which are exactly spaCy's spans, and
/// every such word is preceded by whitespace or the string start. Not thread-safe: one instance per thread.
/// </remarks>
internal sealed partial class WordSplitter
{
    private const int InitialAffixCapacity = 64;
    private static readonly string[] Units =
    [
        "km", "km²", "km³", "m", "m²", "m³", "dm", "dm²", "dm³", "cm", "cm²", "cm³", "mm", "mm²", "mm³", "ha", "µm", "nm", "yd",
        "in", "ft", "kg", "g", "mg", "µg", "t", "lb", "oz", "m/s", "km/h", "kmh", "mph", "mbar", "mb", "kb", "gb", "tb", "%",
        "км", "км²", "км³", "м", "м²", "м³", "дм", "дм²", "дм³", "см", "см²", "см³", "мм", "мм²", "мм³", "нм", "кг", "г", "мг",
        "м/с", "км/ч", "мбар", "кб", "мб", "гб", "тб",
    ];

    private static readonly string[] Hyphens = ["-", "–", "—", "--", "---", "——", "~"];

    private readonly CharBuffer word = new(256);
    private readonly CharBuffer whitespace = new(64);
    // Affixes split off so far (start, length); they grow (rarely: runs of punctuation) instead of dropping any.
    private int[] prefixStarts = new int[InitialAffixCapacity];
    private int[] prefixLengths = new int[InitialAffixCapacity];
    private int[] suffixStarts = new int[InitialAffixCapacity];
    private int[] suffixLengths = new int[InitialAffixCapacity];

    /// <summary>
    /// Splits <paramref name="text"/> (the output of rules 1–5) into tokens. With <paramref name="applyCaseRules"/>,
    /// rules 6–8 are applied on the way (markers, lowercase, strip); with <paramref name="addBeginningOfStream"/>,
    /// <c>xxbos</c> comes first.
    /// </summary>
    public void Split<TSink>(ReadOnlySpan<char> text, ref TSink sink, bool applyCaseRules, bool addBeginningOfStream)
        where TSink : ITokenSink, allows ref struct
    {
        text = TextRules.Strip(text);
        if (addBeginningOfStream)
        {
            sink.Add(SpecialTokens.BeginningOfStream);
        }
        // Word boundaries and word shapes come from per-block bitmasks (32 characters per step, vectorized for
        // ASCII), so the per-character work is a few vector instructions and each word costs a few bit operations.
        // After Strip the text starts and ends with a non-space character.
        int wordStart = -1;
        int spaceStart = 0;
        CharacterClasses.Shape wordShape = CharacterClasses.Shape.None;
        int position = 0;
        while (position < text.Length)
        {
            int length = Math.Min(32, text.Length - position);
            BlockMasks masks = ComputeMasks(text, position, length);
            uint valid = length == 32 ? uint.MaxValue : (1u << length) - 1;
            uint before = wordStart >= 0 ? 0u : 1u;
            uint transitions = (masks.Space ^ ((masks.Space << 1) | before)) & valid;
            int segmentStart = 0;
            while (transitions != 0)
            {
                int bit = BitOperations.TrailingZeroCount(transitions);
                transitions &= transitions - 1;
                int at = position + bit;
                if (((masks.Space >> bit) & 1) == 0)
                {
                    // A word starts: first the whitespace run before it (spaCy: a leading ' ' belongs to the previous token).
                    if (at > spaceStart && (at - spaceStart > 1 || text[spaceStart] != ' '))
                    {
                        int runStart = text[spaceStart] == ' ' ? spaceStart + 1 : spaceStart;
                        EmitWhitespace(text[runStart..at], ref sink);
                    }
                    wordStart = at;
                    wordShape = CharacterClasses.Shape.None;
                    segmentStart = bit;
                }
                else
                {
                    wordShape |= masks.ShapeOf(segmentStart, bit);
                    ProcessWord(text[wordStart..at], wordShape, ref sink, applyCaseRules);
                    wordStart = -1;
                    spaceStart = at;
                }
            }
            if (wordStart >= 0)
            {
                wordShape |= masks.ShapeOf(segmentStart, length);
            }
            position += length;
        }
        if (wordStart >= 0)
        {
            ProcessWord(text[wordStart..], wordShape, ref sink, applyCaseRules);
        }
    }

    /// <summary>Per-character class bits of one block of up to 32 characters.</summary>
    private readonly struct BlockMasks(uint space, uint lower, uint upper, uint other, uint nonAscii)
    {
        public uint Space { get; } = space;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public CharacterClasses.Shape ShapeOf(int from, int to)
        {
            uint range = (to == 32 ? uint.MaxValue : (1u << to) - 1) & ~((1u << from) - 1);
            CharacterClasses.Shape shape = CharacterClasses.Shape.None;
            if ((lower & range) != 0)
            {
                shape |= CharacterClasses.Shape.Lower;
            }
            if ((upper & range) != 0)
            {
                shape |= CharacterClasses.Shape.Upper;
            }
            if ((other & range) != 0)
            {
                shape |= CharacterClasses.Shape.OtherAscii;
            }
            if ((nonAscii & range) != 0)
            {
                shape |= CharacterClasses.Shape.NonAscii;
            }
            return shape;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static BlockMasks ComputeMasks(ReadOnlySpan<char> text, int start, int length)
    {
        if (length == 32 && Vector256.IsHardwareAccelerated)
        {
            ref ushort first = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text[start..]));
            Vector256<ushort> low = Vector256.LoadUnsafe(ref first);
            Vector256<ushort> high = Vector256.LoadUnsafe(ref first, 16);
            if (((low | high) & Vector256.Create((ushort)0xFF80)) == Vector256<ushort>.Zero)
            {
                (uint spaceLow, uint lowerLow, uint upperLow) = Classify(low);
                (uint spaceHigh, uint lowerHigh, uint upperHigh) = Classify(high);
                uint space = spaceLow | (spaceHigh << 16);
                uint lower = lowerLow | (lowerHigh << 16);
                uint upper = upperLow | (upperHigh << 16);
                return new BlockMasks(space, lower, upper, ~(space | lower | upper), 0);
            }
        }
        uint s = 0, l = 0, u = 0, o = 0, n = 0;
        for (int j = 0; j < length; j++)
        {
            uint bit = 1u << j;
            switch (CharacterClasses.ShapeOf(text[start + j]))
            {
                case CharacterClasses.Shape.Space: s |= bit; break;
                case CharacterClasses.Shape.Lower: l |= bit; break;
                case CharacterClasses.Shape.Upper: u |= bit; break;
                case CharacterClasses.Shape.OtherAscii: o |= bit; break;
                default: n |= bit; break;
            }
        }
        return new BlockMasks(s, l, u, o, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (uint Space, uint Lower, uint Upper) Classify(Vector256<ushort> chars)
    {
        // Python whitespace in ASCII: 9–13 and 28–32.
        Vector256<ushort> space = Vector256.LessThanOrEqual(chars - Vector256.Create((ushort)9), Vector256.Create((ushort)4))
            | Vector256.LessThanOrEqual(chars - Vector256.Create((ushort)28), Vector256.Create((ushort)4));
        Vector256<ushort> lower = Vector256.LessThanOrEqual(chars - Vector256.Create((ushort)'a'), Vector256.Create((ushort)25));
        Vector256<ushort> upper = Vector256.LessThanOrEqual(chars - Vector256.Create((ushort)'A'), Vector256.Create((ushort)25));
        return (space.ExtractMostSignificantBits(), lower.ExtractMostSignificantBits(), upper.ExtractMostSignificantBits());
    }

    /// <summary>The character-by-character reference for <see cref="Split"/> (tests compare the two).</summary>
    internal void SplitScalar<TSink>(ReadOnlySpan<char> text, ref TSink sink, bool applyCaseRules, bool addBeginningOfStream)
        where TSink : ITokenSink, allows ref struct
    {
        text = TextRules.Strip(text);
        if (addBeginningOfStream)
        {
            sink.Add(SpecialTokens.BeginningOfStream);
        }
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (CharacterClasses.IsSpace(c))
            {
                int j = i + 1;
                while (j < text.Length && CharacterClasses.IsSpace(text[j]))
                {
                    j++;
                }
                // A run starting with an ASCII space gives that space to the previous token; the rest is one token.
                int start = c == ' ' ? i + 1 : i;
                if (start < j)
                {
                    EmitWhitespace(text[start..j], ref sink);
                }
                i = j;
            }
            else
            {
                // One pass finds the word's end and what kinds of characters it holds.
                int start = i;
                CharacterClasses.Shape shape = CharacterClasses.Shape.None;
                CharacterClasses.Shape kind = CharacterClasses.ShapeOf(c);
                do
                {
                    shape |= kind;
                    if (++i == text.Length)
                    {
                        break;
                    }
                    kind = CharacterClasses.ShapeOf(text[i]);
                }
                while (kind != CharacterClasses.Shape.Space);
                ProcessWord(text[start..i], shape, ref sink, applyCaseRules);
            }
        }
    }

    private void EmitWhitespace<TSink>(ReadOnlySpan<char> run, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        if (run.IndexOf(' ') < 0)
        {
            sink.Add(run);
            return;
        }
        whitespace.Clear();
        Span<char> target = whitespace.GetSpan(run.Length);
        run.Replace(target, ' ', '▁');
        whitespace.Advance(run.Length);
        sink.Add(whitespace.Written);
    }

    private void ProcessWord<TSink>(ReadOnlySpan<char> original, CharacterClasses.Shape shape, ref TSink sink, bool applyCaseRules)
        where TSink : ITokenSink, allows ref struct
    {
        ReadOnlySpan<char> lowered = original;
        if (applyCaseRules && (shape & (CharacterClasses.Shape.Upper | CharacterClasses.Shape.NonAscii)) == CharacterClasses.Shape.Upper)
        {
            // ASCII word with capitals: classify (rules 6–7), then lowercase a copy (both vectorized).
            if (original.Length > 1 && char.IsAsciiLetterUpper(original[0]))
            {
                if ((shape & CharacterClasses.Shape.Lower) == 0)
                {
                    sink.Add(SpecialTokens.AllCaps);
                }
                else if (original[1..].IndexOfAnyInRange('A', 'Z') < 0)
                {
                    sink.Add(SpecialTokens.Capitalized);
                }
            }
            word.Clear();
            Span<char> copy = word.GetSpan(original.Length);
            System.Text.Ascii.ToLower(original, copy, out _);
            word.Advance(original.Length);
            lowered = copy;
            shape = (shape & ~CharacterClasses.Shape.Upper) | CharacterClasses.Shape.Lower;
        }
        else if (applyCaseRules && (shape & CharacterClasses.Shape.NonAscii) != 0)
        {
            string? marker = TextRules.CaseMarker(original);
            if (marker is not null)
            {
                sink.Add(marker);
            }
            word.Clear();
            Span<char> copy = word.GetSpan(original.Length * 2); // 'İ' lowercases to two chars
            int length = TextRules.LowercaseInto(original, copy);
            word.Advance(length);
            lowered = copy[..length];
            shape = (shape & CharacterClasses.Shape.Upper) != 0 ? (shape & ~CharacterClasses.Shape.Upper) | CharacterClasses.Shape.Lower : shape;
        }

        // Fast path: a one-char word is always one token (exceptions have at least two chars, and a lone prefix,
        // suffix or infix is the whole word). Mail text is full of them: rule 4 isolates every '/', '#' and '\'.
        if (lowered.Length == 1)
        {
            sink.Add(lowered);
            return;
        }

        // Fast path: plain lowercase ASCII words need only the exception check.
        if (shape == CharacterClasses.Shape.Lower)
        {
            string[]? parts = TokenizerExceptions.Find(lowered);
            if (parts is null)
            {
                sink.Add(lowered);
            }
            else
            {
                EmitAll(parts, ref sink);
            }
            return;
        }
        if (!DisableAffixFastPath && TrySplitSimpleAffix(lowered, ref sink))
        {
            return;
        }
        SplitAffixes(lowered, ref sink);
    }

    /// <summary>Turns off <see cref="TrySplitSimpleAffix"/> (tests compare both paths).</summary>
    internal bool DisableAffixFastPath { get; set; }

    // Letters-only body with one closing / opening punctuation char, as mail and HTML are full of ("word,", "word.",
    // "tag>", "<tag", "(word"), and digit-only words. For these the general affix loop always ends the same way
    // (traced in SplitAffixes): the whole word is checked against the exceptions first (e.g. "etc.", "a."), then
    // the affix is split off and the body is either an exception or one token; a letters-only or digits-only body
    // has no further prefix, suffix (units need a digit before letters) or infix.
    private static readonly System.Buffers.SearchValues<char> SimpleSuffixes = System.Buffers.SearchValues.Create(",.:;!?)>]}\"");
    private static readonly System.Buffers.SearchValues<char> SimplePrefixes = System.Buffers.SearchValues.Create("(<[{\"");

    private static bool TrySplitSimpleAffix<TSink>(ReadOnlySpan<char> word, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        if (word.Length < 2)
        {
            return false;
        }
        ReadOnlySpan<char> body;
        ReadOnlySpan<char> prefix = default;
        ReadOnlySpan<char> suffix = default;
        if (SimpleSuffixes.Contains(word[^1]))
        {
            body = word[..^1];
            suffix = word[^1..];
        }
        else if (SimplePrefixes.Contains(word[0]))
        {
            body = word[1..];
            prefix = word[..1];
        }
        else
        {
            body = word;
        }
        bool letters = !body.ContainsAnyExceptInRange('a', 'z');
        if (!letters && (!suffix.IsEmpty || !prefix.IsEmpty || body.ContainsAnyExceptInRange('0', '9')))
        {
            return false;
        }
        if (body.Length == word.Length && letters)
        {
            return false; // plain lowercase words take the caller's own fast path
        }
        if (TokenizerExceptions.Find(word) is not null)
        {
            return false;
        }
        if (!prefix.IsEmpty)
        {
            sink.Add(prefix);
        }
        string[]? parts = TokenizerExceptions.Find(body);
        if (parts is null)
        {
            sink.Add(body);
        }
        else
        {
            EmitAll(parts, ref sink);
        }
        if (!suffix.IsEmpty)
        {
            sink.Add(suffix);
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EmitAll<TSink>(string[] parts, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        foreach (string part in parts)
        {
            sink.Add(part);
        }
    }

    private void SplitAffixes<TSink>(ReadOnlySpan<char> text, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        string[]? special = TokenizerExceptions.Find(text);
        if (special is not null)
        {
            EmitAll(special, ref sink);
            return;
        }
        int low = 0;
        int high = text.Length;
        int prefixes = 0;
        int suffixes = 0;
        int lastSize = -1;
        // Every remainder is checked against the exceptions once (the check spaCy also makes at the top of the next
        // iteration), so 'restSpecial' always describes the current remainder.
        string[]? restSpecial = null;
        while (high > low && high - low != lastSize)
        {
            ReadOnlySpan<char> current = text[low..high];
            lastSize = current.Length;
            int prefix = FindPrefix(current);
            if (prefix != 0 && prefix < current.Length && (restSpecial = TokenizerExceptions.Find(current[prefix..])) is not null)
            {
                Push(ref prefixStarts, ref prefixLengths, ref prefixes, low, prefix);
                low += prefix;
                break;
            }
            int suffix = FindSuffix(current[prefix..]);
            if (suffix != 0 && suffix < current.Length && (restSpecial = TokenizerExceptions.Find(current[..^suffix])) is not null)
            {
                Push(ref suffixStarts, ref suffixLengths, ref suffixes, high - suffix, suffix);
                high -= suffix;
                break;
            }
            if (prefix != 0)
            {
                Push(ref prefixStarts, ref prefixLengths, ref prefixes, low, prefix);
                low += prefix;
            }
            if (suffix != 0)
            {
                Push(ref suffixStarts, ref suffixLengths, ref suffixes, high - suffix, suffix);
                high -= suffix;
            }
            // With one affix split off, the remainder is the span just checked above (or empty); with none, it is the
            // span checked at the end of the previous iteration (or before the loop). Only both together leave a new one.
            if (prefix != 0 && suffix != 0 && high > low && (restSpecial = TokenizerExceptions.Find(text[low..high])) is not null)
            {
                break;
            }
        }

        for (int p = 0; p < prefixes; p++)
        {
            sink.Add(text.Slice(prefixStarts[p], prefixLengths[p]));
        }
        if (high > low)
        {
            if (restSpecial is not null)
            {
                EmitAll(restSpecial, ref sink);
            }
            else
            {
                SplitInfixes(text[low..high], ref sink);
            }
        }
        for (int s = suffixes - 1; s >= 0; s--)
        {
            sink.Add(text.Slice(suffixStarts[s], suffixLengths[s]));
        }
    }

    private static void Push(ref int[] starts, ref int[] lengths, ref int count, int start, int length)
    {
        if (count == starts.Length)
        {
            Array.Resize(ref starts, starts.Length * 2);
            Array.Resize(ref lengths, lengths.Length * 2);
        }
        starts[count] = start;
        lengths[count] = length;
        count++;
    }

    private static void SplitInfixes<TSink>(ReadOnlySpan<char> text, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        int first = -1;
        int firstLength = 0;
        for (int i = CharacterClasses.IndexOfMayStartInfix(text, 0); i >= 0; i = CharacterClasses.IndexOfMayStartInfix(text, i + 1))
        {
            int length = MatchInfix(text, i);
            if (length > 0)
            {
                first = i;
                firstLength = length;
                break;
            }
        }
        if (first < 0 || IsUrl(text))
        {
            sink.Add(text);
            return;
        }

        int start = 0;
        int position = first;
        int matchLength = firstLength;
        while (true)
        {
            // spaCy skips an infix found at the very start of the string (it stays part of the first piece).
            if (position != 0)
            {
                if (position != start)
                {
                    sink.Add(text[start..position]);
                }
                sink.Add(text.Slice(position, matchLength));
                start = position + matchLength;
            }
            position += matchLength;
            matchLength = 0;
            for (position = position < text.Length ? CharacterClasses.IndexOfMayStartInfix(text, position) : -1;
                 position >= 0; position = CharacterClasses.IndexOfMayStartInfix(text, position + 1))
            {
                matchLength = MatchInfix(text, position);
                if (matchLength > 0)
                {
                    break;
                }
            }
            if (matchLength == 0)
            {
                break;
            }
        }
        if (start < text.Length)
        {
            sink.Add(text[start..]);
        }
    }

    /// <summary>Length of the infix matching at <paramref name="i"/> (spaCy English infixes, first alternative wins), or 0.</summary>
    internal static int MatchInfix(ReadOnlySpan<char> text, int i)
    {
        char c = text[i];
        if (c == '.' && i + 1 < text.Length && text[i + 1] == '.')
        {
            int end = i + 2;
            while (end < text.Length && text[end] == '.')
            {
                end++;
            }
            return end - i;
        }
        if (c == '…')
        {
            return 1;
        }
        int codePoint = CharacterClasses.CodePointAt(text, i, out int length);
        if (CharacterClasses.IsIcon(codePoint))
        {
            return length;
        }
        if (i == 0)
        {
            return 0; // every remaining infix needs a character before it
        }
        int previous = CharacterClasses.CodePointBefore(text, i, out _);
        int next = i + 1 < text.Length ? CharacterClasses.CodePointAt(text, i + 1, out _) : -1;
        if (c is '+' or '-' or '*' or '^' && CharacterClasses.IsDigit(previous) && (CharacterClasses.IsDigit(next) || next == '-'))
        {
            return 1;
        }
        if (c == '.' && (CharacterClasses.IsLower(previous) || CharacterClasses.IsQuote(previous))
            && next >= 0 && (CharacterClasses.IsUpper(next) || CharacterClasses.IsQuote(next)))
        {
            return 1;
        }
        if (c == ',' && CharacterClasses.IsAlpha(previous) && next >= 0 && CharacterClasses.IsAlpha(next))
        {
            return 1;
        }
        bool afterAlphanumeric = CharacterClasses.IsAlpha(previous) || CharacterClasses.IsDigit(previous);
        if (!afterAlphanumeric)
        {
            return 0;
        }
        if (c is '-' or '–' or '—' or '~')
        {
            foreach (string hyphen in Hyphens)
            {
                if (text[i..].StartsWith(hyphen, StringComparison.Ordinal) && i + hyphen.Length < text.Length
                    && CharacterClasses.IsAlpha(CharacterClasses.CodePointAt(text, i + hyphen.Length, out _)))
                {
                    return hyphen.Length;
                }
            }
        }
        if (c is ':' or '<' or '>' or '=' or '/' && next >= 0 && CharacterClasses.IsAlpha(next))
        {
            return 1;
        }
        return 0;
    }

    /// <summary>Length of the prefix of <paramref name="text"/> (spaCy English prefixes, first alternative wins), or 0.</summary>
    internal static int FindPrefix(ReadOnlySpan<char> text)
    {
        char c = text[0];
        if (CharacterClasses.IsAsciiLetterOrDigit(c))
        {
            return 0;
        }
        int codePoint = CharacterClasses.CodePointAt(text, 0, out int length);
        if (codePoint is '§' or '%' or '=' or '—' or '–')
        {
            return 1;
        }
        if (codePoint == '+')
        {
            return text.Length > 1 && CharacterClasses.IsDigit(text[1]) ? 0 : 1;
        }
        if (CharacterClasses.IsPunct(codePoint))
        {
            return length;
        }
        if (c == '.')
        {
            int end = 1;
            while (end < text.Length && text[end] == '.')
            {
                end++;
            }
            return end >= 2 ? end : 0;
        }
        if (CharacterClasses.IsQuote(codePoint) || CharacterClasses.IsCurrency(codePoint) || CharacterClasses.IsIcon(codePoint))
        {
            return length;
        }
        return 0;
    }

    /// <summary>
    /// Length of the suffix of <paramref name="text"/>: the leftmost-starting spaCy English suffix that reaches the
    /// end (Python's <c>re.search</c> on the <c>...$</c> alternation), i.e. the longest, or 0.
    /// </summary>
    internal static int FindSuffix(ReadOnlySpan<char> text)
    {
        int n = text.Length;
        if (n == 0)
        {
            return 0;
        }
        char lastChar = text[n - 1];
        int best = 0;
        if (CharacterClasses.IsAsciiLetterOrDigit(lastChar))
        {
            // Only "'s" and the digit-preceded units ('5km') end in an ASCII letter or digit (no unit ends in a digit).
            if (n >= 2 && lastChar is 's' or 'S' && text[n - 2] is '\'' or '’')
            {
                return 2;
            }
            return MayEndUnit(lastChar) ? FindUnit(text) : 0;
        }
        int last = CharacterClasses.CodePointBefore(text, n, out int length);
        if (lastChar == '.')
        {
            int start = n - 1;
            while (start > 0 && text[start - 1] == '.')
            {
                start--;
            }
            if (n - start >= 2)
            {
                best = n - start;
            }
            if (n >= 2)
            {
                int previous = CharacterClasses.CodePointBefore(text, n - 1, out _);
                if (CharacterClasses.IsDotLookbehind(previous))
                {
                    best = Math.Max(best, 1);
                }
                if (n >= 3 && ((CharacterClasses.IsUpper(text[n - 2]) && CharacterClasses.IsUpper(text[n - 3]))
                               || (text[n - 3] == '°' && text[n - 2] is 'f' or 'F' or 'c' or 'C' or 'k' or 'K')))
                {
                    best = Math.Max(best, 1);
                }
            }
            return best;
        }
        if (n >= 2 && lastChar == '…' && text[n - 2] == '…')
        {
            return 2;
        }
        if (n >= 2 && lastChar is 's' or 'S' && text[n - 2] is '\'' or '’')
        {
            return 2;
        }
        if (CharacterClasses.IsPunct(last) || CharacterClasses.IsQuote(last) || CharacterClasses.IsIcon(last) || last is '—' or '–')
        {
            best = length;
        }
        if (n >= 2 && CharacterClasses.IsDigit(text[n - 2]) && (lastChar == '+' || CharacterClasses.IsCurrency(last)))
        {
            best = Math.Max(best, length);
        }
        return MayEndUnit(lastChar) ? Math.Max(best, FindUnit(text)) : best;
    }

    private static int FindUnit(ReadOnlySpan<char> text)
    {
        // (?<=[0-9])(?:unit)$: no unit holds an ASCII digit, so the unit is exactly the tail after the last digit,
        // which must lie within the longest unit's length of the end.
        int lastDigit = -1;
        for (int i = text.Length - 1; i >= 0 && i >= text.Length - 1 - MaximumUnitLength; i--)
        {
            if (char.IsAsciiDigit(text[i]))
            {
                lastDigit = i;
                break;
            }
        }
        if (lastDigit < 0 || lastDigit == text.Length - 1)
        {
            return 0;
        }
        ReadOnlySpan<char> tail = text[(lastDigit + 1)..];
        return UnitLookup.Contains(tail) ? tail.Length : 0;
    }

    private static readonly int MaximumUnitLength = Units.Max(u => u.Length);

    // The last chars of the units: a word ending otherwise has no unit suffix (skips the digit search and hash lookup).
    private static readonly System.Buffers.SearchValues<char> UnitEnds = System.Buffers.SearchValues.Create(Units.Select(u => u[^1]).Distinct().ToArray());
    private static readonly UInt128 AsciiUnitEnds = Units.Select(u => u[^1]).Where(c => c < 128).Aggregate(UInt128.Zero, (bits, c) => bits | (UInt128.One << c));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool MayEndUnit(char c) => c < 128 ? ((AsciiUnitEnds >> c) & UInt128.One) != UInt128.Zero : UnitEnds.Contains(c);
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> UnitLookup =
        new HashSet<string>(Units, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>spaCy's URL_MATCH: such a string stays one token instead of being split on infixes.</summary>
    internal static bool IsUrl(ReadOnlySpan<char> text) => text.Contains('.') && UrlPattern().IsMatch(text);

    [GeneratedRegex(
        @"^(?:(?:[\w\+\-\.]{2,})://)?(?:\S+(?::\S*)?@)?(?:(?!(?:10|127)(?:\.\d{1,3}){3})(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))|(?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+(?:\p{Ll}{2,63}))(?::\d{2,5})?(?:[/?#]\S*)?$",
        RegexOptions.CultureInvariant)]
    private static partial Regex UrlPattern();
}
