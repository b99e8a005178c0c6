using System.Runtime.CompilerServices;

namespace FastText.Engine.Text;

/// <summary>
/// Numericalizes a token stream into a reusable id buffer — with a <see cref="Vocabulary"/> (unknown → <c>xxunk</c>)
/// or with a growing <see cref="TokenTable"/> (new tokens get the next id) — looking tokens up in batches of 32:
/// each token is hashed and its table slot prefetched when it arrives, and the lookups run back to back at the end
/// of the batch, in arrival order. With tens of thousands of distinct tokens the rare ones miss the caches; one
/// lookup at a time between the splitter's own work serializes those misses, a batch overlaps them.
/// </summary>
/// <remarks>Not thread-safe (one per thread). Call <see cref="Flush"/> before reading <see cref="Ids"/>.</remarks>
internal sealed class TokenIdBuffer
{
    private const int BatchTokens = 32;

    // One pending token: what the lookup needs, side by side. Tokens of at most 8 chars are found from the two hash
    // words alone when the table has its short-token table (a vocabulary), so only longer ones copy their text (into
    // 'text' at TextStart; tokens of any length are batched, so a base64 line does not flush the batch early).
    private struct Pending
    {
        public ulong First;
        public ulong Last;
        public uint Hash;
        public int Length;
        public int TextStart;
    }

    private readonly Vocabulary? vocabulary;
    private readonly TokenTable table;
    private readonly bool wordsSuffice; // short tokens need no text (vocabulary mode with a short-token table)
    private char[] text = new char[BatchTokens * 32];
    private int textLength;
    private readonly Pending[] batch = new Pending[BatchTokens];
    private int pending;
    private int[] ids = new int[4096];

    /// <summary>Ids from <paramref name="vocabulary"/>.</summary>
    public TokenIdBuffer(Vocabulary vocabulary)
    {
        this.vocabulary = vocabulary;
        table = vocabulary.Table;
        wordsSuffice = table.HasShortTable;
    }

    /// <summary>Ids from <paramref name="table"/>, adding tokens it does not hold yet.</summary>
    public TokenIdBuffer(TokenTable table) => this.table = table;

    /// <summary>Ids resolved so far (all of them after <see cref="Flush"/>).</summary>
    public int Count { get; private set; }

    /// <summary>The ids since the last <see cref="Clear"/>; call <see cref="Flush"/> first.</summary>
    public ReadOnlySpan<int> Ids => ids.AsSpan(0, Count);

    /// <summary>The ids, writable (for remapping in place); call <see cref="Flush"/> first.</summary>
    public Span<int> WritableIds => ids.AsSpan(0, Count);

    /// <summary>Forgets all ids (pending ones included).</summary>
    public void Clear()
    {
        pending = 0;
        textLength = 0;
        Count = 0;
    }

    /// <summary>Adds the id of <paramref name="token"/> (resolved at the latest by <see cref="Flush"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(ReadOnlySpan<char> token)
    {
        int slot = pending;
        ref Pending entry = ref batch[slot];
        entry.Hash = table.HashForLookup(token, out entry.First, out entry.Last);
        entry.Length = token.Length;
        if (!wordsSuffice || token.Length > TokenTable.ShortMaximumLength)
        {
            if (textLength + token.Length > text.Length)
            {
                Array.Resize(ref text, Math.Max(text.Length * 2, textLength + token.Length));
            }
            entry.TextStart = textLength;
            token.CopyTo(text.AsSpan(textLength));
            textLength += token.Length;
        }
        pending = slot + 1;
        if (pending == BatchTokens)
        {
            Flush();
        }
    }

    /// <summary>Resolves the pending tokens.</summary>
    public void Flush()
    {
        int count = pending;
        pending = 0;
        textLength = 0;
        if (Count + count > ids.Length)
        {
            Array.Resize(ref ids, Math.Max(ids.Length * 2, Count + count));
        }
        Span<Pending> entries = batch.AsSpan(0, count);
        if (vocabulary is not null)
        {
            for (int slot = 0; slot < entries.Length; slot++)
            {
                ref Pending entry = ref entries[slot];
                int found = wordsSuffice && entry.Length <= TokenTable.ShortMaximumLength
                    ? table.FindShort(entry.Hash, entry.First, entry.Last, entry.Length)
                    : table.Find(text.AsSpan(entry.TextStart, entry.Length), entry.Hash, entry.First, entry.Last);
                ids[Count++] = vocabulary.IdOfEntry(found);
            }
            return;
        }
        for (int slot = 0; slot < entries.Length; slot++)
        {
            ids[Count++] = table.GetOrAdd(text.AsSpan(entries[slot].TextStart, entries[slot].Length), entries[slot].Hash);
        }
    }
}

/// <summary>The <see cref="ITokenSink"/> face of a <see cref="TokenIdBuffer"/>.</summary>
internal readonly struct TokenIdSink(TokenIdBuffer buffer) : ITokenSink
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(ReadOnlySpan<char> token) => buffer.Add(token);
}
