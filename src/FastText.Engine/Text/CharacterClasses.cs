using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace FastText.Engine.Text;

/// <summary>
/// Character classes with Python 3 <c>re</c>/<c>str</c> semantics (what fastai's regexes and spaCy see), plus the
/// spaCy English punctuation tables. ASCII is answered from a table; the rest from Unicode categories.
/// </summary>
internal static class CharacterClasses
{
    [Flags]
    private enum Ascii : ushort
    {
        None = 0,
        Space = 1,          // Python str.isspace()
        Word = 2,           // Python re \w: letters, digits, '_'
        Punct = 4,          // spaCy LIST_PUNCT single characters
        Quote = 8,          // spaCy LIST_QUOTES single characters
        Digit = 16,         // [0-9]
        Lower = 32,         // [a-z]
        Upper = 64,         // [A-Z]
        InfixStart = 128,   // a character that can start an infix match
        DotLookbehind = 256, // the characters before '.' that make it a suffix: digits, lower, % ² - +, punct, quotes, '|', '(', '?', ':', ')'
    }

    private static readonly Ascii[] Table = BuildTable();

    /// <summary>Python's whitespace (str.isspace / re \s), all in the BMP.</summary>
    public static readonly SearchValues<char> Spaces = SearchValues.Create(
        "\t\n\v\f\r\u001C\u001D\u001E\u001F \u0085\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029\u202F\u205F\u3000");

    // spaCy LIST_PUNCT (single characters) and LIST_QUOTES, without the ASCII ones already in the table.
    private const string PunctNonAscii = "…¿؟¡。？！，、；：～·।،۔؛٪";
    private const string QuoteNonAscii = "”“‘´’‚„»«「」『』（）〔〕【】《》〈〉〈〉⟦⟧";
    private const string PunctAscii = ",:;!?()[]{}<>_#*&";
    private const string QuoteAscii = "'\"`,";

    private static Ascii[] BuildTable()
    {
        var table = new Ascii[128];
        foreach (char c in "\t\n\v\f\r\u001C\u001D\u001E\u001F ")
        {
            table[c] |= Ascii.Space;
        }
        for (char c = '0'; c <= '9'; c++)
        {
            table[c] |= Ascii.Word | Ascii.Digit | Ascii.DotLookbehind;
        }
        for (char c = 'a'; c <= 'z'; c++)
        {
            table[c] |= Ascii.Word | Ascii.Lower | Ascii.DotLookbehind;
        }
        for (char c = 'A'; c <= 'Z'; c++)
        {
            table[c] |= Ascii.Word | Ascii.Upper;
        }
        table['_'] |= Ascii.Word;
        foreach (char c in PunctAscii)
        {
            table[c] |= Ascii.Punct | Ascii.DotLookbehind;
        }
        foreach (char c in QuoteAscii)
        {
            table[c] |= Ascii.Quote | Ascii.DotLookbehind;
        }
        // The '.' suffix lookbehind class of spaCy is built by pasting alternations into [...], so it also holds these.
        foreach (char c in "%-+|(?:)")
        {
            table[c] |= Ascii.DotLookbehind;
        }
        foreach (char c in ".+-*^,~:<>=/")
        {
            table[c] |= Ascii.InfixStart;
        }
        return table;
    }

    /// <summary>Python <c>str.isspace()</c> for a UTF-16 unit (every Python space is in the BMP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSpace(char c) => c < 128 ? (Table[c] & Ascii.Space) != 0 : c >= 0x85 && IsSpaceSlow(c);

    private static bool IsSpaceSlow(char c) => c switch
    {
        '\u0085' or '\u00A0' or '\u1680' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' => true,
        >= '\u2000' and <= '\u200A' => true,
        _ => false,
    };

    /// <summary>Python <c>str.isspace()</c> for a code point.</summary>
    public static bool IsSpace(int codePoint) => codePoint <= 0xFFFF && IsSpace((char)codePoint);

    /// <summary>Python <c>re</c> <c>\w</c> (str pattern): alphanumeric (Unicode L*, N*) or '_'.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsWord(int codePoint) => codePoint < 128 ? (Table[codePoint] & Ascii.Word) != 0 : IsWordSlow(codePoint);

