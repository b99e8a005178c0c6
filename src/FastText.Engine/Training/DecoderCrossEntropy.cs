using FastText.Engine.Native;
using FastText.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>How the language-model decoder and its softmax cross-entropy are computed.</summary>
public enum DecoderLossMode
{
    /// <summary>Row chunks: each chunk's logits, softmax, loss and gradients are computed and dropped before the next, so
    /// only one (chunk × vocab) fp32 block exists at a time instead of the full (batch·seq × vocab) logits plus autograd copies.</summary>
    Chunked,

    /// <summary>Full logits through autograd (<c>linear</c> → <c>cross_entropy</c>): the reference the chunked mode is checked against.</summary>
    Plain,
}

/// <summary>Loss of one batch through the decoder.</summary>
/// <param name="Loss">Mean cross-entropy, fp32 scalar, detached (for reporting).</param>
/// <param name="BackwardLoss">The tensor to call <c>backward()</c> on: gives the same gradients as the mean cross-entropy.
/// For <see cref="DecoderLossMode.Chunked"/> its value is not the loss (it is a surrogate whose gradients were computed
/// chunk by chunk); never report it.</param>
/// <param name="Correct">Number of positions whose argmax equals the target (int64 scalar) when accuracy was asked for.</param>
/// <param name="Count">Positions scored.</param>
internal readonly record struct DecoderLoss(Tensor Loss, Tensor BackwardLoss, Tensor? Correct, long Count);

/// <summary>
/// The tied decoder fused with softmax cross-entropy. A full fp32 (batch·seq × vocab) logits tensor is 2.46 GB at
/// fastbook's bs 128 × 80 × 60008 — and autograd keeps it (and its log-softmax) alive until backward. The chunked form
/// computes, per block of rows, logits → softmax → loss, and at once the gradient G = softmax − one-hot (in place), from
/// which it accumulates dX = G·W, dW = Gᵀ·X and db = Σ G (scaled by 1/N once at the end). The graph then receives these
/// through a surrogate <c>Σ X∘dX + Σ W∘dW + Σ b∘db</c>, whose gradients are exactly dX, dW, db. Matmuls run in the
/// features' dtype (bf16 in mixed precision); softmax and the loss always in fp32. On the CPU the softmax, loss, argmax and
/// gradient of a chunk are one managed pass (<see cref="DecoderSoftmaxKernel"/>), fp32 products go through oneDNN
/// (<see cref="OneDnnGemm"/>) from 4,096 classes on wherever its kernel is checked right for the shape (MKL otherwise),
/// and a <see cref="DecoderWorkspace"/> keeps the large buffers from one step to the next.
/// </summary>
internal static class DecoderCrossEntropy
{
    /// <summary>Default memory budget for one chunk's fp32 logits block (bytes).</summary>
    /// <remarks>Each chunk also reads and writes the (vocab × emb) weight gradient once, so very small chunks trade memory for
    /// bandwidth; 128 MB is about 4 chunks at bs 32 × bptt 72 × 60008 (the plain path holds ~4× more).</remarks>
    public const long DefaultChunkBytes = 128L << 20;

    // Below this many classes the fp32 products stay with MKL (see Chunked).
    private const long OneDnnMinimumVocabulary = 4096;

