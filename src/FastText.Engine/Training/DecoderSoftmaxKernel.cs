using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;
using FastText.Engine.Models;
using static FastText.Engine.Models.Bf16Vector;

namespace FastText.Engine.Training;

/// <summary>
/// The softmax cross-entropy of a chunk of decoder logits (bf16 or fp32), its gradient and its argmax hits, in one
/// managed pass per row over raw memory (CPU, <see cref="DecoderCrossEntropy"/>'s chunked mode).
/// </summary>
/// <remarks>
/// Why: with torch ops the (rows × vocab) block goes through log_softmax (bf16 → fp32), exp, scatter, a column sum and a
/// cast back to bf16 — five passes over a block of tens of MB, each a fresh allocation — which at small models cost about
/// as much as the decoder's three bf16 GEMMs. Here each row is read once into an fp32 row buffer (logits + fp32 bias, in
/// cache), then its exponentials and their sum, and the gradient softmax − one-hot is written back over the logits in
/// their own dtype (the dX and dW GEMMs' input) while the fp32 bias gradient accumulates. Everything is fp32 but a bf16
/// stored gradient, as in the torch-op path. In fp32 the same pass replaces log_softmax, exp and scatter over a fresh
/// (rows × vocab) fp32 block each — at 2,240 × 20k that is 180 MB, which glibc maps and the kernel page-faults and
/// zeroes anew for every chunk (issue 14: a quarter of each fp32 step was system time).
/// </remarks>
internal static unsafe class DecoderSoftmaxKernel
{
    // Below this many rows per worker the split costs more than it saves.
    private const int MinRowsPerWorker = 64;

    /// <summary>How a logits element is read and written.</summary>
    internal interface IElement
    {
        /// <summary>n elements from <paramref name="at"/> + <paramref name="index"/> as fp32.</summary>
        static abstract Vector256<float> Load(void* at, long index, int n);

        /// <summary>Stores n fp32 values at <paramref name="at"/> + <paramref name="index"/> in the element's dtype.</summary>
        static abstract void Store(void* at, long index, Vector256<float> values, int n);
    }

    /// <summary>bf16 logits (rounded to nearest even when written).</summary>
    internal readonly struct Bf16 : IElement
    {
        public static Vector256<float> Load(void* at, long index, int n) => LoadBf16((ushort*)at + index, n);

        public static void Store(void* at, long index, Vector256<float> values, int n) => Bf16Vector.Store((ushort*)at + index, ToBf16(values), n);
    }

    /// <summary>fp32 logits.</summary>
    internal readonly struct Fp32 : IElement
    {
        public static Vector256<float> Load(void* at, long index, int n) => Bf16Vector.Load((float*)at + index, n);

        public static void Store(void* at, long index, Vector256<float> values, int n) => Bf16Vector.Store((float*)at + index, values, n);
    }

