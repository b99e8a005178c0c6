namespace FastText.Engine.Text;

/// <summary>
/// Python's <c>html.unescape</c>, which fastai's <c>fix_html</c> applies last: numeric references with the HTML
/// standard's replacements, and named references (with or without ';' as the standard allows, longest prefix first).
/// </summary>
internal static partial class HtmlEntities
{
    private const int MaxNameLength = 32;

    // Built on first use: the table lives in another part of this partial class, whose initialisation order is undefined.
    private static Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> NamedLookup => Lookup.Instance;

    // The HTML standard maps these numeric references to Windows-1252 (and NUL to U+FFFD, CR to itself).
    private static readonly string Windows1252 =
        "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F" +
        "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

    private static class Lookup
    {
        public static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Instance = Build();

        private static Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Build()
        {
            var named = new Dictionary<string, string>(NamedReferences.Length / 2, StringComparer.Ordinal);
            for (int i = 0; i < NamedReferences.Length; i += 2)
            {
                named[NamedReferences[i]] = NamedReferences[i + 1];
            }
            return named.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    /// <summary>Writes the unescaped <paramref name="text"/> into <paramref name="destination"/>; false when nothing changed.</summary>
    public static bool Unescape(ReadOnlySpan<char> text, CharBuffer destination)
    {
        int amp = text.IndexOf('&');
        if (amp < 0)
        {
            return false;
        }
        destination.Clear();
        bool changed = false;
        int copied = 0;
        while (amp >= 0)
        {
            int end = TryReplace(text, amp, destination, copied, ref changed);
            if (end > 0)
            {
                copied = end;
                int next = text[end..].IndexOf('&');
                amp = next < 0 ? -1 : end + next;
            }
            else
            {
                int next = text[(amp + 1)..].IndexOf('&');
                amp = next < 0 ? -1 : amp + 1 + next;
            }
        }
        destination.Append(text[copied..]);
        return changed;
    }

    // Tries the reference starting at text[amp] == '&'. On a match, copies text[copied..amp] and the replacement and
    // returns the end of the reference; otherwise returns 0.
    private static int TryReplace(ReadOnlySpan<char> text, int amp, CharBuffer destination, int copied, ref bool changed)
    {
        int i = amp + 1;
        if (i >= text.Length)
        {
            return 0;
        }
        if (text[i] == '#')
        {
            int k = i + 1;
            bool hex = k < text.Length && (text[k] is 'x' or 'X');
            if (hex)
            {
                k++;
            }
            int digits = k;
            long value = 0;
            while (k < text.Length && (hex ? char.IsAsciiHexDigit(text[k]) : char.IsAsciiDigit(text[k])))
            {
                // Saturate: Python's int() is unbounded; anything above U+10FFFF becomes U+FFFD anyway.
                value = Math.Min(value * (hex ? 16 : 10) + HexValue(text[k]), 0x7FFFFFFF);
                k++;
            }
            if (k == digits)
            {
                return 0;
            }
            if (k < text.Length && text[k] == ';')
            {
                k++;
            }
            destination.Append(text[copied..amp]);
            AppendNumeric(value, destination);
            changed = true;
            return k;
        }

        int nameEnd = i;
        while (nameEnd < text.Length && nameEnd - i < MaxNameLength && !IsNameStop(text[nameEnd]))
        {
            nameEnd++;
        }
        if (nameEnd == i)
        {
            return 0;
        }
        int groupEnd = nameEnd < text.Length && text[nameEnd] == ';' ? nameEnd + 1 : nameEnd;
        ReadOnlySpan<char> group = text[i..groupEnd];
        if (NamedLookup.TryGetValue(group, out string? replacement))
        {
            destination.Append(text[copied..amp]);
            destination.Append(replacement);
            changed = true;
            return groupEnd;
        }
        for (int x = group.Length - 1; x > 1; x--)
        {
            if (NamedLookup.TryGetValue(group[..x], out replacement))
            {
                destination.Append(text[copied..amp]);
                destination.Append(replacement);
                changed = true;
                return i + x;
            }
        }
        return 0;
    }

    private static bool IsNameStop(char c) => c is '\t' or '\n' or '\f' or ' ' or '<' or '&' or '#' or ';';

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static void AppendNumeric(long value, CharBuffer destination)
    {
        if (value == 0)
        {
            destination.Append('\uFFFD');
        }
        else if (value == 0x0D)
        {
            destination.Append('\r');
        }
        else if (value is >= 0x80 and <= 0x9F)
        {
            destination.Append(Windows1252[(int)value - 0x80]);
        }
        else if (value is >= 0xD800 and <= 0xDFFF || value > 0x10FFFF)
        {
            destination.Append('\uFFFD');
        }
        else if (IsInvalidCodePoint((int)value))
        {
            // Python drops these (control characters and noncharacters).
        }
        else if (value > 0xFFFF)
        {
            int astral = (int)value - 0x10000;
            destination.Append((char)(0xD800 + (astral >> 10)));
            destination.Append((char)(0xDC00 + (astral & 0x3FF)));
        }
        else
        {
            destination.Append((char)value);
        }
    }

    private static bool IsInvalidCodePoint(int value) =>
        value is (>= 0x1 and <= 0x8) or 0xB or (>= 0xE and <= 0x1F) or (>= 0x7F and <= 0x9F) or (>= 0xFDD0 and <= 0xFDEF)
        || (value & 0xFFFE) == 0xFFFE;
}
