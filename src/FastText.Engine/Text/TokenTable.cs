using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastText.Engine.Text;

/// <summary>
/// An open-addressing hash table from token text to a dense id (0, 1, 2, … in insertion order), keyed by spans:
/// token texts live in one char arena, so looking up or adding a token allocates nothing in steady state.
/// Lookups (<see cref="Find(ReadOnlySpan{char})"/>) are safe from several threads once no thread adds.
/// </summary>
internal sealed class TokenTable
{
    // Buckets hold (hash, id + 1) side by side so a probe touches one cache line; token text lives in one arena.
    private struct Bucket
    {
        public uint Hash;
        public int IdPlusOne; // 0 = empty
    }

    private struct Token
    {
        public int Start;
        public int Length;
    }

    // Once the table is complete (a vocabulary), every token of at most 8 chars is also kept in a second open-addressing
    // table whose entries hold the whole text (the two overlapping 8-byte words the hash reads): a lookup of a short
    // token then touches one cache line instead of bucket, token record and text, three dependent cache misses for
    // the rare tokens of a large vocabulary. Ids are in insertion order, so with probing in id order the most frequent
    // tokens of a vocabulary sit in their home slot.
    private struct ShortEntry
    {
        public ulong First;
        public ulong Last;
        public int Length; // -1 = empty
        public int Id;
    }

    internal const int ShortMaximumLength = 8;
    private ShortEntry[]? shortTokens;
    private int shortMask;

    // Tokens of 9–16 chars (mail and HTML: 'clickthru', 'cellpadding', 'sourceforge') get the same treatment: their
    // text is two overlapping 16-byte halves stored in the entry, so a lookup is one probe instead of bucket, token
    // record and text. In the SpamAssassin sample they are 8 % of the tokens but half of the lookup time before.
    private struct MediumEntry
    {
        public Vector128<ushort> Head; // chars 0–7
        public Vector128<ushort> Tail; // the last 8 chars
        public uint Hash;
        public int Length; // -1 = empty
        public int Id;
    }

    internal const int MediumMaximumLength = 16;
    private MediumEntry[]? mediumTokens;
    private int mediumMask;

    private char[] chars;
    private int charCount;
    private Token[] tokens;
    private uint[] hashes;
    private Bucket[] buckets;
    private int mask;

