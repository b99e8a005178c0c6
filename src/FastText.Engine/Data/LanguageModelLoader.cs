using FastText.Engine.Text;
using static TorchSharp.torch;

namespace FastText.Engine.Data;

/// <summary>
/// Language-model batches with fastai <c>LMDataLoader</c> semantics: each epoch the document order is shuffled
/// (training only), the documents are read as one stream, and the stream is laid out as in
/// <see cref="LanguageModelLayout"/> (rows of contiguous text; targets = inputs shifted by one).
/// </summary>
/// <remarks>
/// <para>Speed: the stream is never materialised. Each epoch computes prefix sums of the (permuted) document lengths;
/// each row keeps a cursor into them (a binary search only at the epoch's first batch) and copies straight from the
/// corpus (the memory-mapped file) into a pooled buffer that the batch's tensors wrap without copying. After warm-up an epoch allocates only its per-epoch
/// objects (enumerator, prefetch thread); batches allocate nothing.</para>
/// <para>Ids are int64: libtorch 2.10's embedding accepts int32 indices but <c>cross_entropy</c> rejects int32
/// targets ("expected scalar type Long but found Int"), so the corpus's int32 ids are widened while copying.</para>
/// <para>Batches are valid until disposed; dispose each one (not its tensors) to return its buffer. Only one epoch of
/// a loader may be enumerated at a time.</para>
/// </remarks>
public sealed class LanguageModelLoader : IBatchSource<LanguageModelBatch>, IDisposable
{
    private readonly ITokenCorpus corpus;
    private readonly int[] documents;
    private readonly LanguageModelLoaderOptions options;
    private readonly LoaderDevice device;
    private readonly int maximumLength;
    private readonly int[] order;
    private readonly long[] starts;
    private readonly int[] scratch;
    private readonly int[] rowCursors;
    private readonly SlotPool<Slot> pool;
    private int[] batchOffsets = Array.Empty<int>();
    private int[] batchLengths = Array.Empty<int>();
    private int active;
    private readonly string signature;
    private TimeSpan lastWait;
    private bool disposed;

    /// <summary>Creates a loader over <paramref name="documents"/> of <paramref name="corpus"/> (all documents when null).</summary>
    /// <param name="corpus">Numericalized documents (each starts with xxbos; no separators are added).</param>
    /// <param name="options">Batch size, sequence length, shuffling, seed, prefetch, device.</param>
    /// <param name="documents">Indices of the documents to use, in their base order (e.g. a training split).</param>
    public LanguageModelLoader(ITokenCorpus corpus, LanguageModelLoaderOptions? options = null, IReadOnlyList<int>? documents = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        this.corpus = corpus;
        this.options = options ?? LanguageModelLoaderOptions.Training;
        this.options.Validate();
        this.documents = DocumentSelection.Resolve(corpus, documents, nameof(documents));
        long tokens = 0;
        foreach (int d in this.documents)
        {
            tokens += corpus.DocumentLength(d);
        }
        Layout = LanguageModelLayout.Create(tokens, this.options.BatchSize, this.options.SequenceLength);
        device = LoaderDevice.Resolve(this.options.Device);
        maximumLength = this.options.VariableSequenceLength
            ? Math.Max(MinimumVariableLength, this.options.SequenceLength + this.options.MaximumExtraLength)
            : this.options.SequenceLength;
        order = new int[this.documents.Length];
        starts = new long[this.documents.Length + 1];
        scratch = new int[maximumLength + 1];
        rowCursors = new int[this.options.BatchSize];
        pool = new SlotPool<Slot>(p => new Slot(this, p));
        var o = this.options;
        signature = FormattableString.Invariant(
            $"lm-loader docs={this.documents.Length}#{BatchSources.StableHash(this.documents):x16} tokens={tokens} bs={o.BatchSize} seq={o.SequenceLength} shuffle={o.Shuffle} seed={o.Seed} variable={o.VariableSequenceLength}/{o.MaximumExtraLength} scale-lr={o.ScaleLearningRate}");
    }

    /// <summary>Shortest variable-BPTT length (AWD-LSTM's rule).</summary>
    public const int MinimumVariableLength = 5;

    /// <summary>The stream layout (token count, rows, row length, fixed-length batch count, last length).</summary>
    public LanguageModelLayout Layout { get; }

    /// <summary>The settings in force.</summary>
    public LanguageModelLoaderOptions Options => options;

