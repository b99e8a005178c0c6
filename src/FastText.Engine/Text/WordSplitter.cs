using System.Runtime.CompilerServices;
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
    private const int MaxAffixes = 64;
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
    private readonly int[] prefixStarts = new int[MaxAffixes];
    private readonly int[] prefixLengths = new int[MaxAffixes];
    private readonly int[] suffixStarts = new int[MaxAffixes];
    private readonly int[] suffixLengths = new int[MaxAffixes];

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
                do
                {
                    shape |= CharacterClasses.ShapeOf(c);
                    if (++i == text.Length)
                    {
                        break;
                    }
                    c = text[i];
                }
                while ((CharacterClasses.ShapeOf(c) & CharacterClasses.Shape.Space) == 0);
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
        if (applyCaseRules && (shape & (CharacterClasses.Shape.Upper | CharacterClasses.Shape.NonAscii)) != 0)
        {
            string? marker = TextRules.CaseMarker(original);
            if (marker is not null)
            {
                sink.Add(marker);
            }
            word.Clear();
            Span<char> copy = word.GetSpan(original.Length);
            original.CopyTo(copy);
            word.Advance(original.Length);
            TextRules.LowercaseInPlace(copy);
            lowered = copy;
            shape = (shape & CharacterClasses.Shape.Upper) != 0 ? (shape & ~CharacterClasses.Shape.Upper) | CharacterClasses.Shape.Lower : shape;
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
        SplitAffixes(lowered, ref sink);
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
        while (high > low && high - low != lastSize)
        {
            ReadOnlySpan<char> current = text[low..high];
            if (TokenizerExceptions.Find(current) is not null)
            {
                break;
            }
            lastSize = current.Length;
            int prefix = FindPrefix(current);
            if (prefix != 0 && prefix < current.Length && TokenizerExceptions.Find(current[prefix..]) is not null)
            {
                Push(prefixStarts, prefixLengths, ref prefixes, low, prefix);
                low += prefix;
                break;
            }
            int suffix = FindSuffix(current[prefix..]);
            if (suffix != 0 && suffix < current.Length && TokenizerExceptions.Find(current[..^suffix]) is not null)
            {
                Push(suffixStarts, suffixLengths, ref suffixes, high - suffix, suffix);
                high -= suffix;
                break;
            }
            if (prefix != 0)
            {
                Push(prefixStarts, prefixLengths, ref prefixes, low, prefix);
                low += prefix;
            }
            if (suffix != 0)
            {
                Push(suffixStarts, suffixLengths, ref suffixes, high - suffix, suffix);
                high -= suffix;
            }
            if (high > low && TokenizerExceptions.Find(text[low..high]) is not null)
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
            ReadOnlySpan<char> rest = text[low..high];
            special = TokenizerExceptions.Find(rest);
            if (special is not null)
            {
                EmitAll(special, ref sink);
            }
            else
            {
                SplitInfixes(rest, ref sink);
            }
        }
        for (int s = suffixes - 1; s >= 0; s--)
        {
            sink.Add(text.Slice(suffixStarts[s], suffixLengths[s]));
        }
    }

    private static void Push(int[] starts, int[] lengths, ref int count, int start, int length)
    {
        if (count == MaxAffixes)
        {
            // A pathological run of punctuation: keep the remaining affixes in the body rather than grow.
            return;
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
        for (int i = 0; i < text.Length; i++)
        {
            if (CharacterClasses.MayStartInfix(text[i]))
            {
                int length = MatchInfix(text, i);
                if (length > 0)
                {
                    first = i;
                    firstLength = length;
                    break;
                }
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
            while (position < text.Length)
            {
                if (CharacterClasses.MayStartInfix(text[position]))
                {
                    matchLength = MatchInfix(text, position);
                    if (matchLength > 0)
                    {
                        break;
                    }
                }
                position++;
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
        foreach (string hyphen in Hyphens)
        {
            if (text[i..].StartsWith(hyphen, StringComparison.Ordinal) && i + hyphen.Length < text.Length
                && CharacterClasses.IsAlpha(CharacterClasses.CodePointAt(text, i + hyphen.Length, out _)))
            {
                return hyphen.Length;
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
            // Only "'s" and the digit-preceded units ('5km') end in an ASCII letter or digit.
            if (n >= 2 && lastChar is 's' or 'S' && text[n - 2] is '\'' or '’')
            {
                return 2;
            }
            return FindUnit(text);
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
        return Math.Max(best, FindUnit(text));
    }

    private static int FindUnit(ReadOnlySpan<char> text)
    {
        if (text.Length < 2 || text.IndexOfAnyInRange('0', '9') < 0)
        {
            return 0;
        }
        int best = 0;
        foreach (string unit in Units)
        {
            if (unit.Length > best && text.Length > unit.Length && text.EndsWith(unit, StringComparison.Ordinal)
                && CharacterClasses.IsDigit(text[text.Length - unit.Length - 1]))
            {
                best = unit.Length;
            }
        }
        return best;
    }

    /// <summary>spaCy's URL_MATCH: such a string stays one token instead of being split on infixes.</summary>
    internal static bool IsUrl(ReadOnlySpan<char> text) => text.Contains('.') && UrlPattern().IsMatch(text);

    [GeneratedRegex(
        @"^(?:(?:[\w\+\-\.]{2,})://)?(?:\S+(?::\S*)?@)?(?:(?!(?:10|127)(?:\.\d{1,3}){3})(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))|(?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+(?:\p{Ll}{2,63}))(?::\d{2,5})?(?:[/?#]\S*)?$",
        RegexOptions.CultureInvariant)]
    private static partial Regex UrlPattern();
}
