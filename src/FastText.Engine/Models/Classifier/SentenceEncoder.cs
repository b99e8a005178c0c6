using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Classifier;

/// <summary>
/// fastai's <c>SentenceEncoder</c>: runs the recurrent encoder over a padded batch in bptt-sized chunks with fresh
/// state per batch, feeding only the rows whose text has started, and keeps the outputs of the last
/// <see cref="MaxLength"/> tokens for pooling. Returns (output (rows, kept, E), pad mask (rows, kept)).
/// </summary>
/// <remarks>
/// <para>Rows must be sorted longest first with padding in front (fastai's <c>pad_first</c>), so at any column the rows
/// whose text has started form a prefix of the batch. A row joins the chunk in which its first token lies; rows not
/// fed yet get zero outputs (their mask is true there).</para>
/// <para>Deliberate differences from fastai: (1) a row's start is read from its own first real token, so fastai#3379
/// (text of a shorter row silently skipped when a longer row is already in its trailing pads) cannot happen with any
/// pad layout; (2) chunks whose outputs are not kept (more than <see cref="MaxLength"/> tokens from the end) run under
/// <c>no_grad</c>: fastai detaches the state between chunks, so no gradient could reach them anyway, and this saves
/// the autograd memory and time.</para>
/// </remarks>
public sealed class SentenceEncoder : nn.Module<Tensor, (Tensor Output, Tensor PadMask)>
{
    // Held in an array so TorchSharp's reflection-based registration never adds it a second time under the field's
    // name: the encoder's module is registered once, as "module" (fastai's key).
    private readonly IRecurrentEncoder[] encoderHolder;

    /// <summary>Wraps <paramref name="encoder"/>; its <see cref="IRecurrentEncoder.Module"/> is registered as <c>module</c>.</summary>
    /// <param name="encoder">The language model's encoder.</param>
    /// <param name="bptt">Chunk length (fastai <c>seq_len</c>, 72).</param>
    /// <param name="maxLength">Outputs kept for pooling (fastai <c>max_len</c>, 72 · 20 = 1440).</param>
    public SentenceEncoder(IRecurrentEncoder encoder, int bptt = 72, int maxLength = 72 * 20) : base(nameof(SentenceEncoder))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentOutOfRangeException.ThrowIfLessThan(bptt, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        encoderHolder = [encoder];
        Bptt = bptt;
        MaxLength = maxLength;
        register_module("module", encoder.Module);
    }

    /// <summary>The wrapped encoder.</summary>
    public IRecurrentEncoder Encoder => encoderHolder[0];

    /// <summary>Chunk length.</summary>
    public int Bptt { get; }

    /// <summary>Number of final tokens whose outputs are kept for pooling.</summary>
    public int MaxLength { get; }

    /// <summary>
    /// Feed every row of the batch in every chunk, leading padding included — fastai v1's <c>MultiBatchEncoder</c>, and
    /// what a recurrent encoder without fastai v2's started-rows trick does. False (default) feeds only the rows whose
    /// text has started. Kept as the baseline that shows what length bucketing saves an encoder that computes its
    /// padding (perf-results/ClassifierBucketing.md); the pads' outputs stay masked out of the pooling either way, but the
    /// state a row carries into its text then comes from its leading pads.
    /// </summary>
    public bool FeedEveryRow { get; set; }

    /// <summary>Encodes <paramref name="ids"/> (rows, width), int64, rows sorted longest first, padding first.</summary>
    public override (Tensor Output, Tensor PadMask) forward(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.dim() != 2)
        {
            throw new ArgumentException($"Token ids must be (rows, width); got {ids.dim()} dimensions.", nameof(ids));
        }
        long rows = ids.shape[0], width = ids.shape[1];
        using var scope = NewDisposeScope();
        IRecurrentEncoder encoder = encoderHolder[0];
        encoder.ResetState();
        using Scalar padding = encoder.PaddingId;                                      // explicit: Native/Scalars.cs
        Tensor padMask = ids.eq(padding);                                             // (rows, width)
        long[] firstReal = FeedEveryRow ? new long[rows] : padMask.logical_not().to(ScalarType.Int64).argmax(1).data<long>().ToArray();
        var kept = new List<Tensor>();
        long firstKept = -1;
        int started = 0;
        for (long start = 0; start < width; start += Bptt)
        {
            long length = Math.Min(Bptt, width - start);
            // Rows sorted longest first ⇒ rows whose text has begun by the end of this chunk form a prefix.
            while (started < rows && firstReal[started] < start + length)
            {
                started++;
            }
            bool keep = width - start <= MaxLength;
            if (keep && firstKept < 0)
            {
                firstKept = start;
            }
            if (started == 0)
            {
                if (keep)
                {
                    kept.Add(zeros(rows, length, encoder.OutputSize, dtype: ScalarType.Float32, device: ids.device));
                }
                continue;
            }
            Tensor chunk = ids.narrow(0, 0, started).narrow(1, start, length);
            if (!keep)
            {
                // Freed now, not at the end of the batch: a body of 100,000 tokens runs ~1,400 such chunks, whose
                // outputs and LSTM intermediates held gigabytes until the batch's scope closed.
                using (no_grad())
                using (NewDisposeScope())
                {
                    encoder.Encode(chunk);
                }
                continue;
            }
            Tensor output = encoder.Encode(chunk);                                     // (started, length, E)
            if (output.dtype != ScalarType.Float32)
            {
                output = output.to(ScalarType.Float32);                                // bf16 encoder: pool and classify in fp32
            }
            if (started < rows)
            {
                output = nn.functional.pad(output, [0, 0, 0, 0, 0, rows - started]);   // zero rows for texts not begun
            }
            kept.Add(output);
        }
        Tensor all = kept.Count == 1 ? kept[0] : cat(kept, 1);
        Tensor mask = padMask.narrow(1, firstKept, width - firstKept);
        return (all.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }
}
