using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastText.Engine.Text;

/// <summary>
/// fastai's default pre-processing rules (<c>defaults.text_proc_rules</c>) as linear passes over a char buffer:
/// <c>fix_html</c>, <c>replace_rep</c>, <c>replace_wrep</c>, <c>spec_add_spaces</c>, <c>rm_useless_spaces</c>, then
/// <c>replace_all_caps</c>, <c>replace_maj</c>, <c>lowercase</c>. Each pass first searches (vectorized) for
/// anything to do and copies nothing when the text is already clean.
/// </summary>
/// <remarks>
/// Semantics are those of the Python regexes (see ulmfit-reference §2), evaluated on code points with Python's
/// <c>\s</c>/<c>\w</c> classes. Rules 6–8 are fused into <see cref="WordSplitter"/> on the hot path; the string form
/// here (<see cref="ApplyCaseRules"/>) exists for inspection and golden tests.
/// Lowercasing is Python's <c>str.lower()</c>: simple case mapping plus its two special cases (<c>'İ'.lower()</c> → two
/// code points, final sigma <c>ς</c>); see <see cref="LowercaseInto"/>.
/// </remarks>
internal sealed class TextRules
{
    private static readonly (string From, string To)[] HtmlReplacements =
    [
        ("#39;", "'"), ("amp;", "&"), ("#146;", "'"), ("nbsp;", " "), ("#36;", "$"), ("\\n", "\n"), ("quot;", "'"),
        ("<br />", "\n"), ("\\\"", "\""), ("<unk>", SpecialTokens.Unknown), (" @.@ ", "."), (" @-@ ", "-"), ("...", " …"),
    ];

    private const int FirstLateReplacement = 10; // " @.@ ", " @-@ ", "..."

    private static readonly System.Buffers.SearchValues<char> HtmlKeys = System.Buffers.SearchValues.Create(";\\<@");
    private static readonly System.Buffers.SearchValues<char> EarlyKeys = System.Buffers.SearchValues.Create(";\\<");

    private readonly CharBuffer first = new();
    private readonly CharBuffer second = new();

    /// <summary>Applies rules 1–5; the result is valid until the next call.</summary>
    public ReadOnlySpan<char> ApplyUpToSpaces(ReadOnlySpan<char> text)
    {
        CharBuffer? current = null; // null: still the caller's text
        ReadOnlySpan<char> view = text;

        // fix_html's first ten replacements all hold ';', '\\' or '<': one scan over those characters replaces them
        // (exactly like ten sequential str.replace passes, see FixHtmlCore); the last three need '@' or "...".
        if (view.IndexOfAny(HtmlKeys) >= 0)
        {
            Step(FixHtmlCore(view, Other(current)), ref current, ref view);
            for (int r = FirstLateReplacement; r < HtmlReplacements.Length; r++)
            {
                (string from, string to) = HtmlReplacements[r];
                int index = view.IndexOf(from, StringComparison.Ordinal);
                if (index >= 0)
                {
                    CharBuffer target = Other(current);
                    ReplaceAll(view, index, from, to, target);
                    current = target;
                    view = target.Written;
                }
            }
        }
        else
        {
            int index = view.IndexOf("...", StringComparison.Ordinal);
            if (index >= 0)
            {
                CharBuffer target = Other(current);
                ReplaceAll(view, index, "...", " …", target);
                current = target;
                view = target.Written;
            }
        }
        Step(HtmlEntities.Unescape(view, Other(current)), ref current, ref view);
        Step(ReplaceRepetitions(view, Other(current)), ref current, ref view);
        Step(ReplaceWordRepetitions(view, Other(current)), ref current, ref view);
        Step(AddSpecialSpacesAndRemoveUselessSpaces(view, Other(current)), ref current, ref view);
        return view;
    }

    private CharBuffer Other(CharBuffer? current) => ReferenceEquals(current, first) ? second : first;

    private void Step(bool changed, ref CharBuffer? current, ref ReadOnlySpan<char> view)
    {
        if (changed)
        {
            current = Other(current);
            view = current.Written;
        }
    }