    /// <summary>Processes <paramref name="rows"/> rows of <paramref name="vocab"/> logits.</summary>
    /// <typeparam name="T">The logits' element type (<see cref="Bf16"/> or <see cref="Fp32"/>).</typeparam>
    /// <param name="logits">(rows, vocab) x·Wᵀ without bias; with <paramref name="gradient"/>, overwritten with
    /// softmax − one-hot in the same dtype.</param>
    /// <param name="bias">(vocab) fp32 decoder bias, or null.</param>
    /// <param name="targets">(rows) class ids.</param>
    /// <param name="biasGrad">(vocab) fp32, accumulated: Σ rows of (softmax − one-hot), or null.</param>
    /// <param name="rows">Rows in the chunk.</param>
    /// <param name="vocab">Classes per row.</param>
    /// <param name="threads">Most threads to use (the torch intra-op count): rows are split in blocks, each with its own
    /// bias-gradient partial, summed at the end.</param>
    /// <param name="gradient">Whether to write the gradient (training) or only score the rows (validation).</param>
    /// <returns>The sum over rows of −log softmax(target), and how many rows have the target as their first argmax
    /// (torch's <c>argmax</c> on ties).</returns>
    public static (double Loss, long Correct) Run<T>(void* logits, float* bias, long* targets, float* biasGrad, int rows, int vocab,
        int threads, bool gradient) where T : struct, IElement
    {
        int workers = Math.Clamp(rows / MinRowsPerWorker, 1, Math.Max(1, threads));
        if (workers == 1)
        {
            return Rows<T>(logits, bias, targets, biasGrad, 0, rows, vocab, gradient);
        }
        var results = new (double Loss, long Correct)[workers];
        float[][] partials = new float[workers][];
        nint logitsAt = (nint)logits, biasAt = (nint)bias, targetsAt = (nint)targets;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            int first = (int)((long)rows * w / workers), last = (int)((long)rows * (w + 1) / workers);
            partials[w] = biasGrad == null ? Array.Empty<float>() : new float[vocab];
            fixed (float* partial = partials[w])
            {
                results[w] = Rows<T>((void*)logitsAt, (float*)biasAt, (long*)targetsAt, biasGrad == null ? null : partial, first, last, vocab, gradient);
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
        return (results.Sum(r => r.Loss), results.Sum(r => r.Correct));
    }

    private static (double Loss, long Correct) Rows<T>(void* logits, float* bias, long* targets, float* biasGrad, int first, int last,
        int vocab, bool gradient) where T : struct, IElement
    {
        float[] buffer = ArrayPool<float>.Shared.Rent(vocab + Lanes);
        double loss = 0;
        long correct = 0;
        try
        {
            fixed (float* row = buffer)
            {
                for (int r = first; r < last; r++)
                {
                    var (rowLoss, hit) = Row<T>(logits, (long)r * vocab, bias, (int)targets[r], gradient ? biasGrad : null, row, vocab, gradient);
                    loss += rowLoss;
                    correct += hit ? 1 : 0;
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
        return (loss, correct);
    }

    private static (double Loss, bool Hit) Row<T>(void* logits, long offset, float* bias, int target, float* biasGrad, float* row,
        int vocab, bool gradient) where T : struct, IElement
    {
        if ((uint)target >= (uint)vocab)
        {
            throw new ArgumentOutOfRangeException(nameof(target), $"Target {target} is outside the vocabulary of {vocab}.");
        }
        // Whole vectors in the loops (two accumulators each, to overlap their latency); the last vocab % 8 entries on
        // their own with masked lanes.
        int full = vocab - vocab % Lanes;
        int tail = vocab - full;
        // Pass 1: fp32 logits (+ bias) into the row buffer, and their maximum.
        Vector256<float> max0 = Vector256.Create(float.NegativeInfinity), max1 = max0;
        int j = 0;
        for (; j + 2 * Lanes <= full; j += 2 * Lanes)
        {
            Vector256<float> z0 = T.Load(logits, offset + j, Lanes), z1 = T.Load(logits, offset + j + Lanes, Lanes);
            if (bias != null)
            {
                z0 += Vector256.Load(bias + j);
                z1 += Vector256.Load(bias + j + Lanes);
            }
            z0.Store(row + j);
            z1.Store(row + j + Lanes);
            max0 = Vector256.Max(max0, z0);
            max1 = Vector256.Max(max1, z1);
        }
        for (; j < full; j += Lanes)
        {
            Vector256<float> z = T.Load(logits, offset + j, Lanes);
            if (bias != null)
            {
                z += Vector256.Load(bias + j);
            }
            z.Store(row + j);
            max0 = Vector256.Max(max0, z);
        }
        if (tail > 0)
        {
            Vector256<float> z = T.Load(logits, offset + full, tail);
            if (bias != null)
            {
                z += Load(bias + full, tail);
            }
            Store(row + full, z, tail);
            max1 = Vector256.Max(max1, Vector256.ConditionalSelect(Tail(tail), z, Vector256.Create(float.NegativeInfinity)));
        }
        float m = HorizontalMax(Vector256.Max(max0, max1));
        float targetLogit = row[target];
        bool hit = targetLogit == m && FirstIndexOf(row, m, target) == target;
        // Pass 2: exponentials (kept in the buffer) and their sum; the tail's padded lanes are masked out.
        Vector256<float> shift = Vector256.Create(m);
        Vector256<float> sum0 = Vector256<float>.Zero, sum1 = sum0;
        for (j = 0; j + 2 * Lanes <= full; j += 2 * Lanes)
        {
            Vector256<float> e0 = Exp(Vector256.Load(row + j) - shift), e1 = Exp(Vector256.Load(row + j + Lanes) - shift);
            e0.Store(row + j);
            e1.Store(row + j + Lanes);
            sum0 += e0;
            sum1 += e1;
        }
        for (; j < full; j += Lanes)
        {
            Vector256<float> e = Exp(Vector256.Load(row + j) - shift);
            e.Store(row + j);
            sum0 += e;
        }
        if (tail > 0)
        {
            Vector256<float> e = Exp(Load(row + full, tail) - shift);
            Store(row + full, e, tail);
            sum1 += e & Tail(tail);
        }
        float total = Vector256.Sum(sum0 + sum1);
        double loss = m + Math.Log(total) - targetLogit;
        if (!gradient)
        {
            return (loss, hit);
        }
        // Pass 3: the gradient softmax − one-hot over the logits, in their dtype; fp32 into the bias gradient.
        Vector256<float> scale = Vector256.Create(1f / total);
        row[target] -= total;                                       // e_t/total − 1 = (e_t − total)/total
        for (j = 0; j < full; j += Lanes)
        {
            Vector256<float> g = Vector256.Load(row + j) * scale;
            T.Store(logits, offset + j, g, Lanes);
            if (biasGrad != null)
            {
                (Vector256.Load(biasGrad + j) + g).Store(biasGrad + j);
            }
        }
        if (tail > 0)
        {
            Vector256<float> g = Load(row + full, tail) * scale;
            T.Store(logits, offset + full, g, tail);
            if (biasGrad != null)
            {
                Store(biasGrad + full, Load(biasGrad + full, tail) + g, tail);
            }
        }
        return (loss, hit);
    }

    private static float HorizontalMax(Vector256<float> v)
    {
        Vector128<float> half = Vector128.Max(v.GetLower(), v.GetUpper());
        float m = half.GetElement(0);
        for (int k = 1; k < Vector128<float>.Count; k++)
        {
            m = MathF.Max(m, half.GetElement(k));
        }
        return m;
    }

    // The first index below `limit` holding `value` (the maximum), else `limit`: argmax's tie rule.
    private static int FirstIndexOf(float* row, float value, int limit)
    {
        Vector256<float> wanted = Vector256.Create(value);
        for (int j = 0; j < limit; j += Lanes)
        {
            uint equal = Vector256.Equals(Load(row + j, Math.Min(Lanes, limit - j)), wanted).ExtractMostSignificantBits();
            if (equal != 0)
            {
                return Math.Min(limit, j + BitOperations.TrailingZeroCount(equal));
            }
        }
        return limit;
    }

    // All-ones in the first n lanes.
    private static Vector256<float> Tail(int n) =>
        Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n)).AsSingle();
}