    public TokenTable(int capacity = 1024)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 2));
        buckets = new Bucket[size];
        mask = size - 1;
        tokens = new Token[Math.Max(16, capacity)];
        hashes = new uint[tokens.Length];
        chars = new char[Math.Max(256, capacity * 8)];
    }

    /// <summary>Number of distinct tokens.</summary>
    public int Count { get; private set; }

    /// <summary>The text of token <paramref name="id"/> (valid until the next add).</summary>
    public ReadOnlySpan<char> this[int id] => chars.AsSpan(tokens[id].Start, tokens[id].Length);

    /// <summary>The id of <paramref name="token"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ReadOnlySpan<char> token)
    {
        uint hash = Hash(token, out ulong first, out ulong last);
        return Find(token, hash, first, last);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Matches(int id, ReadOnlySpan<char> token)
    {
        Token stored = tokens[id];
        return stored.Length == token.Length
            && EqualChars(ref chars[stored.Start], ref MemoryMarshal.GetReference(token), token.Length);
    }

    /// <summary>
    /// Whether two runs of <paramref name="length"/> chars are equal. Most tokens are 1–16 chars: those compare with
    /// two overlapping loads per side instead of a call into the general vectorized comparison.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool EqualChars(ref char left, ref char right, int length)
    {
        ref byte a = ref Unsafe.As<char, byte>(ref left);
        ref byte b = ref Unsafe.As<char, byte>(ref right);
        nuint bytes = (nuint)length * 2;
        if (length >= 4)
        {
            if (length <= 8)
            {
                return Unsafe.ReadUnaligned<ulong>(ref a) == Unsafe.ReadUnaligned<ulong>(ref b)
                    && Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref a, bytes - 8)) == Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, bytes - 8));
            }
            if (length <= 16 && Vector128.IsHardwareAccelerated)
            {
                return Vector128.LoadUnsafe(ref a) == Vector128.LoadUnsafe(ref b)
                    && Vector128.LoadUnsafe(ref a, bytes - 16) == Vector128.LoadUnsafe(ref b, bytes - 16);
            }
            return MemoryMarshal.CreateReadOnlySpan(ref left, length).SequenceEqual(MemoryMarshal.CreateReadOnlySpan(ref right, length));
        }
        if (length >= 2)
        {
            return Unsafe.ReadUnaligned<uint>(ref a) == Unsafe.ReadUnaligned<uint>(ref b)
                && Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref a, bytes - 4)) == Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, bytes - 4));
        }
        return length == 0 || left == right;
    }

    /// <summary>The id of <paramref name="token"/>, adding it when new.</summary>
    public int GetOrAdd(ReadOnlySpan<char> token) => GetOrAdd(token, Hash(token));

    /// <summary><see cref="GetOrAdd(ReadOnlySpan{char})"/> with the hash from <see cref="HashForLookup"/>.</summary>
    public int GetOrAdd(ReadOnlySpan<char> token, uint hash)
    {
        int bucket = (int)hash & mask;
        while (true)
        {
            Bucket entry = buckets[bucket];
            if (entry.IdPlusOne == 0)
            {
                break;
            }
            if (entry.Hash == hash && Matches(entry.IdPlusOne - 1, token))
            {
                return entry.IdPlusOne - 1;
            }
            bucket = (bucket + 1) & mask;
        }
        return Add(token, hash, bucket);
    }

    private int Add(ReadOnlySpan<char> token, uint hash, int bucket)
    {
        shortTokens = null;
        mediumTokens = null;
        int id = Count;
        if (id == tokens.Length)
        {
            Array.Resize(ref tokens, tokens.Length * 2);
            Array.Resize(ref hashes, hashes.Length * 2);
        }
        if (charCount + token.Length > chars.Length)
        {
            Array.Resize(ref chars, Math.Max(chars.Length * 2, charCount + token.Length));
        }
        token.CopyTo(chars.AsSpan(charCount));
        tokens[id] = new Token { Start = charCount, Length = token.Length };
        hashes[id] = hash;
        charCount += token.Length;
        buckets[bucket] = new Bucket { Hash = hash, IdPlusOne = id + 1 };
        Count = id + 1;
        if (Count * 2 > buckets.Length)
        {
            Rehash();
        }
        return id;
    }

    private void Rehash()
    {
        buckets = new Bucket[buckets.Length * 2];
        mask = buckets.Length - 1;
        for (int id = 0; id < Count; id++)
        {
            int bucket = (int)hashes[id] & mask;
            while (buckets[bucket].IdPlusOne != 0)
            {
                bucket = (bucket + 1) & mask;
            }
            buckets[bucket] = new Bucket { Hash = hashes[id], IdPlusOne = id + 1 };
        }
    }

    /// <summary>
    /// <see cref="Find(ReadOnlySpan{char})"/> with the hash already computed by <see cref="HashForLookup"/> (the batched lookup hashes a
    /// token when it arrives, prefetches, and resolves it later).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ReadOnlySpan<char> token, uint hash, ulong first, ulong last)
    {
        if (shortTokens is not null && token.Length <= ShortMaximumLength)
        {
            return FindShort(hash, first, last, token.Length);
        }
        if (mediumTokens is not null && token.Length <= MediumMaximumLength)
        {
            return FindMedium(token, hash);
        }
        int bucket = (int)hash & mask;
        while (true)
        {
            Bucket entry = buckets[bucket];
            if (entry.IdPlusOne == 0)
            {
                return -1;
            }
            if (entry.Hash == hash && Matches(entry.IdPlusOne - 1, token))
            {
                return entry.IdPlusOne - 1;
            }
            bucket = (bucket + 1) & mask;
        }
    }

    /// <summary>The hash <see cref="Find(ReadOnlySpan{char}, uint, ulong, ulong)"/> takes, and a prefetch of the slot it will probe first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe uint HashForLookup(ReadOnlySpan<char> token, out ulong first, out ulong last)
    {
        uint hash = Hash(token, out first, out last);
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            // A hint only: a stale address after a GC move costs nothing but the useless prefetch.
            void* slot = shortTokens is not null && token.Length <= ShortMaximumLength
                ? Unsafe.AsPointer(ref shortTokens[(int)hash & shortMask])
                : mediumTokens is not null && token.Length <= MediumMaximumLength
                    ? Unsafe.AsPointer(ref mediumTokens[(int)hash & mediumMask])
                    : Unsafe.AsPointer(ref buckets[(int)hash & mask]);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(slot);
        }
        return hash;
    }

    /// <summary>Whether tokens of at most 8 chars are found from their hash words alone (<see cref="FindShort"/>).</summary>
    public bool HasShortTable => shortTokens is not null;

    /// <summary>
    /// The id of the token of <paramref name="length"/> ≤ 8 chars whose hash and words <see cref="HashForLookup"/>
    /// returned, or -1; needs <see cref="HasShortTable"/>. The words hold the whole text, so the text is not needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int FindShort(uint hash, ulong first, ulong last, int length)
    {
        ShortEntry[] entries = shortTokens!;
        int slot = (int)hash & shortMask;
        while (true)
        {
            ref ShortEntry entry = ref entries[slot];
            if (entry.First == first && entry.Last == last && entry.Length == length)
            {
                return entry.Id;
            }
            if (entry.Length < 0)
            {
                return -1;
            }
            slot = (slot + 1) & shortMask;
        }
    }

    // The id of a token of 9–16 chars from the medium table, or -1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindMedium(ReadOnlySpan<char> token, uint hash)
    {
        ref ushort text = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(token));
        Vector128<ushort> head = Vector128.LoadUnsafe(ref text);
        Vector128<ushort> tail = Vector128.LoadUnsafe(ref text, (nuint)(token.Length - 8));
        MediumEntry[] entries = mediumTokens!;
        int slot = (int)hash & mediumMask;
        while (true)
        {
            ref MediumEntry entry = ref entries[slot];
            if (entry.Hash == hash && entry.Length == token.Length && entry.Head == head && entry.Tail == tail)
            {
                return entry.Id;
            }
            if (entry.Length < 0)
            {
                return -1;
            }
            slot = (slot + 1) & mediumMask;
        }
    }

    /// <summary>
    /// Builds the two inline-text tables <see cref="Find(ReadOnlySpan{char})"/> uses: tokens of at most 8 chars and of
    /// 9–16 chars; call once the table is complete (an add afterwards drops them again, so lookups stay correct).
    /// </summary>
    public void BuildInlineTables()
    {
        BuildMediumTable();
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, Count * 2));
        var entries = new ShortEntry[size];
        entries.AsSpan().Fill(new ShortEntry { Length = -1 });
        int entryMask = size - 1;
        for (int id = 0; id < Count; id++)
        {
            ReadOnlySpan<char> token = this[id];
            if (token.Length > ShortMaximumLength)
            {
                continue;
            }
            uint hash = Hash(token, out ulong first, out ulong last);
            int slot = (int)hash & entryMask;
            while (entries[slot].Length >= 0)
            {
                slot = (slot + 1) & entryMask;
            }
            entries[slot] = new ShortEntry { First = first, Last = last, Length = token.Length, Id = id };
        }
        shortMask = entryMask;
        shortTokens = entries;
    }

    private void BuildMediumTable()
    {
        int count = 0;
        for (int id = 0; id < Count; id++)
        {
            count += tokens[id].Length is > ShortMaximumLength and <= MediumMaximumLength ? 1 : 0;
        }
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, count * 2));
        var entries = new MediumEntry[size];
        entries.AsSpan().Fill(new MediumEntry { Length = -1 });
        int entryMask = size - 1;
        for (int id = 0; id < Count; id++)
        {
            ReadOnlySpan<char> token = this[id];
            if (token.Length is <= ShortMaximumLength or > MediumMaximumLength)
            {
                continue;
            }
            uint hash = Hash(token);
            int slot = (int)hash & entryMask;
            while (entries[slot].Length >= 0)
            {
                slot = (slot + 1) & entryMask;
            }
            ReadOnlySpan<ushort> text = MemoryMarshal.Cast<char, ushort>(token);
            entries[slot] = new MediumEntry
            {
                Head = Vector128.Create(text[..8]),
                Tail = Vector128.Create(text[^8..]),
                Hash = hash,
                Length = token.Length,
                Id = id,
            };
        }
        mediumMask = entryMask;
        mediumTokens = entries;
    }

    /// <summary>Removes every token, keeping the memory.</summary>
    public void Clear()
    {
        if (Count > 0)
        {
            Array.Clear(buckets);
        }
        shortTokens = null;
        mediumTokens = null;
        Count = 0;
        charCount = 0;
    }

    /// <summary>
    /// A fast non-cryptographic hash of the token's chars (not persisted anywhere: only this process's tables use it).
    /// Tokens of up to 8 chars (nearly all) cost two overlapping loads and one 64×64→128-bit multiply; longer ones
    /// fold 16 bytes per multiply. The length enters the mix, so the overlapping loads cannot make a short token
    /// collide systematically with a longer one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ReadOnlySpan<char> token) => Hash(token, out _, out _);

    // Also returns the two words mixed last: for tokens of at most 8 chars they hold the whole text (see ShortEntry).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(ReadOnlySpan<char> token, out ulong a, out ulong b)
    {
        ref byte start = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(token));
        nuint bytes = (nuint)token.Length * 2;
        ulong seed = 0x9E3779B97F4A7C15UL ^ bytes;
        if (bytes >= 8)
        {
            if (bytes > 16)
            {
                seed = HashLong(ref start, bytes, seed);
            }
            a = Unsafe.ReadUnaligned<ulong>(ref start);
            b = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, bytes - 8));
        }
        else if (bytes >= 4)
        {
            a = Unsafe.ReadUnaligned<uint>(ref start);
            b = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, bytes - 4));
        }
        else
        {
            a = bytes == 0 ? 0UL : Unsafe.ReadUnaligned<ushort>(ref start);
            b = 0;
        }
        ulong mixed = Mix(a ^ 0xA0761D6478BD642FUL, b ^ seed);
        return (uint)(mixed ^ (mixed >> 32));
    }

    private static ulong HashLong(ref byte start, nuint bytes, ulong seed)
    {
        // 16 bytes per step over everything but the last 16 (the caller's two final loads cover those).
        for (nuint offset = 0; offset + 16 < bytes; offset += 16)
        {
            seed = Mix(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, offset)) ^ 0xE7037ED1A0B428DBUL,
                Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, offset + 8)) ^ seed);
        }
        return seed;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong a, ulong b)
    {
        ulong high = Math.BigMul(a, b, out ulong low);
        return high ^ low;
    }
}