    /// <summary>
    /// The first ten <c>fix_html</c> replacements (<c>#39; amp; #146; nbsp; #36; \n quot; &lt;br /&gt; \" &lt;unk&gt;</c>) in
    /// one left-to-right scan. Equivalent to the sequential passes because no replacement output can be part of a
    /// later pattern except the space from <c>nbsp;</c> inside <c>&lt;br /&gt;</c> (handled by a final pass), and the
    /// only overlap between patterns, <c>\nbsp;</c>, goes to the earlier <c>nbsp;</c> as in the sequence.
    /// </summary>
    internal static bool FixHtmlCore(ReadOnlySpan<char> text, CharBuffer destination)
    {
        destination.Clear();
        bool changed = false;
        bool spaceFromNbsp = false;
        int copied = 0;
        int position = 0;
        while (position < text.Length)
        {
            int found = text[position..].IndexOfAny(EarlyKeys);
            if (found < 0)
            {
                break;
            }
            int at = position + found;
            int start = -1;
            int end = at + 1;
            string? replacement = null;
            switch (text[at])
            {
                case ';':
                    // Every pattern ends in '9;', 'p;', '6;' or 't;': CSS and entities like '&gt;' skip the loop.
                    if (at == 0 || text[at - 1] is not ('9' or 'p' or '6' or 't'))
                    {
                        break;
                    }
                    foreach ((string from, string to) in SemicolonReplacements)
                    {
                        int candidate = at + 1 - from.Length;
                        if (candidate >= copied && text[candidate..end].SequenceEqual(from))
                        {
                            (start, replacement) = (candidate, to);
                            spaceFromNbsp |= from == "nbsp;";
                            break;
                        }
                    }
                    break;
                case '\\':
                    if (at + 1 < text.Length && text[at + 1] == 'n' && !text[(at + 1)..].StartsWith("nbsp;", StringComparison.Ordinal))
                    {
                        (start, end, replacement) = (at, at + 2, "\n");
                    }
                    else if (at + 1 < text.Length && text[at + 1] == '"')
                    {
                        (start, end, replacement) = (at, at + 2, "\"");
                    }
                    break;
                default: // '<'
                    if (text[at..].StartsWith("<br />", StringComparison.Ordinal))
                    {
                        (start, end, replacement) = (at, at + 6, "\n");
                    }
                    else if (text[at..].StartsWith("<unk>", StringComparison.Ordinal))
                    {
                        (start, end, replacement) = (at, at + 5, SpecialTokens.Unknown);
                    }
                    break;
            }
            if (replacement is not null)
            {
                destination.Append(text[copied..start]);
                destination.Append(replacement);
                copied = end;
                changed = true;
                position = end;
            }
            else
            {
                position = at + 1;
            }
        }
        if (!changed)
        {
            return false;
        }
        destination.Append(text[copied..]);
        if (spaceFromNbsp)
        {
            ReadOnlySpan<char> written = destination.Written;
            int index = written.IndexOf("<br />", StringComparison.Ordinal);
            if (index >= 0)
            {
                var again = new CharBuffer(written.Length);
                ReplaceAll(written, index, "<br />", "\n", again);
                destination.Clear();
                destination.Append(again.Written);
            }
        }
        return true;
    }

    private static readonly (string From, string To)[] SemicolonReplacements =
        [("#39;", "'"), ("amp;", "&"), ("#146;", "'"), ("nbsp;", " "), ("#36;", "$"), ("quot;", "'")];

    /// <summary>Python <c>str.replace(from, to)</c> starting at the first known match.</summary>
    internal static void ReplaceAll(ReadOnlySpan<char> text, int index, string from, string to, CharBuffer destination)
    {
        destination.Clear();
        int copied = 0;
        while (index >= 0)
        {
            destination.Append(text[copied..index]);
            destination.Append(to);
            copied = index + from.Length;
            int next = text[copied..].IndexOf(from, StringComparison.Ordinal);
            index = next < 0 ? -1 : copied + next;
        }
        destination.Append(text[copied..]);
    }

