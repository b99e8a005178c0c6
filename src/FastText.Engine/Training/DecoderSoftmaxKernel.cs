using System.Buffers;
using System.Runtime.Intrinsics;
using static FastText.Engine.Models.Bf16Vector;

namespace FastText.Engine.Training;

/// <summary>
/// The softmax cross-entropy of a chunk of bf16 decoder logits and its gradient, in one managed pass per row over raw
/// memory (CPU, <see cref="DecoderCrossEntropy"/>'s chunked mode in bf16 training).
/// </summary>
/// <remarks>
/// Why: with torch ops the (rows × vocab) block goes through log_softmax (bf16 → fp32), exp, scatter, a column sum and a
/// cast back to bf16 — five passes over a block of tens of MB, each a fresh allocation — which at small models cost about
/// as much as the decoder's three bf16 GEMMs. Here each row is read once into an fp32 row buffer (logits + fp32 bias, in
/// cache), then its exponentials and their sum, and the gradient softmax − one-hot is written back over the logits in
/// bf16 (the dX and dW GEMMs' input) while the fp32 bias gradient accumulates. Everything is fp32 but the stored
/// gradient, as in the torch-op path.
/// </remarks>
internal static unsafe class DecoderSoftmaxKernel
{
    // Below this many rows per worker the split costs more than it saves.
    private const int MinRowsPerWorker = 64;

    /// <summary>Processes <paramref name="rows"/> rows of <paramref name="vocab"/> logits.</summary>
    /// <param name="logits">(rows, vocab) bf16 x·Wᵀ without bias; overwritten with softmax − one-hot in bf16.</param>
    /// <param name="bias">(vocab) fp32 decoder bias, or null.</param>
    /// <param name="targets">(rows) class ids.</param>
    /// <param name="biasGrad">(vocab) fp32, accumulated: Σ rows of (softmax − one-hot), or null.</param>
    /// <param name="rows">Rows in the chunk.</param>
    /// <param name="vocab">Classes per row.</param>
    /// <param name="threads">Most threads to use (the torch intra-op count): rows are split in blocks, each with its own
    /// bias-gradient partial, summed at the end.</param>
    /// <returns>The sum over rows of −log softmax(target).</returns>
    public static double Run(ushort* logits, float* bias, long* targets, float* biasGrad, int rows, int vocab, int threads)
    {
        int workers = Math.Clamp(rows / MinRowsPerWorker, 1, Math.Max(1, threads));
        if (workers == 1)
        {
            return Rows(logits, bias, targets, biasGrad, 0, rows, vocab);
        }
        double[] losses = new double[workers];
        float[][] partials = new float[workers][];
        nint logitsAt = (nint)logits, biasAt = (nint)bias, targetsAt = (nint)targets;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            int first = (int)((long)rows * w / workers), last = (int)((long)rows * (w + 1) / workers);
            partials[w] = biasGrad == null ? Array.Empty<float>() : new float[vocab];
            fixed (float* partial = partials[w])
            {
                losses[w] = Rows((ushort*)logitsAt, (float*)biasAt, (long*)targetsAt, biasGrad == null ? null : partial, first, last, vocab);
            }
        });
        if (biasGrad != null)
        {
            foreach (float[] partial in partials)
            {
                fixed (float* p = partial)
                {
                    for (int j = 0; j < vocab; j += Lanes)
                    {
                        int n = Math.Min(Lanes, vocab - j);
                        Store(biasGrad + j, Load(biasGrad + j, n) + Load(p + j, n), n);
                    }
                }
            }
        }
        return losses.Sum();
    }

    private static double Rows(ushort* logits, float* bias, long* targets, float* biasGrad, int first, int last, int vocab)
    {
        float[] buffer = ArrayPool<float>.Shared.Rent(vocab + Lanes);
        double loss = 0;
        try
        {
            fixed (float* row = buffer)
            {
                for (int r = first; r < last; r++)
                {
                    loss += Row(logits + (long)r * vocab, bias, (int)targets[r], biasGrad, row, vocab);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
        return loss;
    }

    private static double Row(ushort* logits, float* bias, int target, float* biasGrad, float* row, int vocab)
    {
        if ((uint)target >= (uint)vocab)
        {
            throw new ArgumentOutOfRangeException(nameof(target), $"Target {target} is outside the vocabulary of {vocab}.");
        }
        // Pass 1: fp32 logits into the row buffer and their maximum. A partial last vector is padded with −∞ for the max.
        Vector256<float> max = Vector256.Create(float.NegativeInfinity);
        for (int j = 0; j < vocab; j += Lanes)
        {
            int n = Math.Min(Lanes, vocab - j);
            Vector256<float> z = LoadBf16(logits + j, n);
            if (bias != null)
            {
                z += Load(bias + j, n);
            }
            Store(row + j, z, n);
            max = Vector256.Max(max, n == Lanes ? z : Vector256.ConditionalSelect(Tail(n), z, Vector256.Create(float.NegativeInfinity)));
        }
        float m = float.NegativeInfinity;
        for (int k = 0; k < Lanes; k++)
        {
            m = MathF.Max(m, max.GetElement(k));
        }
        float targetLogit = row[target];
        // Pass 2: exponentials (kept in the buffer) and their sum; padded lanes are masked out of the sum.
        Vector256<float> sum = Vector256<float>.Zero;
        Vector256<float> shift = Vector256.Create(m);
        for (int j = 0; j < vocab; j += Lanes)
        {
            int n = Math.Min(Lanes, vocab - j);
            Vector256<float> e = Vector256.Exp(Load(row + j, n) - shift);
            Store(row + j, e, n);
            sum += n == Lanes ? e : e & Tail(n);
        }
        float total = Vector256.Sum(sum);
        // Pass 3: the gradient softmax − one-hot, bf16 over the logits; fp32 into the bias gradient.
        Vector256<float> scale = Vector256.Create(1f / total);
        row[target] -= total;                                       // e_t/total − 1 = (e_t − total)/total
        for (int j = 0; j < vocab; j += Lanes)
        {
            int n = Math.Min(Lanes, vocab - j);
            Vector256<float> g = Load(row + j, n) * scale;
            Store(logits + j, ToBf16(g), n);
            if (biasGrad != null)
            {
                Store(biasGrad + j, Load(biasGrad + j, n) + g, n);
            }
        }
        return m + Math.Log(total) - targetLogit;
    }

    // All-ones in the first n lanes.
    private static Vector256<float> Tail(int n) =>
        Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n)).AsSingle();

}