    /// <summary>Batches per epoch with the fixed sequence length (fastai <c>n_batches</c>). With
    /// <see cref="LanguageModelLoaderOptions.VariableSequenceLength"/> an epoch's exact count is
    /// <see cref="CountBatches"/> (a few percent more: the mean drawn length is about 0.97 · seq_len).</summary>
    public int BatchCount => Layout.BatchCount;

    /// <summary>Time the trainer spent blocked waiting for the prefetcher in the last completed epoch (zero without prefetch).</summary>
    public TimeSpan LastEpochWait => lastWait;

    /// <summary>Host buffer sets created so far (grows during warm-up only).</summary>
    public int PooledBuffers => pool.Count;

    /// <summary>Exact number of batches of <paramref name="epoch"/>.</summary>
    public int CountBatches(int epoch)
    {
        if (!options.VariableSequenceLength)
        {
            return Layout.BatchCount;
        }
        var random = new DeterministicRandom(options.Seed, epoch, stream: 1);
        int count = 0;
        for (long offset = 0; offset < Layout.RowLength; count++)
        {
            offset += DrawLength(ref random, offset);
        }
        return count;
    }

    /// <inheritdoc />
    public IEnumerable<LanguageModelBatch> Epoch(int epoch, CancellationToken cancellation = default) => EpochFrom(epoch, 0, cancellation);

    /// <summary>Batches <paramref name="firstBatch"/> … of <paramref name="epoch"/>: the order, the variable-BPTT lengths and
    /// the windows are planned from (seed, epoch) as for a whole epoch; the skipped batches are not read.</summary>
    public IEnumerable<LanguageModelBatch> EpochFrom(int epoch, int firstBatch, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(firstBatch);
        return EpochCore(epoch, firstBatch, cancellation);
    }

    /// <inheritdoc />
    public string Signature => signature;

    private IEnumerable<LanguageModelBatch> EpochCore(int epoch, int first, CancellationToken cancellation)
    {
        if (Interlocked.CompareExchange(ref active, 1, 0) != 0)
        {
            throw new InvalidOperationException("An epoch of this language-model loader is still being enumerated; finish or dispose it before starting another.");
        }
        lastWait = TimeSpan.Zero;
        try
        {
            int count = PlanEpoch(epoch);
            BatchSources.CheckFirst(first, count);
            foreach (Slot slot in Prefetcher<Slot>.Slots(pool, options.PrefetchDepth, first, count, Fill, cancellation, wait => lastWait = wait))
            {
                yield return slot.Publish();
            }
        }
        finally
        {
            Volatile.Write(ref active, 0);
        }
    }

    /// <summary>Document order, prefix sums and per-batch windows of <paramref name="epoch"/>; returns the batch count.</summary>
    private int PlanEpoch(int epoch)
    {
        documents.CopyTo(order, 0);
        if (options.Shuffle)
        {
            var random = new DeterministicRandom(options.Seed, epoch, stream: 0);
            random.Shuffle(order);
        }
        for (int i = 0; i < order.Length; i++)
        {
            starts[i + 1] = starts[i] + corpus.DocumentLength(order[i]);
        }
        Array.Fill(rowCursors, -1);
        int count = CountBatches(epoch);
        if (batchOffsets.Length < count)
        {
            batchOffsets = new int[count];
            batchLengths = new int[count];
        }
        var lengths = new DeterministicRandom(options.Seed, epoch, stream: 1);
        long offset = 0;
        for (int b = 0; b < count; b++)
        {
            int length = options.VariableSequenceLength ? DrawLength(ref lengths, offset) : (int)Math.Min(options.SequenceLength, Layout.RowLength - offset);
            batchOffsets[b] = checked((int)offset);
            batchLengths[b] = length;
            offset += length;
        }
        return count;
    }

    /// <summary>AWD-LSTM's variable BPTT draw, cut at the end of the row.</summary>
    private int DrawLength(ref DeterministicRandom random, long offset)
    {
        double baseLength = random.NextDouble() < 0.95 ? options.SequenceLength : options.SequenceLength / 2.0;
        int length = Math.Max(MinimumVariableLength, (int)(baseLength + 5.0 * random.NextGaussian()));
        length = Math.Min(length, maximumLength);
        return (int)Math.Min(length, Layout.RowLength - offset);
    }