    private static bool IsWordSlow(int codePoint)
    {
        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
        return category <= UnicodeCategory.OtherLetter // Lu, Ll, Lt, Lm, Lo
            || category is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;
    }

    /// <summary>spaCy's LIST_PUNCT single characters.</summary>
    public static bool IsPunct(int codePoint) => codePoint < 128
        ? (Table[codePoint] & Ascii.Punct) != 0
        : codePoint <= 0xFFFF && PunctNonAscii.Contains((char)codePoint, StringComparison.Ordinal);

    /// <summary>spaCy's LIST_QUOTES single characters.</summary>
    public static bool IsQuote(int codePoint) => codePoint < 128
        ? (Table[codePoint] & Ascii.Quote) != 0
        : codePoint <= 0xFFFF && QuoteNonAscii.Contains((char)codePoint, StringComparison.Ordinal);

    /// <summary>spaCy's LIST_ICONS: Unicode "other symbol" (So), except the degree sign.</summary>
    public static bool IsIcon(int codePoint) => codePoint >= 128 && codePoint != '°'
        && CharUnicodeInfo.GetUnicodeCategory(codePoint) == UnicodeCategory.OtherSymbol;

    /// <summary>spaCy LIST_CURRENCY single characters (the cased <c>US$</c>, <c>C$</c>, <c>A$</c> never occur after lowercasing).</summary>
    public static bool IsCurrency(int codePoint) => codePoint is '$' or '£' or '€' or '¥' or '฿' or '₽' or '﷼' or '₴';

    /// <summary>ASCII digit ([0-9] in a Python str pattern is ASCII only).</summary>
    public static bool IsDigit(int codePoint) => (uint)(codePoint - '0') <= 9;

    /// <summary>spaCy ALPHA: any letter.</summary>
    public static bool IsAlpha(int codePoint) => codePoint < 128
        ? (Table[codePoint] & (Ascii.Lower | Ascii.Upper)) != 0
        : Rune.IsValid(codePoint) && Rune.IsLetter(new Rune(codePoint));

    /// <summary>spaCy ALPHA_LOWER: a lowercase letter.</summary>
    public static bool IsLower(int codePoint) => codePoint < 128
        ? (Table[codePoint] & Ascii.Lower) != 0
        : CharUnicodeInfo.GetUnicodeCategory(codePoint) == UnicodeCategory.LowercaseLetter;

    /// <summary>spaCy ALPHA_UPPER: an uppercase letter.</summary>
    public static bool IsUpper(int codePoint) => codePoint < 128
        ? (Table[codePoint] & Ascii.Upper) != 0
        : CharUnicodeInfo.GetUnicodeCategory(codePoint) == UnicodeCategory.UppercaseLetter;

    /// <summary>The characters before a final '.' that make it a suffix (spaCy's <c>(?&lt;=[0-9{al}{e}{p}(?:{q})])\.</c>).</summary>
    public static bool IsDotLookbehind(int codePoint) => codePoint < 128
        ? (Table[codePoint] & Ascii.DotLookbehind) != 0
        : codePoint == '²' || IsLower(codePoint) || IsPunct(codePoint) || IsQuote(codePoint);

    /// <summary>Whether an ASCII char can start an infix (a cheap filter before the full infix rules).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool MayStartInfix(char c) => c >= 128 || (Table[c] & Ascii.InfixStart) != 0;

    /// <summary>
    /// The index of the first char at or after <paramref name="start"/> for which <see cref="MayStartInfix"/> holds
    /// (an ASCII infix start or any non-ASCII char), or -1. Vectorized: runs of letters and digits (words, base64)
    /// are skipped 16–32 chars per step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOfMayStartInfix(ReadOnlySpan<char> text, int start)
    {
        int found = text[start..].IndexOfAnyExcept(NotInfixStart);
        return found < 0 ? -1 : start + found;
    }