    /// <summary>Computes the loss (and, for training, its gradients) of <paramref name="features"/> → vocabulary logits.</summary>
    /// <param name="features">(N, emb) in the compute dtype; part of the autograd graph when training.</param>
    /// <param name="weight">Decoder weight (vocab, emb), fp32 master.</param>
    /// <param name="bias">Decoder bias (vocab) or null.</param>
    /// <param name="targets">(N) int64 class ids.</param>
    /// <param name="mode">Chunked or plain.</param>
    /// <param name="training">Whether gradients are needed.</param>
    /// <param name="accuracy">Whether to count argmax hits.</param>
    /// <param name="chunkBytes">Budget for one fp32 logits block (chunked mode).</param>
    /// <param name="workspace">Buffers to reuse from call to call (chunked mode on the CPU), or null for this call only.</param>
    public static DecoderLoss Compute(Tensor features, Parameter weight, Parameter? bias, Tensor targets, DecoderLossMode mode,
        bool training, bool accuracy, long chunkBytes = DefaultChunkBytes, DecoderWorkspace? workspace = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(targets);
        if (features.dim() != 2 || targets.dim() != 1 || features.shape[0] != targets.shape[0])
        {
            throw new ArgumentException($"features must be (N, emb) and targets (N); got [{string.Join(", ", features.shape)}] and [{string.Join(", ", targets.shape)}].");
        }
        return mode == DecoderLossMode.Plain
            ? Plain(features, weight, bias, targets, training, accuracy)
            : Chunked(features, weight, bias, targets, training, accuracy, chunkBytes, workspace);
    }

    private static DecoderLoss Plain(Tensor features, Parameter weight, Parameter? bias, Tensor targets, bool training, bool accuracy)
    {
        ScalarType dtype = features.dtype;
        Tensor w = weight.dtype == dtype ? weight : weight.to(dtype);
        Tensor logits = nn.functional.linear(features, w);                   // (N, vocab)
        if (logits.dtype != ScalarType.Float32)
        {
            logits = logits.to(ScalarType.Float32);
        }
        if (bias is not null)
        {
            logits = logits.add(bias, Scalars.One);
        }
        Tensor loss = nn.functional.cross_entropy(logits, targets);
        Tensor? correct = null;
        if (accuracy)
        {
            using (torch.no_grad())
            {
                correct = logits.argmax(1).eq(targets).sum();
            }
        }
        return new DecoderLoss(loss.detach(), training ? loss : loss.detach(), correct, targets.shape[0]);
    }

