using FastText.Engine.Data.Augmentation;
using FastText.Engine.Text;
using static TorchSharp.torch;

namespace FastText.Engine.Data;

/// <summary>Pad tokens and all tokens (pads included) over a set of batches.</summary>
/// <param name="PadTokens">Pad tokens.</param>
/// <param name="TotalTokens">All tokens of the padded batches.</param>
public readonly record struct PaddingReport(long PadTokens, long TotalTokens)
{
    /// <summary>Pad tokens / all tokens (0 when there are none).</summary>
    public double Share => TotalTokens == 0 ? 0 : (double)PadTokens / TotalTokens;
}

/// <summary>
/// Classifier batches with fastai <c>SortedDL</c> order and chunk-aligned padding.
/// </summary>
/// <remarks>
/// <para><b>Order.</b> Validation: all documents sorted longest → shortest (stable), cut into batches of bs; the last
/// partial batch is kept. Training, each epoch: a random permutation; the first document of maximal length is swapped
/// to the front; megabatches of 50·bs are each sorted longest first; cut into batches of bs; the first batch stays
/// first, the last (partial) batch stays last and is dropped, the batches in between are visited in random order. So
/// within every batch rows run longest → shortest, which the sentence encoder relies on.</para>
/// <para><b>Padding.</b> Pad id 1 placed first so every row's text starts on a multiple of seq_len; by default the
/// width is the narrowest that avoids fastai #3379 (fastai's own width whenever that is safe; never more than the
/// width rounded up to a multiple of seq_len), see <see cref="ClassifierPadding"/>.
/// <see cref="ClassifierBatch.Lengths"/>, <see cref="ClassifierBatch.TextStarts"/> and
/// <see cref="ClassifierBatch.PadTokens"/> describe the layout; <see cref="LastEpochPadding"/> sums the waste.</para>
/// <para>Labels come from <see cref="ITokenCorpus.Label"/>. Buffers are pooled as in <see cref="LanguageModelLoader"/>:
/// dispose each batch (not its tensors); only one epoch may be enumerated at a time.</para>
/// </remarks>
public sealed class ClassifierLoader : IBatchSource<ClassifierBatch>, IDisposable
{
    private readonly ITokenCorpus corpus;
    private readonly int[] documents;
    private readonly int[] lengths;                  // per position; with augmentation, the current epoch's
    private readonly ClassifierLoaderOptions options;
    private readonly LoaderDevice device;
    private readonly ClassifierAugmentation? augmentation;
    private readonly List<int> augmentedTokens = [];  // with augmentation: the epoch's documents, one after another
    private int[] epochStarts = [];
    private ClassifierBatchPlanner planner;
    private int[] scratch;
    private readonly int[] rowLengthScratch;
    private readonly SlotPool<Slot> pool;
    private readonly string signature;
    private int active;
    private bool disposed;
    private long epochPads;
    private long epochTokens;

    /// <summary>Creates a loader over <paramref name="documents"/> of a labelled <paramref name="corpus"/> (all when null).</summary>
    /// <param name="corpus">Numericalized, labelled documents.</param>
    /// <param name="options">Batch size, seq_len, order, padding, seed, prefetch, device.</param>
    /// <param name="documents">Indices of the documents to use (a split, or the first N labelled ones).</param>
    public ClassifierLoader(ITokenCorpus corpus, ClassifierLoaderOptions? options = null, IReadOnlyList<int>? documents = null)
        : this(corpus, options, documents, augmentation: null)
    {
    }

