using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Models;

/// <summary>Square fp32 (and bf16) matrix multiply: the machine's achievable GFLOP/s, the yardstick for model benchmarks.</summary>
public class MatmulPeakBenchmarks
{
    private Tensor a = null!;
    private Tensor b = null!;
    private Tensor a16 = null!;
    private Tensor b16 = null!;

    /// <summary>Matrix size.</summary>
    public sealed record Size(int N) : IWorkload
    {
        /// <inheritdoc />
        public double TokensPerOperation => 0;

        /// <inheritdoc />
        public double FlopsPerOperation => 2.0 * N * N * N;

        /// <inheritdoc />
        public double BytesPerOperation => 0;

        /// <inheritdoc />
        public override string ToString() => $"{N}^3";
    }

    /// <summary>Sizes measured.</summary>
    public static IEnumerable<Size> Sizes => new[] { new Size(1024) };

    /// <summary>The size of this case.</summary>
    [ParamsSource(nameof(Sizes))]
    public Size Shape { get; set; } = new(1024);

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Initialize();
        torch.manual_seed(0);
        a = torch.randn(Shape.N, Shape.N);
        b = torch.randn(Shape.N, Shape.N);
        a16 = a.to(ScalarType.BFloat16);
        b16 = b.to(ScalarType.BFloat16);
    }

    [Benchmark(Baseline = true)]
    public float MatmulFp32()
    {
        using var c = a.mm(b);
        return c[0, 0].item<float>();
    }

    [Benchmark]
    public float MatmulBf16()
    {
        using var c = a16.mm(b16);
        using var first = c[0, 0].to(ScalarType.Float32);
        return first.item<float>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        a.Dispose();
        b.Dispose();
        a16.Dispose();
        b16.Dispose();
    }
}