    private static DecoderLoss Chunked(Tensor features, Parameter weight, Parameter? bias, Tensor targets, bool training, bool accuracy,
        long chunkBytes, DecoderWorkspace? workspace)
    {
        long n = features.shape[0];
        long vocab = weight.shape[0];
        long emb = weight.shape[1];
        long maxRows = Math.Clamp(chunkBytes / (4 * vocab), 16, Math.Max(16, n));
        long rows = (n + (n + maxRows - 1) / maxRows - 1) / ((n + maxRows - 1) / maxRows);   // equal chunks, no tiny tail
        ScalarType dtype = features.dtype;
        bool gradX = training && features.requires_grad;
        bool gradW = training && weight.requires_grad;
        bool gradB = training && bias is not null && bias.requires_grad;
        bool anyGrad = gradX || gradW || gradB;
        // On the CPU, fp32 or bf16 logits with fp32 masters: one managed pass per chunk (DecoderSoftmaxKernel) instead of
        // torch ops (log_softmax, exp, scatter, sum) on fresh blocks.
        bool managed = features.device_type == DeviceType.CPU && (dtype is ScalarType.Float32 or ScalarType.BFloat16)
            && weight.dtype == ScalarType.Float32 && (bias is null || bias.dtype == ScalarType.Float32);
        // Without a caller's workspace the buffers live for this call only; the weight gradient is then the caller's to
        // keep (it feeds the backward pass), so a temporary workspace never hands it out.
        DecoderWorkspace? temporary = workspace is null && managed ? new DecoderWorkspace() : null;
        using DecoderWorkspace? disposeAtEnd = temporary;
        DecoderWorkspace? buffers = workspace ?? temporary;

        Tensor lossSum;
        Tensor? correct = null;
        Tensor? dX = null, dW = null, dB = null;
        using (torch.no_grad())
        {
            Tensor x = features.detach();                                     // (N, emb)
            Tensor w = weight.dtype == dtype ? weight.detach() : weight.to(dtype);   // (vocab, emb)
            Tensor wT = w.t();                                                // (emb, vocab)
            lossSum = torch.zeros(1, dtype: ScalarType.Float32);
            if (accuracy)
            {
                correct = torch.zeros(1, dtype: ScalarType.Int64);
            }
            if (gradX)
            {
                dX = torch.empty(n, emb, dtype: dtype);
            }
            if (gradW)
            {
                dW = workspace is null ? torch.zeros(vocab, emb, dtype: ScalarType.Float32) : workspace.WeightGradient(vocab, emb);   // the caller's workspace only
            }
            if (gradB)
            {
                dB = torch.zeros(vocab, dtype: ScalarType.Float32);
            }
            if (managed)
            {
                // fp32: oneDNN's products (AVX-512 where libtorch's MKL runs AVX2 code, see OneDnnGemm); the logits are
                // then a fresh tensor per chunk. bf16: libtorch's bf16 GEMM already is oneDNN's, into the reused block.
                // Each fp32 product takes oneDNN only where its kernel is right for the shape on this CPU; elsewhere MKL
                // writes into the reused block or in place, as bf16 does (on a Zen 5, oneDNN's logits product was wrong at
                // 15,008 and 30,008 columns, and the fallback inside OneDnnGemm allocated a fresh 69 MB block per chunk).
                // Only for a vocabulary-sized product, where it pays: on the same Zen 5, oneDNN's logits kernel for an
                // embedding of 256 (or 512) and 1,024 classes stops the process with SIGFPE while its check runs, which
                // nothing in .NET can catch.
                bool oneDnn = dtype == ScalarType.Float32 && vocab >= OneDnnMinimumVocabulary && OneDnnGemm.Applies(x, w);
                bool logitsByOneDnn = oneDnn && OneDnnGemm.IsRight(transposed: true, emb, vocab);
                bool dxByOneDnn = oneDnn && gradX && OneDnnGemm.IsRight(transposed: true, vocab, emb);
                Tensor? block = logitsByOneDnn ? null : buffers!.Logits(rows, vocab, dtype);   // (rows, vocab), reused
                Tensor? product = gradW && dtype != ScalarType.Float32 ? buffers!.WeightProduct(vocab, emb, dtype) : null;
                using Tensor? wColumns = dxByOneDnn ? w.t().contiguous() : null;               // (emb, vocab) for dX
                using Tensor? biasMaster = bias?.detach().contiguous();
                using Tensor targetIds = targets.to(ScalarType.Int64).contiguous();
                double chunksLoss = 0;
                long hits = 0;
                for (long start = 0; start < n; start += rows)
                {
                    using var chunkScope = torch.NewDisposeScope();
                    long count = Math.Min(rows, n - start);
                    Tensor xc = x.narrow(0, start, count);                       // (c, emb), contiguous rows
                    Tensor zc;
                    if (logitsByOneDnn)
                    {
                        zc = OneDnnGemm.RowsTimesTransposed(xc, w);                // (c, vocab), no bias
                    }
                    else
                    {
                        zc = block!.narrow(0, 0, count);
                        zc.addmm_(xc, wT, beta: 0, alpha: 1);                     // (c, vocab), no bias
                    }
                    var (chunkLoss, chunkHits) = ManagedSoftmax(zc, biasMaster, targetIds, start, dB, torch.get_num_threads(), anyGrad);
                    chunksLoss += chunkLoss;
                    hits += chunkHits;
                    // zc now holds softmax − one-hot.
                    if (dX is not null)
                    {
                        if (dxByOneDnn)
                        {
                            dX.narrow(0, start, count).copy_(OneDnnGemm.RowsTimesTransposed(zc, wColumns!));
                        }
                        else
                        {
                            dX.narrow(0, start, count).addmm_(zc, w, beta: 0, alpha: 1);
                        }
                    }
                    if (dW is not null)
                    {
                        if (oneDnn && OneDnnGemm.IsRight(transposed: false, count, vocab))
                        {
                            Tensor transposed = OneDnnGemm.Product(xc.t().contiguous(), zc);   // (emb, vocab) = Xᵀ·G
                            dW.add_(transposed.t(), Scalars.One);
                        }
                        else if (product is null)
                        {
                            dW.addmm_(zc.t(), xc, beta: 1, alpha: 1);             // dW += Gᵀ·X in one GEMM pass
                        }
                        else
                        {
                            product.addmm_(zc.t(), xc, beta: 0, alpha: 1);        // bf16 GEMM into a reused block,
                            dW.add_(product, Scalars.One);                                     // accumulated in fp32
                        }
                    }
                }
                using (Scalar total = chunksLoss)                               // explicit: TorchSharp leaves implicit
                {                                                               // Scalars to the GC (FusedAdamStep)
                    lossSum.fill_(total);
                }
                if (correct is not null)
                {
                    using Scalar count = hits;
                    correct.fill_(count);
                }
            }
            else
            {
                TorchOpChunks(x, w, wT, bias, targets, n, rows, dtype, anyGrad, lossSum, correct, dX, dW, dB);
            }
            dX?.div_(n);
            dW?.div_(n);
            dB?.div_(n);
        }
        Tensor loss = lossSum.div_(n).squeeze();
        Tensor backward = loss;
        if (anyGrad)
        {
            backward = torch.zeros(Array.Empty<long>());
            if (dX is not null)
            {
                backward = backward.add((features * dX).sum().to(ScalarType.Float32), Scalars.One);
            }
            if (dW is not null)
            {
                backward = backward.add((weight * dW).sum(), Scalars.One);
            }
            if (dB is not null)
            {
                backward = backward.add((bias! * dB).sum(), Scalars.One);
            }
        }
        return new DecoderLoss(loss, backward, correct?.squeeze(), n);
    }