    /// <summary>Fills <paramref name="slot"/> with batch <paramref name="batch"/> of the planned epoch.</summary>
    private void Fill(Slot slot, int batch)
    {
        int rows = Layout.Rows;
        int length = batchLengths[batch];
        long offset = batchOffsets[batch];
        Span<long> inputs = slot.Inputs.Span[..(rows * length)];
        Span<long> targets = slot.Targets.Span[..(rows * length)];
        Span<int> window = scratch.AsSpan(0, length + 1);
        for (int r = 0; r < rows; r++)
        {
            ReadStream(r * Layout.RowLength + offset, window, ref rowCursors[r]);
            TokenWidening.Widen(window[..length], inputs.Slice(r * length, length));
            TokenWidening.Widen(window[1..], targets.Slice(r * length, length));
        }
        slot.Length = length;
    }

    /// <summary>
    /// Copies stream tokens <c>[position, position + destination.Length)</c> of the current epoch's order.
    /// <paramref name="cursor"/> is the row's document from its previous batch (−1 at epoch start): rows move forward
    /// through the stream, so after the first batch the document is found by stepping, not searching.
    /// </summary>
    private void ReadStream(long position, Span<int> destination, ref int cursor)
    {
        int d;
        if (cursor >= 0 && starts[cursor] <= position)
        {
            d = cursor;
            while (d + 1 < order.Length && starts[d + 1] <= position)
            {
                d++;
            }
        }
        else
        {
            // Last document whose start is ≤ position (empty documents share a start; the last of them is the non-empty one).
            int lo = 0, hi = order.Length - 1;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) >>> 1;
                if (starts[mid] <= position)
                {
                    lo = mid;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            d = lo;
        }
        cursor = d;
        int written = 0;
        while (written < destination.Length)
        {
            int document = order[d];
            int within = checked((int)(position + written - starts[d]));
            int take = Math.Min(destination.Length - written, corpus.DocumentLength(document) - within);
            if (take > 0)
            {
                corpus.CopyTokens(document, within, destination.Slice(written, take));
                written += take;
            }
            d++;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        disposed = true;
        pool.Dispose();
    }

    /// <summary>Pooled host buffers for one batch, plus a cached batch object per sequence length.</summary>
    private sealed class Slot : IDisposable
    {
        private const int CacheLimit = 128;
        private readonly LanguageModelLoader owner;
        private readonly SlotPool<Slot> pool;
        private readonly Dictionary<int, LanguageModelBatch> cache = new();
        private readonly Action release;

        public Slot(LanguageModelLoader owner, SlotPool<Slot> pool)
        {
            this.owner = owner;
            this.pool = pool;
            int capacity = owner.Layout.Rows * owner.maximumLength;
            Inputs = HostBuffer.Allocate(capacity, owner.device.PinHostMemory);
            Targets = HostBuffer.Allocate(capacity, owner.device.PinHostMemory);
            // A pinned buffer may still be the source of an asynchronous device copy: wait for it before reuse.
            release = owner.device.CopyToDevice
                ? () =>
                {
                    owner.device.WaitForCopies();
                    this.pool.Return(this);
                }
                : () => this.pool.Return(this);
        }

        public HostBuffer Inputs { get; }

        public HostBuffer Targets { get; }

        public int Length { get; set; }

        /// <summary>The batch for the filled contents: cached views on the CPU, fresh device copies on CUDA.</summary>
        public LanguageModelBatch Publish()
        {
            int rows = owner.Layout.Rows;
            int nominal = owner.options.SequenceLength;
            double scale = owner.options.VariableSequenceLength && owner.options.ScaleLearningRate ? (double)Length / nominal : 1;
            if (owner.device.CopyToDevice)
            {
                using Tensor hostInputs = Inputs.View(rows, Length);
                using Tensor hostTargets = Targets.View(rows, Length);
                return new LanguageModelBatch(owner.device.Copy(hostInputs), owner.device.Copy(hostTargets), nominal, release, ownsTensors: true)
                {
                    LearningRateScale = scale,
                };
            }
            if (cache.TryGetValue(Length, out LanguageModelBatch? cached) && !cached.Inputs.IsInvalid && !cached.Targets.IsInvalid)
            {
                return cached;
            }
            if (cached is not null || cache.Count >= CacheLimit)
            {
                ClearCache();
            }
            var batch = new LanguageModelBatch(Inputs.View(rows, Length), Targets.View(rows, Length), nominal, release, ownsTensors: false)
            {
                LearningRateScale = scale,   // a function of the length, so the cached batch keeps it
            };
            cache[Length] = batch;
            return batch;
        }

        private void ClearCache()
        {
            foreach (LanguageModelBatch batch in cache.Values)
            {
                batch.Inputs.Dispose();
                batch.Targets.Dispose();
            }
            cache.Clear();
        }

        public void Dispose()
        {
            ClearCache();
            Inputs.Dispose();
            Targets.Dispose();
        }
    }
}