    /// <summary>
    /// <c>replace_rep</c>: <c>(\S)(\1{2,})</c> → <c> xxrep N c </c> (N = total count), on code points.
    /// </summary>
    internal static bool ReplaceRepetitions(ReadOnlySpan<char> text, CharBuffer destination)
    {
        bool astral = text.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;
        int start = FindRepetitionCandidate(text, 0, astral);
        if (start < 0)
        {
            return false;
        }
        destination.Clear();
        int copied = 0;
        while (start >= 0)
        {
            // text[start] begins a run of at least three equal code points (or, for astral text, may).
            destination.Append(text[copied..start]);
            int codePoint = CharacterClasses.CodePointAt(text, start, out int length);
            ReadOnlySpan<char> unit = text.Slice(start, length);
            int end = start + length;
            int count = 1;
            if (!CharacterClasses.IsSpace(codePoint))
            {
                if (length == 1)
                {
                    // Runs of one char ('=====', base64 'AAAA…'): one vectorized scan instead of a compare per char.
                    int run = text[end..].IndexOfAnyExcept(text[start]);
                    int extra = run < 0 ? text.Length - end : run;
                    count += extra;
                    end += extra;
                }
                else
                {
                    while (end + length <= text.Length && text.Slice(end, length).SequenceEqual(unit))
                    {
                        count++;
                        end += length;
                    }
                }
            }
            if (count >= 3)
            {
                destination.Append(" xxrep ");
                destination.Append(count);
                destination.Append(' ');
                destination.Append(unit);
                destination.Append(' ');
            }
            else
            {
                destination.Append(text[start..end]);
            }
            copied = end;
            start = FindRepetitionCandidate(text, end, astral);
        }
        destination.Append(text[copied..]);
        return true;
    }