    // Devices other than the CPU (and dtypes the managed pass does not read): torch ops on each chunk.
    private static void TorchOpChunks(Tensor x, Tensor w, Tensor wT, Parameter? bias, Tensor targets, long n, long rows, ScalarType dtype,
        bool anyGrad, Tensor lossSum, Tensor? correct, Tensor? dX, Tensor? dW, Tensor? dB)
    {
        using Tensor minusOne = torch.full(rows, 1, -1.0f, device: x.device);
        using Tensor? biasCompute = bias?.detach().to(dtype);
        for (long start = 0; start < n; start += rows)
        {
            using var chunkScope = torch.NewDisposeScope();
            long count = Math.Min(rows, n - start);
            Tensor xc = x.narrow(0, start, count);                           // (c, emb)
            Tensor tc = targets.narrow(0, start, count).unsqueeze(1);        // (c, 1)
            Tensor z = biasCompute is null ? xc.mm(wT) : torch.addmm(biasCompute, xc, wT, 1, 1);   // (c, vocab) compute dtype
            // One fused kernel reads the (possibly bf16) logits and writes fp32 log-probabilities: softmax and loss in fp32.
            Tensor logProbabilities = z.log_softmax(1, ScalarType.Float32);                        // (c, vocab) fp32
            lossSum.sub_(logProbabilities.gather(1, tc).sum());
            correct?.add_(z.argmax(1).eq(tc.squeeze(1)).sum(), Scalars.One);
            if (!anyGrad)
            {
                continue;
            }
            z.Dispose();
            Tensor g = logProbabilities.exp_();                               // softmax, in place
            g.scatter_add_(1, tc, count == rows ? minusOne : minusOne.narrow(0, 0, count));  // − one-hot
            // The 1/N of the mean is applied once after the loop, on the small results, not per chunk on G.
            dB?.add_(g.sum(0L), Scalars.One);                                              // 0L: a bare 0 binds to sum(ScalarType?)
            Tensor gc = dtype == ScalarType.Float32 ? g : g.to(dtype);
            dX?.narrow(0, start, count).copy_(gc.mm(w));                      // (c, emb)
            if (dW is not null)
            {
                if (dtype == ScalarType.Float32)
                {
                    dW.addmm_(gc.t(), xc, 1, 1);                              // dW += Gᵀ·X in one GEMM pass
                }
                else
                {
                    dW.add_(gc.t().mm(xc), Scalars.One);                                   // bf16 GEMM, fp32 accumulation
                }
            }
        }
    }

