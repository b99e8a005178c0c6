using System.Globalization;
using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Native;
using FastText.Engine.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Models;

/// <summary>
/// The tied decoder + softmax cross-entropy, forward and backward, at fastai's LM shape (bs 32 × bptt 72 rows,
/// emb 400, vocab 60008): chunked (the engine's default) against plain autograd, fp32 and bf16. BenchmarkDotNet's
/// memory column only sees managed memory, so each case's process peak RSS (VmHWM) is appended to
/// perf-results/DecoderLossPeakMemory.md at cleanup (each case runs in its own process, same setup).
/// </summary>
public class DecoderLossBenchmarks
{
    private Tensor features = null!;
    private Parameter weight = null!;
    private Parameter bias = null!;
    private Tensor targets = null!;

    /// <summary>Decoder rows × vocabulary.</summary>
    public sealed record DecoderShape(string Name, int Rows, int Embedding, int Vocab) : IWorkload
    {
        /// <inheritdoc />
        public double TokensPerOperation => Rows;

        /// <inheritdoc />
        public double FlopsPerOperation => 3 * 2.0 * Rows * Embedding * Vocab;   // logits, dX, dW

        /// <inheritdoc />
        public double BytesPerOperation => 0;

        /// <inheritdoc />
        public override string ToString() => Name;
    }

    /// <summary>Shapes measured.</summary>
    public static IEnumerable<DecoderShape> Shapes => new[] { new DecoderShape("fastai-lm", 32 * 72, 400, 60008) };

    /// <summary>Shape.</summary>
    [ParamsSource(nameof(Shapes))]
    public DecoderShape Shape { get; set; } = null!;

    /// <summary>Chunked or plain.</summary>
    [Params(DecoderLossMode.Plain, DecoderLossMode.Chunked)]
    public DecoderLossMode Mode { get; set; }

    /// <summary>Matmul dtype.</summary>
    [Params("fp32", "bf16")]
    public string Precision { get; set; } = "fp32";

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Initialize();
        torch.manual_seed(0);
        ScalarType dtype = Precision == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        features = torch.randn(Shape.Rows, Shape.Embedding).to(dtype).requires_grad_(true);
        weight = new Parameter(torch.empty(Shape.Vocab, Shape.Embedding).uniform_(-0.1, 0.1));
        bias = new Parameter(torch.zeros(Shape.Vocab));
        targets = torch.randint(0, Shape.Vocab, new long[] { Shape.Rows }, dtype: ScalarType.Int64);
    }

    /// <summary>Loss forward + backward; returns the loss.</summary>
    [Benchmark]
    public float LossForwardBackward()
    {
        using var scope = torch.NewDisposeScope();
        DecoderLoss loss = DecoderCrossEntropy.Compute(features, weight, bias, targets, Mode, training: true, accuracy: false);
        loss.BackwardLoss.backward();
        features.grad?.zero_();
        weight.grad?.zero_();
        bias.grad?.zero_();
        return loss.Loss.item<float>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        string? root = FindRoot();
        if (root is not null)
        {
            string line = string.Create(CultureInfo.InvariantCulture,
                $"| {DateTime.UtcNow:yyyy-MM-dd HH:mm} | {Shape} | {Mode} | {Precision} | {(long)ProcessMemory.PeakResidentMegabytes()} |\n");
            File.AppendAllText(Path.Combine(root, "perf-results", "DecoderLossPeakMemory.md"), line);
        }
        features.Dispose();
        weight.Dispose();
        bias.Dispose();
        targets.Dispose();
    }

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastText.Engine.sln")))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}