    /// <summary>Creates a loader whose training documents are augmented anew each epoch: each one is replaced, with
    /// probability <see cref="ClassifierAugmentation.Share"/>, by the augmenter's copy (seeded by seed, epoch and
    /// position, so an epoch is a function of its number), then cut at <see cref="ClassifierLoaderOptions.MaximumLength"/>.</summary>
    internal ClassifierLoader(ITokenCorpus corpus, ClassifierLoaderOptions? options, IReadOnlyList<int>? documents, ClassifierAugmentation? augmentation)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (!corpus.HasLabels)
        {
            throw new ArgumentException("A classifier loader needs a labelled corpus (ITokenCorpus.HasLabels is false).", nameof(corpus));
        }
        this.corpus = corpus;
        this.options = options ?? ClassifierLoaderOptions.Training;
        this.options.Validate();
        this.documents = DocumentSelection.Resolve(corpus, documents, nameof(documents));
        lengths = new int[this.documents.Length];
        for (int i = 0; i < lengths.Length; i++)
        {
            lengths[i] = Math.Min(corpus.DocumentLength(this.documents[i]), this.options.MaximumLength ?? int.MaxValue);
        }
        device = LoaderDevice.Resolve(this.options.Device);
        this.augmentation = augmentation;
        planner = new ClassifierBatchPlanner(lengths, this.options);
        scratch = new int[Math.Max(1, planner.Longest)];
        rowLengthScratch = new int[this.options.BatchSize];
        pool = new SlotPool<Slot>(p => new Slot(this, p));
        var o = this.options;
        signature = FormattableString.Invariant(
            $"classifier-loader docs={this.documents.Length}#{BatchSources.StableHash(this.documents):x16} lengths#{BatchSources.StableHash(lengths):x16} bs={o.BatchSize} seq={o.SequenceLength} shuffle={o.Shuffle} order={o.Order} drop-last={o.DropsLast} seed={o.Seed} padding={o.Padding}{(augmentation is null ? "" : $" augment={augmentation}")}");
    }

    /// <inheritdoc />
    public int BatchCount => planner.BatchCount;

    /// <summary>The settings in force.</summary>
    public ClassifierLoaderOptions Options => options;

    /// <summary>Padding of the batches delivered in the last (or current) epoch.</summary>
    public PaddingReport LastEpochPadding => new(Interlocked.Read(ref epochPads), Interlocked.Read(ref epochTokens));

    /// <summary>Host buffer sets created so far (grows during warm-up only).</summary>
    public int PooledBuffers => pool.Count;

    /// <summary>
    /// The padding <paramref name="epoch"/> would have, computed from lengths only (no batches are built). Uses its own
    /// planner, so it may run while an epoch is being enumerated. With augmentation, from the lengths of the epoch
    /// enumerated last (the documents as they are before the first).
    /// </summary>
    public PaddingReport MeasurePadding(int epoch)
    {
        var own = new ClassifierBatchPlanner(lengths, options);
        return PaddingOf(own, 0, own.Plan(epoch), new int[options.BatchSize]);
    }

    /// <summary>Padding of batches [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="plan"/>'s epoch, from lengths only.</summary>
    private PaddingReport PaddingOf(ClassifierBatchPlanner plan, int from, int to, int[] rowLengths)
    {
        long pads = 0, total = 0;
        for (int b = from; b < to; b++)
        {
            int rows = plan.RowsOf(b);
            long text = 0;
            for (int r = 0; r < rows; r++)
            {
                int length = lengths[plan.Positions[b * options.BatchSize + r]];
                rowLengths[r] = length;
                text += length;
            }
            long cells = (long)rows * ClassifierBatchPlanner.Width(rowLengths.AsSpan(0, rows), options.SequenceLength, options.Padding);
            pads += cells - text;
            total += cells;
        }
        return new PaddingReport(pads, total);
    }

    /// <inheritdoc />
    public IEnumerable<ClassifierBatch> Epoch(int epoch, CancellationToken cancellation = default) => EpochFrom(epoch, 0, cancellation);

    /// <summary>Batches <paramref name="firstBatch"/> … of <paramref name="epoch"/>: the batch order is planned from (seed, epoch)
    /// as for a whole epoch; the skipped batches are not built, but <see cref="LastEpochPadding"/> counts them.</summary>
    public IEnumerable<ClassifierBatch> EpochFrom(int epoch, int firstBatch, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(firstBatch);
        return EpochCore(epoch, firstBatch, cancellation);
    }

    /// <inheritdoc />
    public string Signature => signature;

    private IEnumerable<ClassifierBatch> EpochCore(int epoch, int first, CancellationToken cancellation)
    {
        if (Interlocked.CompareExchange(ref active, 1, 0) != 0)
        {
            throw new InvalidOperationException("An epoch of this classifier loader is still being enumerated; finish or dispose it before starting another.");
        }
        Interlocked.Exchange(ref epochPads, 0);
        Interlocked.Exchange(ref epochTokens, 0);
        try
        {
            if (augmentation is not null)
            {
                Augment(epoch);
            }
            int count = planner.Plan(epoch);
            BatchSources.CheckFirst(first, count);
            if (first > 0)
            {
                PaddingReport skipped = PaddingOf(planner, 0, first, new int[options.BatchSize]);
                Interlocked.Add(ref epochPads, skipped.PadTokens);
                Interlocked.Add(ref epochTokens, skipped.TotalTokens);
            }
            foreach (Slot slot in Prefetcher<Slot>.Slots(pool, options.PrefetchDepth, first, count, Fill, cancellation))
            {
                yield return Publish(slot);
            }
        }
        finally
        {
            Volatile.Write(ref active, 0);
        }
    }

    // This epoch's documents: each one as it is, or (with probability Share) the augmenter's copy; lengths and plan follow.
    private void Augment(int epoch)
    {
        int cap = options.MaximumLength ?? int.MaxValue;
        augmentedTokens.Clear();
        if (epochStarts.Length != documents.Length + 1)
        {
            epochStarts = new int[documents.Length + 1];
        }
        int[] original = new int[Math.Max(1, documents.Max(d => Math.Min(corpus.DocumentLength(d), cap)))];
        for (int i = 0; i < documents.Length; i++)
        {
            int length = Math.Min(corpus.DocumentLength(documents[i]), cap);
            Span<int> text = original.AsSpan(0, length);
            corpus.CopyTokens(documents[i], 0, text);
            int start = augmentedTokens.Count;
            epochStarts[i] = start;
            // Stream 3 + position: apart from the planner's (0) and the selection's (2) streams of the same seed.
            var random = new DeterministicRandom(options.Seed, epoch, 3 + i);
            if (random.NextDouble() < augmentation!.Share)
            {
                augmentation.Augmenter.Augment(documents[i], text, augmentedTokens, ref random);
                if (augmentedTokens.Count == start)
                {
                    augmentedTokens.AddRange(text);          // an augmenter never empties a document
                }
            }
            else
            {
                augmentedTokens.AddRange(text);
            }
            lengths[i] = Math.Min(augmentedTokens.Count - start, cap);
        }
        epochStarts[documents.Length] = augmentedTokens.Count;
        planner = new ClassifierBatchPlanner(lengths, options);
        if (scratch.Length < planner.Longest)
        {
            scratch = new int[planner.Longest];
        }
    }

    private ClassifierBatch Publish(Slot slot)
    {
        Interlocked.Add(ref epochPads, slot.PadTokens);
        Interlocked.Add(ref epochTokens, (long)slot.Rows * slot.Width);
        return slot.Publish();
    }

    /// <summary>Fills <paramref name="slot"/> with batch <paramref name="batch"/> of the planned epoch (producer thread).</summary>
    private void Fill(Slot slot, int batch)
    {
        int rows = planner.RowsOf(batch);
        ReadOnlySpan<int> positions = planner.Positions.AsSpan(batch * options.BatchSize, rows);
        Span<int> rowLengths = rowLengthScratch.AsSpan(0, rows);
        for (int r = 0; r < rows; r++)
        {
            rowLengths[r] = lengths[positions[r]];
        }
        int sequenceLength = options.SequenceLength;
        int width = ClassifierBatchPlanner.Width(rowLengths, sequenceLength, options.Padding);
        slot.Prepare(rows, width);
        Span<long> inputs = slot.Inputs!.Span[..(rows * width)];
        Span<long> labels = slot.Labels.Span[..rows];
        long pad = options.PadId;
        long pads = 0;
        for (int r = 0; r < rows; r++)
        {
            int document = documents[positions[r]];
            int length = lengths[positions[r]];
            int front = ClassifierBatchPlanner.FrontPadding(width, length, sequenceLength);
            Span<long> row = inputs.Slice(r * width, width);
            row[..front].Fill(pad);
            Span<int> text = scratch.AsSpan(0, length);
            if (augmentation is null)
            {
                corpus.CopyTokens(document, 0, text);
            }
            else
            {
                System.Runtime.InteropServices.CollectionsMarshal.AsSpan(augmentedTokens).Slice(epochStarts[positions[r]], length).CopyTo(text);
            }
            TokenWidening.Widen(text, row.Slice(front, length));
            row[(front + length)..].Fill(pad);
            slot.Lengths[r] = length;
            slot.TextStarts[r] = front;
            labels[r] = corpus.Label(document);
            pads += width - length;
        }
        slot.PadTokens = pads;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        disposed = true;
        pool.Dispose();
    }

    /// <summary>Pooled host buffers for one batch, plus cached batch objects per (rows, width).</summary>
    private sealed class Slot : IDisposable
    {
        // Widths are arbitrary with minimal chunk-safe padding, so a slot may meet hundreds of shapes before it has
        // seen them all; a view pair + batch object costs a few hundred bytes, so even the limit is a few MB per slot.
        private const int CacheLimit = 4096;
        private readonly ClassifierLoader owner;
        private readonly Dictionary<(int Rows, int Width), ClassifierBatch> cache = new();
        private readonly Dictionary<int, (int[] Lengths, int[] TextStarts)> arrays = new();
        private readonly Action release;

        public Slot(ClassifierLoader owner, SlotPool<Slot> pool)
        {
            this.owner = owner;
            Labels = HostBuffer.Allocate(owner.options.BatchSize, owner.device.PinHostMemory);
            release = owner.device.CopyToDevice
                ? () =>
                {
                    owner.device.WaitForCopies();
                    pool.Return(this);
                }
                : () => pool.Return(this);
        }

        /// <summary>Token buffer; grows (warm-up) to the largest rows × width this slot has held.</summary>
        public HostBuffer? Inputs { get; private set; }

        public HostBuffer Labels { get; }

        public int Rows { get; private set; }

        public int Width { get; private set; }

        public long PadTokens { get; set; }

        public int[] Lengths { get; private set; } = Array.Empty<int>();

        public int[] TextStarts { get; private set; } = Array.Empty<int>();

        /// <summary>Makes room for a rows × width batch and selects the per-row arrays of that row count.</summary>
        public void Prepare(int rows, int width)
        {
            long needed = (long)rows * width;
            if (needed > int.MaxValue)
            {
                throw new InvalidOperationException($"A classifier batch of {rows} rows × {width} columns exceeds 2^31 ids; lower the batch size.");
            }
            if (Inputs is null || Inputs.Capacity < needed)
            {
                // Views of the old buffer die with it. Doubling bounds the number of regrowths during warm-up; the
                // cap is the largest batch this loader can build.
                int sequenceLength = owner.options.SequenceLength;
                long largest = (long)owner.options.BatchSize * ((owner.planner.Longest + sequenceLength - 1) / sequenceLength * sequenceLength);
                int capacity = (int)Math.Min(Math.Max(needed, 2L * (Inputs?.Capacity ?? 0)), Math.Max(needed, Math.Min(largest, int.MaxValue)));
                ClearCache();
                Inputs?.Dispose();
                Inputs = HostBuffer.Allocate(capacity, owner.device.PinHostMemory);
            }
            if (!arrays.TryGetValue(rows, out var pair))
            {
                pair = (new int[rows], new int[rows]);
                arrays[rows] = pair;
            }
            (Lengths, TextStarts) = pair;
            Rows = rows;
            Width = width;
        }

        public ClassifierBatch Publish()
        {
            int chunk = owner.options.SequenceLength;
            if (owner.device.CopyToDevice)
            {
                using Tensor hostInputs = Inputs!.View(Rows, Width);
                using Tensor hostLabels = Labels.View(Rows);
                return new ClassifierBatch(owner.device.Copy(hostInputs), owner.device.Copy(hostLabels), Lengths, TextStarts, chunk, PadTokens, release, ownsTensors: true);
            }
            if (cache.TryGetValue((Rows, Width), out ClassifierBatch? cached) && !cached.Inputs.IsInvalid && !cached.Labels.IsInvalid)
            {
                cached.Reuse(PadTokens);
                return cached;
            }
            if (cached is not null || cache.Count >= CacheLimit)
            {
                ClearCache();
            }
            var batch = new ClassifierBatch(Inputs!.View(Rows, Width), Labels.View(Rows), Lengths, TextStarts, chunk, PadTokens, release, ownsTensors: false);
            cache[(Rows, Width)] = batch;
            return batch;
        }

        private void ClearCache()
        {
            foreach (ClassifierBatch batch in cache.Values)
            {
                batch.Inputs.Dispose();
                batch.Labels.Dispose();
            }
            cache.Clear();
        }

        public void Dispose()
        {
            ClearCache();
            Inputs?.Dispose();
            Labels.Dispose();
        }
    }
}