    // Every ASCII char that cannot start an infix: IndexOfAnyExcept over it stops at infix starts and at non-ASCII.
    private static readonly SearchValues<char> NotInfixStart = SearchValues.Create(
        Enumerable.Range(0, 128).Select(c => (char)c).Where(c => (Table[c] & Ascii.InfixStart) == 0).ToArray());

    /// <summary>Whether an ASCII char can be a prefix or a suffix on its own (filter: false means certainly not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsAsciiLetterOrDigit(char c) => c < 128 && (Table[c] & (Ascii.Lower | Ascii.Upper | Ascii.Digit)) != 0;

    /// <summary>What kinds of characters a word holds (one table lookup per char).</summary>
    [Flags]
    public enum Shape
    {
        None = 0,
        Lower = 1,
        Upper = 2,
        OtherAscii = 4,
        NonAscii = 8,
        Space = 16,
    }

    private static readonly Shape[] ShapeTable = BuildShapeTable();

    private static Shape[] BuildShapeTable()
    {
        var table = new Shape[128];
        for (int c = 0; c < 128; c++)
        {
            table[c] = c is >= 'a' and <= 'z' ? Shape.Lower : c is >= 'A' and <= 'Z' ? Shape.Upper : Shape.OtherAscii;
            if (IsSpace((char)c))
            {
                table[c] = Shape.Space;
            }
        }
        return table;
    }

    /// <summary>The kind of one character: <see cref="Shape.Space"/> for Python whitespace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Shape ShapeOf(char c) => c < 128 ? ShapeTable[c] : IsSpaceSlow(c) ? Shape.Space : Shape.NonAscii;

    /// <summary>The union of the kinds of characters in <paramref name="word"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Shape ShapeOf(ReadOnlySpan<char> word)
    {
        Shape shape = Shape.None;
        foreach (char c in word)
        {
            shape |= c < 128 ? ShapeTable[c] : Shape.NonAscii;
        }
        return shape;
    }

    /// <summary>Index of the first Python whitespace character, or -1 (vectorized skip over printable ASCII).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOfSpace(ReadOnlySpan<char> text)
    {
        int offset = 0;
        while (true)
        {
            int found = text[offset..].IndexOfAnyExceptInRange('!', '~');
            if (found < 0)
            {
                return -1;
            }
            offset += found;
            if (IsSpace(text[offset]))
            {
                return offset;
            }
            offset++;
        }
    }

    /// <summary>The index of the first whitespace character at or after <paramref name="start"/> (or the length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SkipNonSpace(ReadOnlySpan<char> text, int start)
    {
        int i = start;
        while (i < text.Length)
        {
            char c = text[i];
            // Printable ASCII ('!'..'~') is never whitespace: one compare for the common case.
            if ((uint)(c - '!') > '~' - '!' && IsSpace(c))
            {
                break;
            }
            i++;
        }
        return i;
    }

    /// <summary>Index of the first character that is not Python whitespace, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOfNonSpace(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (!IsSpace(text[i]))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The code point at <paramref name="index"/> and its length in UTF-16 units (a lone surrogate counts as itself).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CodePointAt(ReadOnlySpan<char> text, int index, out int length)
    {
        char c = text[index];
        if (!char.IsHighSurrogate(c) || index + 1 >= text.Length || !char.IsLowSurrogate(text[index + 1]))
        {
            length = 1;
            return c;
        }
        length = 2;
        return char.ConvertToUtf32(c, text[index + 1]);
    }

    /// <summary>The code point ending just before <paramref name="end"/>, and its length.</summary>
    public static int CodePointBefore(ReadOnlySpan<char> text, int end, out int length)
    {
        char c = text[end - 1];
        if (char.IsLowSurrogate(c) && end >= 2 && char.IsHighSurrogate(text[end - 2]))
        {
            length = 2;
            return char.ConvertToUtf32(text[end - 2], c);
        }
        length = 1;
        return c;
    }

    /// <summary>Number of code points in <paramref name="text"/> is greater than one.</summary>
    public static bool HasMoreThanOneCodePoint(ReadOnlySpan<char> text) =>
        text.Length > 2 || (text.Length == 2 && !(char.IsHighSurrogate(text[0]) && char.IsLowSurrogate(text[1])));
}