    /// <summary>Loss sum and argmax hits of one chunk through <see cref="DecoderSoftmaxKernel"/>: <paramref name="logits"/>
    /// (rows, vocab, contiguous, fp32 or bf16, without bias) become the unscaled gradient softmax − one-hot when
    /// <paramref name="gradient"/>, <paramref name="biasGrad"/> accumulates; targets are read from <paramref name="start"/>.</summary>
    internal static unsafe (double Loss, long Correct) ManagedSoftmax(Tensor logits, Tensor? bias, Tensor targets, long start, Tensor? biasGrad,
        int threads, bool gradient = true)
    {
        float* biasAt = bias is null ? null : Bf16Vector.Pointer<float>(bias);
        long* targetsAt = Bf16Vector.Pointer<long>(targets) + start;
        float* biasGradAt = biasGrad is null ? null : Bf16Vector.Pointer<float>(biasGrad);
        int rows = checked((int)logits.shape[0]), vocab = checked((int)logits.shape[1]);
        return logits.dtype == ScalarType.BFloat16
            ? DecoderSoftmaxKernel.Run<DecoderSoftmaxKernel.Bf16>(Bf16Vector.Pointer<ushort>(logits), biasAt, targetsAt, biasGradAt, rows, vocab, threads, gradient)
            : DecoderSoftmaxKernel.Run<DecoderSoftmaxKernel.Fp32>(Bf16Vector.Pointer<float>(logits), biasAt, targetsAt, biasGradAt, rows, vocab, threads, gradient);
    }
}

/// <summary>
/// Buffers the chunked decoder loss reuses from one call to the next: the (rows × vocab) logits block, the fp32 weight
/// gradient and, in bf16, the block its per-chunk product lands in. Kept alive across training steps they are page-faulted
/// in once; allocated per step, glibc maps every block above 32 MB afresh and the kernel zeroes it again (issue 14).
/// A workspace serves one loss at a time: the weight gradient it hands out is read by that loss's backward pass, so the
/// next <see cref="DecoderCrossEntropy.Compute"/> with it must come after that backward.
/// </summary>
internal sealed class DecoderWorkspace : IDisposable
{
    private Tensor? logits, weightGradient, weightProduct;

    /// <summary>Creates an empty workspace (buffers are made on first use).</summary>
    public DecoderWorkspace()
    {
    }

    /// <summary>A (rows, vocab) block in <paramref name="type"/>, contents undefined.</summary>
    internal Tensor Logits(long rows, long vocab, ScalarType type) => Reuse(ref logits, rows, vocab, type).narrow(0, 0, rows);

    /// <summary>A zeroed (vocab, emb) fp32 tensor.</summary>
    internal Tensor WeightGradient(long vocab, long emb) => Exact(ref weightGradient, vocab, emb, ScalarType.Float32).zero_();

    /// <summary>A (vocab, emb) block in <paramref name="type"/>, contents undefined.</summary>
    internal Tensor WeightProduct(long vocab, long emb, ScalarType type) => Exact(ref weightProduct, vocab, emb, type);

    // At least `rows` rows of `columns` in `type` (a smaller later request reuses the rows it has).
    private static Tensor Reuse(ref Tensor? buffer, long rows, long columns, ScalarType type)
    {
        if (buffer is null || buffer.dtype != type || buffer.shape[1] != columns || buffer.shape[0] < rows)
        {
            buffer?.Dispose();
            buffer = torch.empty(new[] { rows, columns }, dtype: type).DetachFromDisposeScope();
        }
        return buffer;
    }

    private static Tensor Exact(ref Tensor? buffer, long rows, long columns, ScalarType type)
    {
        if (buffer is null || buffer.dtype != type || buffer.shape[0] != rows || buffer.shape[1] != columns)
        {
            buffer?.Dispose();
            buffer = torch.empty(new[] { rows, columns }, dtype: type).DetachFromDisposeScope();
        }
        return buffer;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        logits?.Dispose();
        weightGradient?.Dispose();
        weightProduct?.Dispose();
        logits = weightGradient = weightProduct = null;
    }
}
