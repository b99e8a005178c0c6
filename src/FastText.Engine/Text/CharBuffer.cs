using System.Globalization;
using System.Runtime.CompilerServices;

namespace FastText.Engine.Text;

/// <summary>A growable char buffer reused across documents so the rule passes allocate nothing in steady state.</summary>
internal sealed class CharBuffer
{
    private char[] items;

    public CharBuffer(int capacity = 4096) => items = new char[Math.Max(16, capacity)];

    public int Length { get; private set; }

    public Span<char> Written => items.AsSpan(0, Length);

    public void Clear() => Length = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(char c)
    {
        if (Length == items.Length)
        {
            Grow(1);
        }
        items[Length++] = c;
    }

    public void Append(ReadOnlySpan<char> text)
    {
        if (Length + text.Length > items.Length)
        {
            Grow(text.Length);
        }
        text.CopyTo(items.AsSpan(Length));
        Length += text.Length;
    }

    public void Append(int value)
    {
        if (Length + 11 > items.Length)
        {
            Grow(11);
        }
        value.TryFormat(items.AsSpan(Length), out int written, default, CultureInfo.InvariantCulture);
        Length += written;
    }

    /// <summary>Makes room for <paramref name="count"/> more chars and returns them (call <see cref="Advance"/> after writing).</summary>
    public Span<char> GetSpan(int count)
    {
        if (Length + count > items.Length)
        {
            Grow(count);
        }
        return items.AsSpan(Length, count);
    }

    public void Advance(int count) => Length += count;

    private void Grow(int extra)
    {
        long wanted = Math.Max((long)items.Length * 2, (long)Length + extra);
        if (wanted > Array.MaxLength)
        {
            wanted = Math.Max(Array.MaxLength, Length + extra);
        }
        Array.Resize(ref items, checked((int)wanted));
    }
}