    // First index where a code point may repeat three times (exact check follows), or -1.
    private static int FindRepetitionCandidate(ReadOnlySpan<char> text, int from, bool astral)
    {
        if (astral)
        {
            return FindRepetitionCandidateScalar(text, from); // astral characters: compare code points the slow way
        }
        ReadOnlySpan<ushort> units = MemoryMarshal.Cast<char, ushort>(text);
        ref ushort start = ref MemoryMarshal.GetReference(units);
        int i = from;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<ushort>.Count + 2 <= units.Length; i += Vector256<ushort>.Count)
            {
                Vector256<ushort> a = Vector256.LoadUnsafe(ref start, (nuint)i);
                Vector256<ushort> b = Vector256.LoadUnsafe(ref start, (nuint)(i + 1));
                Vector256<ushort> c = Vector256.LoadUnsafe(ref start, (nuint)(i + 2));
                uint mask = (Vector256.Equals(a, b) & Vector256.Equals(b, c)).ExtractMostSignificantBits();
                while (mask != 0)
                {
                    int index = i + BitOperations.TrailingZeroCount(mask);
                    if (!CharacterClasses.IsSpace(text[index]))
                    {
                        return index;
                    }
                    mask &= mask - 1;
                }
            }
        }
        return FindRepetitionCandidateScalar(text, i);
    }

    private static int FindRepetitionCandidateScalar(ReadOnlySpan<char> text, int from)
    {
        for (int i = from; i + 2 < text.Length; i++)
        {
            char c = text[i];
            if (c == text[i + 1] && c == text[i + 2] && !CharacterClasses.IsSpace(c))
            {
                return i;
            }
            if (char.IsHighSurrogate(c) && i + 5 < text.Length && c == text[i + 2] && c == text[i + 4]
                && text[i + 1] == text[i + 3] && text[i + 1] == text[i + 5])
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// <c>replace_wrep</c>: <c>(?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$)</c> → <c> xxwrep N w E</c> with fastai's
    /// replacement <c>f' {TK_WREP} {len(cc.split())+2} {c} {e}'</c>, including the regex's backtracking.
    /// </summary>
    internal static bool ReplaceWordRepetitions(ReadOnlySpan<char> text, CharBuffer destination)
    {
        // A match needs two identical whitespace-delimited runs in a row (the word and its first repeat), so the
        // exact matcher only runs where consecutive runs agree. Run boundaries come from a whitespace bitmask,
        // 32 characters per step, so the common case costs a few vector instructions per block.
        var state = new RepetitionScan { PreviousStart = -1, RunStart = -1 };
        int position = 0;
        while (position < text.Length)
        {
            int blockLength = Math.Min(32, text.Length - position);
            uint mask = blockLength == 32 ? SpaceMask32(text, position) : SpaceMaskScalar(text, position, blockLength);
            uint before = state.RunStart >= 0 ? 0u : 1u; // the character before the block was whitespace (or the start)
            uint transitions = mask ^ ((mask << 1) | before);
            if (blockLength < 32)
            {
                transitions &= (1u << blockLength) - 1;
            }
            int restartAt = -1;
            while (transitions != 0)
            {
                int bit = BitOperations.TrailingZeroCount(transitions);
                transitions &= transitions - 1;
                int at = position + bit;
                if (((mask >> bit) & 1) == 0)
                {
                    state.RunStart = at;
                }
                else
                {
                    restartAt = EndRun(text, ref state, at, destination);
                    if (restartAt >= 0)
                    {
                        break;
                    }
                }
            }
            if (restartAt >= 0)
            {
                position = restartAt;
                state.RunStart = restartAt < text.Length && !CharacterClasses.IsSpace(text[restartAt]) ? restartAt : -1;
                continue;
            }
            position += blockLength;
        }
        if (state.RunStart >= 0)
        {
            EndRun(text, ref state, text.Length, destination);
        }
        if (state.Changed)
        {
            destination.Append(text[state.Copied..]);
        }
        return state.Changed;
    }

    private struct RepetitionScan
    {
        public bool Changed;
        public int Copied;
        public int SearchFrom;    // the previous match consumed everything before this
        public int PreviousStart; // the previous run, when it may start a match
        public int PreviousEnd;
        public int RunStart;      // the run being scanned, or -1 between runs
    }

    // Called at the end of each run; returns where to resume after a replacement, or -1.
    private static int EndRun(ReadOnlySpan<char> text, ref RepetitionScan state, int runEnd, CharBuffer destination)
    {
        int runStart = state.RunStart;
        state.RunStart = -1;
        int previousStart = state.PreviousStart;
        if (previousStart >= 0 && runEnd - runStart == state.PreviousEnd - previousStart && text[runStart] == text[previousStart]
            && text[runStart..runEnd].SequenceEqual(text[previousStart..state.PreviousEnd])
            && TryMatchWordRepetition(text, previousStart, out int end, out int count, out int wordEnd, out int delimiterStart))
        {
            if (!state.Changed)
            {
                destination.Clear();
                state.Changed = true;
            }
            int matchStart = previousStart == 0 ? 0 : previousStart - 1; // (?:\s|^) consumes the whitespace before
            destination.Append(text[state.Copied..matchStart]);
            destination.Append(" xxwrep ");
            destination.Append(count);
            destination.Append(' ');
            destination.Append(text[previousStart..wordEnd]);
            destination.Append(' ');
            destination.Append(text[delimiterStart..end]);
            state.Copied = end;
            state.SearchFrom = end;
            state.PreviousStart = -1;
            state.PreviousEnd = -1;
            return end;
        }
        bool eligible = runStart == 0 ? state.SearchFrom == 0 : runStart - 1 >= state.SearchFrom;
        state.PreviousStart = eligible ? runStart : -1;
        state.PreviousEnd = runEnd;
        return -1;
    }

    // Bit j set when text[start + j] is Python whitespace, for 32 characters.
    private static uint SpaceMask32(ReadOnlySpan<char> text, int start)
    {
        ReadOnlySpan<ushort> units = MemoryMarshal.Cast<char, ushort>(text.Slice(start, 32));
        if (Vector256.IsHardwareAccelerated)
        {
            ref ushort first = ref MemoryMarshal.GetReference(units);
            Vector256<ushort> low = Vector256.LoadUnsafe(ref first);
            Vector256<ushort> high = Vector256.LoadUnsafe(ref first, 16);
            if (((low | high) & Vector256.Create((ushort)0xFF80)) == Vector256<ushort>.Zero)
            {
                return SpaceMask16(low) | (SpaceMask16(high) << 16);
            }
        }
        return SpaceMaskScalar(text, start, 32);
    }

    private static uint SpaceMask16(Vector256<ushort> chars)
    {
        // ASCII whitespace for Python: 9–13 and 28–32.
        Vector256<ushort> space = Vector256.LessThanOrEqual(chars - Vector256.Create((ushort)9), Vector256.Create((ushort)4))
            | Vector256.LessThanOrEqual(chars - Vector256.Create((ushort)28), Vector256.Create((ushort)4));
        return space.ExtractMostSignificantBits();
    }

    private static uint SpaceMaskScalar(ReadOnlySpan<char> text, int start, int length)
    {
        uint mask = 0;
        for (int j = 0; j < length; j++)
        {
            if (CharacterClasses.IsSpace(text[start + j]))
            {
                mask |= 1u << j;
            }
        }
        return mask;
    }

    private static bool TryMatchWordRepetition(ReadOnlySpan<char> text, int wordStart, out int end, out int count, out int wordEnd, out int delimiterStart)
    {
        end = count = delimiterStart = 0;
        // (\w+): must run to whitespace, so it is the maximal word-character run.
        wordEnd = wordStart;
        while (wordEnd < text.Length)
        {
            int codePoint = CharacterClasses.CodePointAt(text, wordEnd, out int length);
            if (!CharacterClasses.IsWord(codePoint))
            {
                break;
            }
            wordEnd += length;
        }
        if (wordEnd == wordStart || wordEnd >= text.Length || !CharacterClasses.IsSpace(text[wordEnd]))
        {
            return false;
        }
        ReadOnlySpan<char> word = text[wordStart..wordEnd];
        int position = SkipSpaces(text, wordEnd);

        // ((?:\1\s+)+) greedy: repeats of the word each followed by whitespace.
        int repeats = 0;
        int lastRepeatStart = -1;
        while (position + word.Length < text.Length && text.Slice(position, word.Length).SequenceEqual(word)
               && CharacterClasses.IsSpace(text[position + word.Length]))
        {
            repeats++;
            lastRepeatStart = position;
            position = SkipSpaces(text, position + word.Length);
        }
        if (repeats == 0)
        {
            return false;
        }
        // \1(\s|\W|$) after all repeats.
        if (position + word.Length <= text.Length && text.Slice(position, word.Length).SequenceEqual(word))
        {
            int after = position + word.Length;
            if (after == text.Length)
            {
                count = repeats + 2;
                delimiterStart = end = after;
                return true;
            }
            int codePoint = CharacterClasses.CodePointAt(text, after, out int length);
            if (!CharacterClasses.IsWord(codePoint))
            {
                count = repeats + 2;
                delimiterStart = after;
                end = after + length;
                return true;
            }
        }
        // Backtrack one repeat: the last repeat becomes the final \1, followed by its first whitespace character.
        if (repeats >= 2)
        {
            count = repeats + 1;
            delimiterStart = lastRepeatStart + word.Length;
            end = delimiterStart + 1;
            return true;
        }
        return false;
    }

    private static int SkipSpaces(ReadOnlySpan<char> text, int position)
    {
        while (position < text.Length && CharacterClasses.IsSpace(text[position]))
        {
            position++;
        }
        return position;
    }

    /// <summary><c>spec_add_spaces</c>: <c>([/#\\])</c> → <c> \1 </c>.</summary>
    internal static bool AddSpacesAroundSpecialCharacters(ReadOnlySpan<char> text, CharBuffer destination)
    {
        int index = text.IndexOfAny('/', '#', '\\');
        if (index < 0)
        {
            return false;
        }
        destination.Clear();
        int copied = 0;
        while (index >= 0)
        {
            destination.Append(text[copied..index]);
            destination.Append(' ');
            destination.Append(text[index]);
            destination.Append(' ');
            copied = index + 1;
            int next = text[copied..].IndexOfAny('/', '#', '\\');
            index = next < 0 ? -1 : copied + next;
        }
        destination.Append(text[copied..]);
        return true;
    }

    /// <summary>
    /// Rules 4 and 5 in one pass (<c>rm_useless_spaces(spec_add_spaces(text))</c>): mail and HTML hold a '/' in
    /// nearly every document, and the separate passes copied the whole text twice. The output is the text with
    /// two kinds of events: a special char becomes <c>' ' c ' '</c> (without the first space when the char before it
    /// was a space or a special, whose output already ends in a space), and a space after a space or a special is
    /// dropped. Both are decided from bitmasks of 32 chars, and the text between events is copied in 64-byte moves.
    /// </summary>
    internal static bool AddSpecialSpacesAndRemoveUselessSpaces(ReadOnlySpan<char> text, CharBuffer destination)
    {
        if (text.IndexOfAny('/', '#', '\\') < 0 && text.IndexOf("  ", StringComparison.Ordinal) < 0)
        {
            return false;
        }
        destination.Clear();
        // Worst case three chars per char, plus the slack the 64-byte moves may write past the end.
        Span<char> output = destination.GetSpan((text.Length * 3) + 32);
        ref char source = ref MemoryMarshal.GetReference(text);
        ref char target = ref MemoryMarshal.GetReference(output);
        int written = 0;
        int copied = 0;   // text[copied..] is not written yet
        uint carry = 0;   // the char before the block was a space or a special (nothing is before the text)
        for (int block = 0; block < text.Length; block += 32)
        {
            int length = Math.Min(32, text.Length - block);
            (uint space, uint special) = SpaceAndSpecialMasks(text, block, length);
            uint previous = ((space | special) << 1) | carry;
            uint events = special | (space & previous);
            carry = ((space | special) >> (length - 1)) & 1;
            while (events != 0)
            {
                int bit = BitOperations.TrailingZeroCount(events);
                events &= events - 1;
                int at = block + bit;
                written += CopyRun(ref source, copied, at, text.Length, ref target, written);
                copied = at + 1;
                if (((special >> bit) & 1) != 0)
                {
                    if (((previous >> bit) & 1) == 0)
                    {
                        Unsafe.Add(ref target, written++) = ' ';
                    }
                    Unsafe.Add(ref target, written++) = Unsafe.Add(ref source, at);
                    Unsafe.Add(ref target, written++) = ' ';
                }
            }
        }
        written += CopyRun(ref source, copied, text.Length, text.Length, ref target, written);
        destination.Advance(written);
        return true;
    }

    // Copies text[from..to] to output[at..], in 64-byte moves while 32 chars can be read (the output has the slack).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CopyRun(ref char source, int from, int to, int length, ref char target, int at)
    {
        int count = to - from;
        if (count <= 32 && from + 32 <= length && Vector256.IsHardwareAccelerated)
        {
            ref ushort input = ref Unsafe.As<char, ushort>(ref Unsafe.Add(ref source, from));
            ref ushort output = ref Unsafe.As<char, ushort>(ref Unsafe.Add(ref target, at));
            Vector256.LoadUnsafe(ref input).StoreUnsafe(ref output);
            Vector256.LoadUnsafe(ref input, 16).StoreUnsafe(ref output, 16);
            return count;
        }
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref source, from), count).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref target, at), count));
        return count;
    }

    // Bits of ' ' and of '/', '#', '\\' among text[start..start + length] (length ≤ 32).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (uint Space, uint Special) SpaceAndSpecialMasks(ReadOnlySpan<char> text, int start, int length)
    {
        if (length == 32 && Vector256.IsHardwareAccelerated)
        {
            ref ushort first = ref Unsafe.As<char, ushort>(ref Unsafe.Add(ref MemoryMarshal.GetReference(text), start));
            Vector256<ushort> low = Vector256.LoadUnsafe(ref first);
            Vector256<ushort> high = Vector256.LoadUnsafe(ref first, 16);
            return (Masks32(low, high, ' '), SpecialMask16(low) | (SpecialMask16(high) << 16));
        }
        uint space = 0;
        uint special = 0;
        for (int j = 0; j < length; j++)
        {
            char c = text[start + j];
            space |= c == ' ' ? 1u << j : 0;
            special |= c is '/' or '#' or '\\' ? 1u << j : 0;
        }
        return (space, special);
    }

    private static uint Masks32(Vector256<ushort> low, Vector256<ushort> high, char c) =>
        Vector256.Equals(low, Vector256.Create((ushort)c)).ExtractMostSignificantBits()
        | (Vector256.Equals(high, Vector256.Create((ushort)c)).ExtractMostSignificantBits() << 16);

    private static uint SpecialMask16(Vector256<ushort> chars) =>
        (Vector256.Equals(chars, Vector256.Create((ushort)'/')) | Vector256.Equals(chars, Vector256.Create((ushort)'#'))
         | Vector256.Equals(chars, Vector256.Create((ushort)'\\'))).ExtractMostSignificantBits();

    /// <summary><c>rm_useless_spaces</c>: <c> {2,}</c> → one space (ASCII spaces only).</summary>
    internal static bool RemoveUselessSpaces(ReadOnlySpan<char> text, CharBuffer destination)
    {
        int index = text.IndexOf("  ", StringComparison.Ordinal);
        if (index < 0)
        {
            return false;
        }
        destination.Clear();
        int copied = 0;
        while (index >= 0)
        {
            destination.Append(text[copied..(index + 1)]);
            int end = index + 2;
            while (end < text.Length && text[end] == ' ')
            {
                end++;
            }
            copied = end;
            int next = text[copied..].IndexOf("  ", StringComparison.Ordinal);
            index = next < 0 ? -1 : copied + next;
        }
        destination.Append(text[copied..]);
        return true;
    }

    /// <summary>
    /// Rules 6–8 as a string: <c>replace_all_caps</c>, <c>replace_maj</c>, then <c>"xxbos " + lower(text).strip()</c>.
    /// </summary>
    internal static void ApplyCaseRules(ReadOnlySpan<char> text, CharBuffer destination, bool addBeginningOfStream)
    {
        destination.Clear();
        var marked = new CharBuffer(text.Length + 16);
        int i = 0;
        while (i < text.Length)
        {
            if (CharacterClasses.IsSpace(text[i]))
            {
                marked.Append(text[i]);
                i++;
                continue;
            }
            int end = i;
            while (end < text.Length && !CharacterClasses.IsSpace(text[end]))
            {
                end++;
            }
            ReadOnlySpan<char> word = text[i..end];
            string? marker = CaseMarker(word);
            if (marker is not null)
            {
                marked.Append(marker);
                marked.Append(' ');
            }
            marked.Append(word);
            i = end;
        }
        Span<char> lowered = new char[marked.Length * 2];
        ReadOnlySpan<char> stripped = Strip(lowered[..LowercaseInto(marked.Written, lowered)]);
        if (addBeginningOfStream)
        {
            destination.Append(SpecialTokens.BeginningOfStream);
            destination.Append(' ');
        }
        destination.Append(stripped);
    }

    /// <summary>The marker rules 6–7 put before a whitespace-delimited word (or null).</summary>
    internal static string? CaseMarker(ReadOnlySpan<char> word)
    {
        if (!char.IsAsciiLetterUpper(word[0]))
        {
            return null;
        }
        if (!CharacterClasses.HasMoreThanOneCodePoint(word))
        {
            return null; // 'I', 'A': lowercased, no marker
        }
        if (word.IndexOfAnyInRange('a', 'z') < 0)
        {
            return SpecialTokens.AllCaps;
        }
        return word[1..].IndexOfAnyInRange('A', 'Z') < 0 ? SpecialTokens.Capitalized : null;
    }

    /// <summary>
    /// Python's <c>str.lower()</c> of <paramref name="text"/> into <paramref name="destination"/> (room for twice the
    /// length), returning the chars written: Unicode simple case mapping (ASCII vectorized) plus Python's two special
    /// cases, <c>İ</c> (U+0130) → <c>i̇</c> (two chars) and <c>Σ</c> → final <c>ς</c> / other <c>σ</c>.
    /// </summary>
    internal static int LowercaseInto(ReadOnlySpan<char> text, Span<char> destination)
    {
        if (System.Text.Ascii.ToLower(text, destination, out int processed) == System.Buffers.OperationStatus.Done)
        {
            return processed;
        }
        int written = processed;
        for (int i = processed; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var rune = System.Text.Rune.ToLowerInvariant(new System.Text.Rune(c, text[i + 1]));
                if (rune.Utf16SequenceLength == 2)
                {
                    rune.EncodeToUtf16(destination[written..]);
                }
                else
                {
                    destination[written] = c;
                    destination[written + 1] = text[i + 1];
                }
                written += 2;
                i++;
            }
            else if (c == '\u0130')
            {
                destination[written++] = 'i';
                destination[written++] = '\u0307';
            }
            else if (c == '\u03A3')
            {
                destination[written++] = IsFinalSigma(text, i) ? '\u03C2' : '\u03C3';
            }
            else
            {
                destination[written++] = ToLowerSimple(c);
            }
        }
        return written;
    }

    // Python's Final_Sigma context (unicodeobject.c handle_capital_sigma): a cased letter before the Σ and none after
    // it, skipping case-ignorable chars on both sides. Whitespace is neither, so a whitespace-delimited word is
    // context enough and the splitter can lowercase word by word.
    private static bool IsFinalSigma(ReadOnlySpan<char> text, int index)
    {
        int j = index;
        int codePoint = -1;
        while (j > 0)
        {
            codePoint = CharacterClasses.CodePointBefore(text, j, out int length);
            j -= length;
            if (!IsCaseIgnorable(codePoint))
            {
                break;
            }
            codePoint = -1;
        }
        if (codePoint < 0 || !IsCased(codePoint))
        {
            return false;
        }
        for (j = index + 1; j < text.Length;)
        {
            codePoint = CharacterClasses.CodePointAt(text, j, out int length);
            if (!IsCaseIgnorable(codePoint))
            {
                return !IsCased(codePoint);
            }
            j += length;
        }
        return true;
    }

    // Unicode Case_Ignorable: Mn, Me, Cf, Lm, Sk and the Word_Break classes MidLetter, MidNumLet and Single_Quote.
    private static bool IsCaseIgnorable(int codePoint) =>
        CharUnicodeInfo.GetUnicodeCategory(codePoint) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || codePoint is '\'' or '.' or ':' or '\u00B7' or '\u0387' or '\u055F' or '\u05F4' or '\u2018' or '\u2019'
            or '\u2024' or '\u2027' or '\uFE13' or '\uFE52' or '\uFE55' or '\uFF07' or '\uFF0E' or '\uFF1A';

    // Unicode Cased: Lu, Ll, Lt, plus the Other_Lowercase/Other_Uppercase letters and symbols, taken here as the
    // chars with a case mapping (circled letters, Roman numerals) and the two ordinal indicators; the modifier letters
    // among them are case-ignorable, which the sigma rule tests first.
    private static bool IsCased(int codePoint)
    {
        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
        if (category is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter)
        {
            return true;
        }
        if (codePoint is '\u00AA' or '\u00BA')
        {
            return true;
        }
        if (!System.Text.Rune.IsValid(codePoint))
        {
            return false;
        }
        var rune = new System.Text.Rune(codePoint);
        return System.Text.Rune.ToLowerInvariant(rune) != rune || System.Text.Rune.ToUpperInvariant(rune) != rune;
    }

    // char.ToLowerInvariant calls into ICU for every non-ASCII char (hundreds of ns each on mail text with stray
    // Latin-1/CJK); its answers are cached here in 256-char pages filled on first use. Filling is idempotent, so
    // threads racing on a page at worst both compute the same page.
    private static readonly char[]?[] LowerPages = new char[]?[256];

    /// <summary><see cref="char.ToLowerInvariant"/>, answered from a cache.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static char ToLowerSimple(char c)
    {
        char[]? page = Volatile.Read(ref LowerPages[c >> 8]);
        return page is null ? FillLowerPage(c) : page[c & 0xFF];
    }

    private static char FillLowerPage(char c)
    {
        var page = new char[256];
        int first = c & 0xFF00;
        for (int i = 0; i < page.Length; i++)
        {
            page[i] = char.ToLowerInvariant((char)(first + i));
        }
        Volatile.Write(ref LowerPages[c >> 8], page);
        return page[c & 0xFF];
    }

    /// <summary>Python <c>str.strip()</c>.</summary>
    internal static ReadOnlySpan<char> Strip(ReadOnlySpan<char> text)
    {
        int start = 0;
        while (start < text.Length && CharacterClasses.IsSpace(text[start]))
        {
            start++;
        }
        int end = text.Length;
        while (end > start && CharacterClasses.IsSpace(text[end - 1]))
        {
            end--;
        }
        return text[start..end];
    }
}
