namespace FastText.Engine.Data;

/// <summary>
/// Decides which documents form each classifier batch of an epoch, and in which row order (fastai <c>SortedDL</c>).
/// Works on positions 0 … n−1 into the loader's document selection; reuses its buffers from epoch to epoch.
/// </summary>
internal sealed class ClassifierBatchPlanner
{
    private readonly int[] lengths;
    private readonly int batchSize;
    private readonly bool shuffle;
    private readonly bool dropLast;
    private readonly ClassifierOrder order;
    private readonly int seed;
    private readonly int longest;
    private readonly long[] keys;
    private readonly int[] scratch;
    private readonly int[] batchIndices;

    /// <summary>Creates a planner for documents of the given <paramref name="lengths"/> (by position).</summary>
    public ClassifierBatchPlanner(int[] lengths, ClassifierLoaderOptions options)
    {
        this.lengths = lengths;
        batchSize = options.BatchSize;
        shuffle = options.Shuffle;
        dropLast = options.DropsLast;
        order = options.Order;
        seed = options.Seed;
        longest = lengths.Length == 0 ? 0 : lengths.Max();
        keys = new long[lengths.Length];
        scratch = new int[lengths.Length];
        batchIndices = new int[Math.Max(0, (lengths.Length + batchSize - 1) / batchSize)];
        Positions = new int[lengths.Length];
    }

    /// <summary>The last plan: batch <c>b</c> is <c>Positions[b·bs … min((b+1)·bs, n))</c>, rows longest first.</summary>
    public int[] Positions { get; }

    /// <summary>Batches per epoch (after drop-last).</summary>
    public int BatchCount => dropLast ? lengths.Length / batchSize : (lengths.Length + batchSize - 1) / batchSize;

    /// <summary>Longest document.</summary>
    public int Longest => longest;

    /// <summary>Rows of batch <paramref name="batch"/>.</summary>
    public int RowsOf(int batch) => Math.Min(batchSize, lengths.Length - batch * batchSize);

    /// <summary>Plans <paramref name="epoch"/> into <see cref="Positions"/>; returns the batch count.</summary>
    public int Plan(int epoch)
    {
        int n = lengths.Length;
        int[] positions = Positions;
        for (int i = 0; i < n; i++)
        {
            positions[i] = i;
        }
        if (n == 0)
        {
            return 0;
        }
        if (!shuffle)
        {
            // Validation: everything sorted longest → shortest, ties in selection order (Python's stable sort).
            SortDescending(positions, 0, n);
            return BatchCount;
        }
        var random = new DeterministicRandom(seed, epoch, stream: 0);
        random.Shuffle(positions);
        int batches = (n + batchSize - 1) / batchSize;
        if (order == ClassifierOrder.Random)
        {
            for (int b = 0; b < batches; b++)
            {
                SortDescending(positions, b * batchSize, RowsOf(b));
            }
            return BatchCount;
        }

        // SortedDL.shuffle_fn: the first document of maximal length goes to position 0 …
        for (int p = 0; p < n; p++)
        {
            if (lengths[positions[p]] == longest)
            {
                (positions[0], positions[p]) = (positions[p], positions[0]);
                break;
            }
        }
        // … megabatches of 50·bs are each sorted longest first (a multiple of bs, so every batch lies in one) …
        int megabatch = ClassifierLoaderOptions.MegabatchFactor * batchSize;
        for (int start = 0; start < n; start += megabatch)
        {
            SortDescending(positions, start, Math.Min(megabatch, n - start));
        }
        // … and the batches between the first (holds the longest document: worst-case memory shows at once) and the
        // last (the partial one, dropped in training) are visited in random order.
        if (batches > 2)
        {
            for (int b = 0; b < batches; b++)
            {
                batchIndices[b] = b;
            }
            random.Shuffle(batchIndices.AsSpan(1, batches - 2));
            positions.AsSpan(0, n).CopyTo(scratch);
            int write = batchSize; // batch 0 stays
            for (int k = 1; k < batches - 1; k++)
            {
                int source = batchIndices[k];
                scratch.AsSpan(source * batchSize, batchSize).CopyTo(positions.AsSpan(write));
                write += batchSize;
            }
            // The last batch is already in place: every middle batch is full, so it starts at (batches − 1)·bs.
        }
        return BatchCount;
    }

    /// <summary>Stable sort of <c>items[start … start+count)</c> by length, longest first.</summary>
    private void SortDescending(int[] items, int start, int count)
    {
        for (int i = 0; i < count; i++)
        {
            int position = items[start + i];
            // Unique keys (length inverted in the high half, arrival order in the low half) make an unstable sort stable.
            keys[start + i] = ((long)(int.MaxValue - lengths[position]) << 32) | (uint)i;
        }
        Array.Sort(keys, items, start, count);
    }

    /// <summary>Padded width of a batch whose rows have <paramref name="rowLengths"/> tokens (longest first).</summary>
    public static int Width(ReadOnlySpan<int> rowLengths, int sequenceLength, ClassifierPadding padding)
    {
        int longest = 0;
        foreach (int length in rowLengths)
        {
            longest = Math.Max(longest, length);
        }
        int aligned = checked((longest + sequenceLength - 1) / sequenceLength * sequenceLength);
        switch (padding)
        {
            case ClassifierPadding.FastaiCompatible:
                return longest;
            case ClassifierPadding.AlignedChunks:
                return aligned;
            default:
                // The narrowest width ≥ longest at which the layout keeps the encoder's invariants; the aligned width
                // always does, so the search ends there at the latest (at most seq_len candidates × rows).
                for (int width = longest; width < aligned; width++)
                {
                    if (IsChunkSafe(rowLengths, width, sequenceLength))
                    {
                        return width;
                    }
                }
                return aligned;
        }
    }

    /// <summary>
    /// Whether <paramref name="width"/> columns, with each row's text starting at
    /// <see cref="FrontPadding"/>, satisfy what fastai's sentence encoder and pooling assume: every row's text ends
    /// inside the final chunk (so at each chunk start the rows holding text form a prefix of the longest-first batch),
    /// and no front pad lies in the last seq_len columns (so "pads in the last window" counts trailing pads only).
    /// </summary>
    internal static bool IsChunkSafe(ReadOnlySpan<int> rowLengths, int width, int sequenceLength)
    {
        int lastChunkStart = width == 0 ? 0 : (width - 1) / sequenceLength * sequenceLength;
        foreach (int length in rowLengths)
        {
            if (length == 0)
            {
                continue;
            }
            int front = FrontPadding(width, length, sequenceLength);
            if (front + length <= lastChunkStart || (width >= sequenceLength && front > width - sequenceLength))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Pads in front of a row of <paramref name="length"/> tokens in a batch of <paramref name="width"/> columns.</summary>
    public static int FrontPadding(int width, int length, int sequenceLength) => (width - length) / sequenceLength * sequenceLength;
}
