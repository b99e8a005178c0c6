using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastText.Engine.Text;

/// <summary>
/// An open-addressing hash table from token text to a dense id (0, 1, 2, … in insertion order), keyed by spans:
/// token texts live in one char arena, so looking up or adding a token allocates nothing in steady state.
/// Lookups (<see cref="Find"/>) are safe from several threads once no thread adds.
/// </summary>
internal sealed class TokenTable
{
    private char[] chars;
    private int charCount;
    private int[] starts;
    private int[] lengths;
    private uint[] hashes;
    private int[] buckets; // id + 1, 0 = empty
    private int mask;

    public TokenTable(int capacity = 1024)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 2));
        buckets = new int[size];
        mask = size - 1;
        starts = new int[Math.Max(16, capacity)];
        lengths = new int[starts.Length];
        hashes = new uint[starts.Length];
        chars = new char[Math.Max(256, capacity * 8)];
    }

    /// <summary>Number of distinct tokens.</summary>
    public int Count { get; private set; }

    /// <summary>The text of token <paramref name="id"/> (valid until the next add).</summary>
    public ReadOnlySpan<char> this[int id] => chars.AsSpan(starts[id], lengths[id]);

    /// <summary>The id of <paramref name="token"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ReadOnlySpan<char> token)
    {
        uint hash = Hash(token);
        int bucket = (int)hash & mask;
        while (true)
        {
            int entry = buckets[bucket];
            if (entry == 0)
            {
                return -1;
            }
            int id = entry - 1;
            if (hashes[id] == hash && lengths[id] == token.Length && chars.AsSpan(starts[id], lengths[id]).SequenceEqual(token))
            {
                return id;
            }
            bucket = (bucket + 1) & mask;
        }
    }

    /// <summary>The id of <paramref name="token"/>, adding it when new.</summary>
    public int GetOrAdd(ReadOnlySpan<char> token)
    {
        uint hash = Hash(token);
        int bucket = (int)hash & mask;
        while (true)
        {
            int entry = buckets[bucket];
            if (entry == 0)
            {
                break;
            }
            int id = entry - 1;
            if (hashes[id] == hash && lengths[id] == token.Length && chars.AsSpan(starts[id], lengths[id]).SequenceEqual(token))
            {
                return id;
            }
            bucket = (bucket + 1) & mask;
        }
        return Add(token, hash, bucket);
    }

    private int Add(ReadOnlySpan<char> token, uint hash, int bucket)
    {
        int id = Count;
        if (id == starts.Length)
        {
            int grown = starts.Length * 2;
            Array.Resize(ref starts, grown);
            Array.Resize(ref lengths, grown);
            Array.Resize(ref hashes, grown);
        }
        if (charCount + token.Length > chars.Length)
        {
            Array.Resize(ref chars, Math.Max(chars.Length * 2, charCount + token.Length));
        }
        token.CopyTo(chars.AsSpan(charCount));
        starts[id] = charCount;
        lengths[id] = token.Length;
        hashes[id] = hash;
        charCount += token.Length;
        buckets[bucket] = id + 1;
        Count = id + 1;
        if (Count * 2 > buckets.Length)
        {
            Rehash();
        }
        return id;
    }

    private void Rehash()
    {
        buckets = new int[buckets.Length * 2];
        mask = buckets.Length - 1;
        for (int id = 0; id < Count; id++)
        {
            int bucket = (int)hashes[id] & mask;
            while (buckets[bucket] != 0)
            {
                bucket = (bucket + 1) & mask;
            }
            buckets[bucket] = id + 1;
        }
    }

    /// <summary>Removes every token, keeping the memory.</summary>
    public void Clear()
    {
        if (Count > 0)
        {
            Array.Clear(buckets);
        }
        Count = 0;
        charCount = 0;
    }

    /// <summary>A fast non-cryptographic hash of the token's chars (four at a time).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ReadOnlySpan<char> token)
    {
        ulong hash = 0x9E3779B97F4A7C15UL ^ (ulong)token.Length;
        ReadOnlySpan<ulong> blocks = MemoryMarshal.Cast<char, ulong>(token);
        foreach (ulong block in blocks)
        {
            hash = (hash ^ block) * 0xFF51AFD7ED558CCDUL;
            hash ^= hash >> 29;
        }
        for (int i = blocks.Length * 4; i < token.Length; i++)
        {
            hash = (hash ^ token[i]) * 0xC4CEB9FE1A85EC53UL;
        }
        hash ^= hash >> 32;
        hash *= 0xFF51AFD7ED558CCDUL;
        return (uint)(hash >> 32);
    }
}
