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
public readonly record struct DecoderLoss(Tensor Loss, Tensor BackwardLoss, Tensor? Correct, long Count);

/// <summary>
/// The tied decoder fused with softmax cross-entropy. A full fp32 (batch·seq × vocab) logits tensor is 2.46 GB at
/// fastbook's bs 128 × 80 × 60008 — and autograd keeps it (and its log-softmax) alive until backward. The chunked form
/// computes, per block of rows, logits → log-softmax (one fused kernel, fp32 output) → loss, and at once the gradient
/// G = softmax − one-hot (in place), from which it accumulates dX = G·W, dW = Gᵀ·X and db = Σ G (scaled by 1/N once at
/// the end). The graph then receives these through a surrogate <c>Σ X∘dX + Σ W∘dW + Σ b∘db</c>, whose gradients are
/// exactly dX, dW, db. Matmuls run in the features' dtype (bf16 in mixed precision); softmax and the loss always in fp32.
/// </summary>
public static class DecoderCrossEntropy
{
    /// <summary>Default memory budget for one chunk's fp32 logits block (bytes).</summary>
    /// <remarks>Each chunk also reads and writes the (vocab × emb) weight gradient once, so very small chunks trade memory for
    /// bandwidth; 128 MB is about 4 chunks at bs 32 × bptt 72 × 60008 (the plain path holds ~4× more).</remarks>
    public const long DefaultChunkBytes = 128L << 20;

    /// <summary>Computes the loss (and, for training, its gradients) of <paramref name="features"/> → vocabulary logits.</summary>
    /// <param name="features">(N, emb) in the compute dtype; part of the autograd graph when training.</param>
    /// <param name="weight">Decoder weight (vocab, emb), fp32 master.</param>
    /// <param name="bias">Decoder bias (vocab) or null.</param>
    /// <param name="targets">(N) int64 class ids.</param>
    /// <param name="mode">Chunked or plain.</param>
    /// <param name="training">Whether gradients are needed.</param>
    /// <param name="accuracy">Whether to count argmax hits.</param>
    /// <param name="chunkBytes">Budget for one fp32 logits block (chunked mode).</param>
    public static DecoderLoss Compute(Tensor features, Parameter weight, Parameter? bias, Tensor targets, DecoderLossMode mode,
        bool training, bool accuracy, long chunkBytes = DefaultChunkBytes)
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
            : Chunked(features, weight, bias, targets, training, accuracy, chunkBytes);
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
            logits = logits + bias;
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

    private static DecoderLoss Chunked(Tensor features, Parameter weight, Parameter? bias, Tensor targets, bool training, bool accuracy, long chunkBytes)
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
        // bf16 training on the CPU: the managed softmax pass (DecoderSoftmaxKernel) replaces the per-chunk torch ops.
        bool managed = anyGrad && !accuracy && dtype == ScalarType.BFloat16 && features.device_type == DeviceType.CPU
            && weight.dtype == ScalarType.Float32 && (bias is null || bias.dtype == ScalarType.Float32);

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
                dW = torch.zeros(vocab, emb, dtype: ScalarType.Float32);
            }
            if (gradB)
            {
                dB = torch.zeros(vocab, dtype: ScalarType.Float32);
            }
            using Tensor minusOne = torch.full(rows, 1, -1.0f);
            using Tensor? biasCompute = bias is null ? null : bias.detach().to(dtype);
            using Tensor? block = managed ? torch.empty(rows, vocab, dtype: dtype) : null;   // reused by every chunk
            using Tensor? biasMaster = managed ? bias?.detach().contiguous() : null;
            using Tensor? targetIds = managed ? targets.to(ScalarType.Int64).contiguous() : null;
            for (long start = 0; start < n; start += rows)
            {
                using var chunkScope = torch.NewDisposeScope();
                long count = Math.Min(rows, n - start);
                Tensor xc = x.narrow(0, start, count);                       // (c, emb)
                if (block is not null)
                {
                    Tensor zc = block.narrow(0, 0, count);
                    zc.addmm_(xc, wT, beta: 0, alpha: 1);                     // (c, vocab) bf16, no bias
                    lossSum.add_(ManagedSoftmax(zc, biasMaster, targetIds!, start, dB, torch.get_num_threads()));
                    if (dX is not null)
                    {
                        dX.narrow(0, start, count).copy_(zc.mm(w));           // zc now holds softmax − one-hot
                    }
                    dW?.add_(zc.t().mm(xc));
                    continue;
                }
                Tensor tc = targets.narrow(0, start, count).unsqueeze(1);    // (c, 1)
                Tensor z = biasCompute is null ? xc.mm(wT) : torch.addmm(biasCompute, xc, wT, 1, 1);   // (c, vocab) compute dtype
                // One fused kernel reads the (possibly bf16) logits and writes fp32 log-probabilities: softmax and loss in fp32.
                Tensor logProbabilities = z.log_softmax(1, ScalarType.Float32);                        // (c, vocab) fp32
                lossSum.sub_(logProbabilities.gather(1, tc).sum());
                if (correct is not null)
                {
                    correct.add_(z.argmax(1).eq(tc.squeeze(1)).sum());
                }
                if (!anyGrad)
                {
                    continue;
                }
                z.Dispose();
                Tensor g = logProbabilities.exp_();                           // softmax, in place
                g.scatter_add_(1, tc, count == rows ? minusOne : minusOne.narrow(0, 0, count));  // − one-hot
                // The 1/N of the mean is applied once after the loop, on the small results, not per chunk on G.
                if (dB is not null)
                {
                    dB.add_(g.sum(0L));                                       // 0L: a bare 0 binds to sum(ScalarType?)
                }
                Tensor gc = dtype == ScalarType.Float32 ? g : g.to(dtype);
                if (dX is not null)
                {
                    dX.narrow(0, start, count).copy_(gc.mm(w));               // (c, emb)
                }
                if (dW is not null)
                {
                    if (dtype == ScalarType.Float32)
                    {
                        dW.addmm_(gc.t(), xc, 1, 1);                          // dW += Gᵀ·X in one GEMM pass
                    }
                    else
                    {
                        dW.add_(gc.t().mm(xc));                               // bf16 GEMM, fp32 accumulation
                    }
                }
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
                backward = backward + (features * dX).sum().to(ScalarType.Float32);
            }
            if (dW is not null)
            {
                backward = backward + (weight * dW).sum();
            }
            if (dB is not null)
            {
                backward = backward + (bias! * dB).sum();
            }
        }
        return new DecoderLoss(loss, backward, correct?.squeeze(), n);
    }

    /// <summary>Loss sum of one bf16 chunk through <see cref="DecoderSoftmaxKernel"/>: <paramref name="logits"/> (rows,
    /// vocab, contiguous, without bias) become the unscaled gradient softmax − one-hot, <paramref name="biasGrad"/>
    /// accumulates; targets are read from <paramref name="start"/>.</summary>
    internal static unsafe double ManagedSoftmax(Tensor logits, Tensor? bias, Tensor targets, long start, Tensor? biasGrad, int threads) =>
        DecoderSoftmaxKernel.Run(Bf16Vector.Pointer<ushort>(logits), bias is null ? null : Bf16Vector.Pointer<float>(bias),
            Bf16Vector.Pointer<long>(targets) + start, biasGrad is null ? null : Bf16Vector.Pointer<float>(biasGrad),
            checked((int)logits.shape[0]), checked((int)logits.shape[1]), threads);
}
