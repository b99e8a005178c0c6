using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Models;

/// <summary>
/// The baseline every model benchmark is compared with: one language-model training step built from bare TorchSharp
/// pieces (nn.Embedding → nn.LSTM per layer → nn.Linear decoder → cross-entropy → Adam), no regularisation,
/// hidden state carried (detached) between steps. Includes the fp32 matmul peak of the same run for the GFLOP/s share.
/// </summary>
public class BareLstmBaselineBenchmarks
{
    private Embedding embedding = null!;
    private LSTM[] layers = null!;
    private Linear decoder = null!;
    private optim.Optimizer optimizer = null!;
    private (Tensor H, Tensor C)[] state = null!;
    private Tensor inputs = null!;
    private Tensor targets = null!;
    private readonly MatmulPeakBenchmarks peak = new();

    /// <summary>The model and batch shape.</summary>
    [ParamsSource(nameof(Shapes))]
    public LmShape Shape { get; set; } = LmShape.Small;

    /// <summary>Shapes measured.</summary>
    public static IEnumerable<LmShape> Shapes => LmShape.All;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Initialize();
        torch.manual_seed(0);
        embedding = nn.Embedding(Shape.Vocab, Shape.Embedding);
        layers = Enumerable.Range(0, Shape.Layers)
            .Select(l => nn.LSTM(Shape.InputSize(l), Shape.HiddenSize(l), batchFirst: true))
            .ToArray();
        decoder = nn.Linear(Shape.Embedding, Shape.Vocab);
        var parameters = embedding.parameters()
            .Concat(layers.SelectMany(l => l.parameters()))
            .Concat(decoder.parameters());
        optimizer = optim.AdamW(parameters, lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-5, weight_decay: 0.01);
        state = Enumerable.Range(0, Shape.Layers)
            .Select(l => (torch.zeros(1, Shape.Batch, Shape.HiddenSize(l)), torch.zeros(1, Shape.Batch, Shape.HiddenSize(l))))
            .ToArray();
        inputs = torch.randint(0, Shape.Vocab, new long[] { Shape.Batch, Shape.Bptt }, dtype: ScalarType.Int64);
        targets = torch.randint(0, Shape.Vocab, new long[] { Shape.Batch, Shape.Bptt }, dtype: ScalarType.Int64);
        peak.Shape = new MatmulPeakBenchmarks.Size(1024);
        peak.Setup();
    }

    /// <summary>One training step; returns the loss.</summary>
    [Benchmark]
    public float LstmLanguageModelStep()
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        Tensor x = embedding.call(inputs);                      // (batch, bptt, emb)
        for (int l = 0; l < layers.Length; l++)
        {
            var (output, h, c) = layers[l].call(x, state[l]);   // (batch, bptt, hidden_l)
            state[l].H.Dispose();
            state[l].C.Dispose();
            state[l] = (h.detach().DetachFromDisposeScope(), c.detach().DetachFromDisposeScope());
            x = output;
        }
        Tensor logits = decoder.call(x);                        // (batch, bptt, vocab)
        Tensor loss = nn.functional.cross_entropy(logits.view(-1, Shape.Vocab), targets.view(-1));
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }

    /// <summary>The same run's fp32 matmul peak (1024³), so "% of mm peak" compares like with like.</summary>
    [Benchmark]
    [FixedWorkload(FlopsPerOperation = 2.0 * 1024 * 1024 * 1024)]
    public float MatmulFp32() => peak.MatmulFp32();

    [GlobalCleanup]
    public void Cleanup()
    {
        peak.Cleanup();
        optimizer.Dispose();
        embedding.Dispose();
        foreach (LSTM layer in layers)
        {
            layer.Dispose();
        }
        decoder.Dispose();
        foreach (var (h, c) in state)
        {
            h.Dispose();
            c.Dispose();
        }
        inputs.Dispose();
        targets.Dispose();
    }
}
