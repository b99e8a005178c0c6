using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Models;

/// <summary>
/// The baseline every model benchmark is compared with: one language-model training step built from bare TorchSharp
/// pieces (nn.Embedding → nn.LSTM per layer → nn.Linear decoder → cross-entropy → Adam), no regularisation,
/// hidden state carried (detached) between steps. Includes the fp32 matmul peak of the same run for the GFLOP/s share.
/// Side by side, in the same run and at the same shapes: the engine's AWD-LSTM training step with every regulariser
/// (embedding, input, hidden, weight and output dropout, AR/TAR, tied decoder, chunked decoder loss, fastai Adam through
/// the <see cref="Learner{TBatch}"/>'s own step) in fp32 and in bf16.
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
    private AwdLstmLanguageModel awdFp32 = null!;
    private AwdLstmLanguageModel awdBf16 = null!;
    private AwdLstmLanguageModel awdBf16Decoder = null!;
    private Learner<LanguageModelBatch> learnerBf16Decoder = null!;
    private Learner<LanguageModelBatch> learnerFp32 = null!;
    private Learner<LanguageModelBatch> learnerBf16 = null!;
    private LanguageModelBatch batch = null!;

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

        var config = new AwdLstmConfig(EmbeddingSize: Shape.Embedding, HiddenSize: Shape.Hidden, Layers: Shape.Layers); // fastai LM dropouts
        awdFp32 = new AwdLstmLanguageModel(Shape.Vocab, config);
        awdBf16 = new AwdLstmLanguageModel(Shape.Vocab, config) { Precision = ComputePrecision.BFloat16 };
        batch = new LanguageModelBatch(inputs.clone(), targets.clone(), Shape.Bptt);
        learnerFp32 = new Learner<LanguageModelBatch>(new LanguageModelTask(awdFp32), new NoBatches());
        learnerBf16 = new Learner<LanguageModelBatch>(new LanguageModelTask(awdBf16), new NoBatches());
        awdBf16Decoder = new AwdLstmLanguageModel(Shape.Vocab, config) { Precision = ComputePrecision.BFloat16Decoder };
        learnerBf16Decoder = new Learner<LanguageModelBatch>(new LanguageModelTask(awdBf16Decoder), new NoBatches());
    }

    /// <summary>One training step; returns the loss.</summary>
    [Benchmark(Baseline = true)]
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

    /// <summary>The AWD-LSTM step with all regularisation, fp32 (target: ≥ 95% of the bare step's tokens/s).</summary>
    [Benchmark]
    public double AwdLstmStepFp32() => learnerFp32.StepOnce(batch, 1e-3, 0.8);

    /// <summary>The same step in bf16 (fp32 master weights, loss, softmax, AR/TAR); target ≥ 1.7× the fp32 step.</summary>
    [Benchmark]
    public double AwdLstmStepBf16() => learnerBf16.StepOnce(batch, 1e-3, 0.8);

    /// <summary>The same step with fp32 LSTMs and a bf16 decoder (libtorch's bf16 LSTM backward is slow at hidden 1152).</summary>
    [Benchmark]
    public double AwdLstmStepBf16Decoder() => learnerBf16Decoder.StepOnce(batch, 1e-3, 0.8);

    /// <summary>The same run's fp32 matmul peak (1024³), so "% of mm peak" compares like with like.</summary>
    [Benchmark]
    [FixedWorkload(FlopsPerOperation = 2.0 * 1024 * 1024 * 1024)]
    public float MatmulFp32() => peak.MatmulFp32();

    [GlobalCleanup]
    public void Cleanup()
    {
        learnerFp32.Dispose();
        learnerBf16.Dispose();
        learnerBf16Decoder.Dispose();
        awdBf16Decoder.Dispose();
        awdFp32.Dispose();
        awdBf16.Dispose();
        batch.Dispose();
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

/// <summary>The benchmarks drive single steps; the learner only needs a source to exist.</summary>
internal sealed class NoBatches : IBatchSource<LanguageModelBatch>
{
    public int BatchCount => 1;

    public IEnumerable<LanguageModelBatch> Epoch(int epoch, CancellationToken cancellation = default) => Array.Empty<LanguageModelBatch>();
}
