using System.Globalization;
using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>
/// fp32 matrix products through oneDNN's 1×1-convolution kernels instead of libtorch's MKL GEMM, on the CPU.
/// </summary>
/// <remarks>
/// <para>Why: libtorch's fp32 <c>mm</c> is MKL, which on AMD CPUs runs its AVX2 code even where AVX-512 is there; oneDNN
/// chooses its kernels by the CPU's features. Measured on an AMD Zen 5 (2 threads, the decoder's shapes at the 128/384
/// peer shape, vocabulary 20k): logits x·Wᵀ 429 vs 160 GFLOP/s, dX = G·W 399 vs 194, dWᵀ = Xᵀ·G 281 vs 189; 1 thread
/// 221 vs 94 (native-notes/allocator.md has the table). A 1×1 convolution over one image of M pixels and K channels with
/// N filters is exactly an (M × K)·(K × N) product: <see cref="RowsTimesTransposed"/> reads the rows as pixels in
/// channels-last layout (no copy), <see cref="Product"/> reads the right factor as a K-channel image (no copy).</para>
/// <para>oneDNN kernels are checked like the LSTM's: before a shape's first product, one of 7 rows is compared with a
/// float64 product; a kernel off by more than 1e-5 (relative to the largest entry) is not used for that shape, MKL is,
/// and the engine says so once (<see cref="TorchRuntime.Notices"/>).</para>
/// </remarks>
internal static class OneDnnGemm
{
    private const string Script = """
        def conv1x1(image: Tensor, filters: Tensor) -> Tensor:
            return torch.mkldnn_convolution(image, filters, None, [0, 0], [1, 1], [1, 1], 1)

        """;

    private const double Tolerance = 1e-5;
    private static readonly Lazy<jit.CompilationUnit> Compiled = new(() => jit.compile(Script));
    private static readonly object Gate = new();
    private static readonly Dictionary<(bool Transposed, long K, long N, int Threads), bool> Verified = new();

    /// <summary>Whether the oneDNN path applies: fp32 contiguous CPU operands.</summary>
    public static bool Applies(Tensor a, Tensor b) =>
        a.device_type == DeviceType.CPU && b.device_type == DeviceType.CPU && a.dtype == ScalarType.Float32
        && b.dtype == ScalarType.Float32 && a.is_contiguous() && b.is_contiguous();

    /// <summary>rows (M, K) · wᵀ for w (N, K): (M, N), contiguous. Both inputs contiguous fp32 on the CPU.</summary>
    public static Tensor RowsTimesTransposed(Tensor rows, Tensor w)
    {
        long m = rows.shape[0], k = rows.shape[1], n = w.shape[0];
        if (!IsRight(transposed: true, k, n))
        {
            return rows.mm(w.t());
        }
        using Tensor image = rows.view(1, m, 1, k).permute(0, 3, 1, 2);           // (1, K, M, 1), channels-last
        using Tensor filters = w.view(n, k, 1, 1);
        using Tensor output = Compiled.Value.invoke<Tensor>("conv1x1", image, filters);   // (1, N, M, 1), channels-last
        using Tensor pixelsFirst = output.permute(0, 2, 3, 1);                    // (1, M, 1, N): contiguous unless
        return pixelsFirst.reshape(m, n);                                         // a size-1 dim hid the layout (then a copy)
    }

    /// <summary>a (M, K) · b (K, N): (M, N), contiguous. Both inputs contiguous fp32 on the CPU.</summary>
    public static Tensor Product(Tensor a, Tensor b)
    {
        long m = a.shape[0], k = a.shape[1], n = b.shape[1];
        if (!IsRight(transposed: false, k, n))
        {
            return a.mm(b);
        }
        using Tensor image = b.view(1, k, n, 1);                                  // K channels of N pixels
        using Tensor filters = a.view(m, k, 1, 1);
        using Tensor output = Compiled.Value.invoke<Tensor>("conv1x1", image, filters);   // (1, M, N, 1)
        return output.reshape(m, n);
    }

    /// <summary>
    /// Whether oneDNN's kernel for this product is right on this CPU (<see cref="RowsTimesTransposed"/> when
    /// <paramref name="transposed"/>, else <see cref="Product"/>, of inner size <paramref name="k"/> and <paramref name="n"/>
    /// columns): checked once per shape and thread count, on 7 rows against float64. A caller with a buffer of its own
    /// asks first and, where it is not, runs MKL into that buffer instead of taking the fresh tensor the fallback
    /// inside <see cref="RowsTimesTransposed"/> and <see cref="Product"/> returns.
    /// </summary>
    public static bool IsRight(bool transposed, long k, long n)
    {
        var key = (transposed, k, n, torch.get_num_threads());
        lock (Gate)
        {
            if (Verified.TryGetValue(key, out bool right))
            {
                return right;
            }
            double error = Measure(transposed, k, n);
            right = error <= Tolerance;
            Verified[key] = right;
            if (!right)
            {
                TorchRuntime.Notices.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"FastText.Engine: on this CPU oneDNN's fp32 1×1-convolution product is off by {error:G3} (relative) against float64 at K = {k}, N = {n}; using libtorch's MKL GEMM for it."));
            }
            return right;
        }
    }

    private static double Measure(bool transposed, long k, long n)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        const long m = 7;
        // Weyl-sequence values in [−1, 1): deterministic, and torch's generator is never touched.
        // Explicit Scalars: an implicit one is the GC's to free mid-call (Native/Scalars.cs).
        using Scalar golden = 0.6180339887498949, two = 2;
        Tensor Values(long rows, long columns, double offset)
        {
            using Scalar start = offset;
            return torch.arange(rows * columns, dtype: ScalarType.Float64).mul_(golden).add_(start, Scalars.One).frac_().mul_(two).sub_(Scalars.One)
                .view(rows, columns).to(ScalarType.Float32);
        }
        Tensor left = Values(m, k, 0.1);
        Tensor actual, expected;
        if (transposed)
        {
            Tensor w = Values(n, k, 0.3);
            actual = RowsTimesTransposedUnchecked(left, w);
            expected = left.to(ScalarType.Float64).mm(w.to(ScalarType.Float64).t());
        }
        else
        {
            Tensor b = Values(k, n, 0.3);
            actual = ProductUnchecked(left, b);
            expected = left.to(ScalarType.Float64).mm(b.to(ScalarType.Float64));
        }
        double scale = Math.Max(1e-30, expected.abs().max().item<double>());
        double error = actual.to(ScalarType.Float64).sub_(expected).abs_().max().item<double>() / scale;
        return double.IsNaN(error) ? double.PositiveInfinity : error;
    }

    private static Tensor RowsTimesTransposedUnchecked(Tensor rows, Tensor w) =>
        Compiled.Value.invoke<Tensor>("conv1x1", rows.view(1, rows.shape[0], 1, rows.shape[1]).permute(0, 3, 1, 2),
            w.view(w.shape[0], w.shape[1], 1, 1)).permute(0, 2, 3, 1).reshape(rows.shape[0], w.shape[0]);

    private static Tensor ProductUnchecked(Tensor a, Tensor b) =>
        Compiled.Value.invoke<Tensor>("conv1x1", b.view(1, b.shape[0], b.shape[1], 1), a.view(a.shape[0], a.shape[1], 1, 1))
            .view(a.shape[0], b.shape[1]);
}
