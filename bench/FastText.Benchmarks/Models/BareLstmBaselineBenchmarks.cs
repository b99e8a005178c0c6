using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Models;

/// <summary>
/// The baseline every model benchmark is compared with: one language-model training step of <see cref="BareLstmLanguageModel"/>
/// (nn.Embedding → nn.LSTM per layer → nn.Linear decoder → cross-entropy → Adam, no regularisation), untied and tied. Includes the fp32 matmul peak of the same run for the GFLOP/s share.
/// Side by side, in the same run and at the same shapes: the engine's AWD-LSTM training step with every regulariser
/// (embedding, input, hidden, weight and output dropout, AR/TAR, tied decoder, chunked decoder loss, fastai Adam through
/// the <see cref="Learner{TBatch}"/>'s own step) in fp32 and in bf16.
/// </summary>
public class BareLstmBaselineBenchmarks
{
    private BareLstmLanguageModel bare = null!;
    private BareLstmLanguageModel bareTied = null!;
    private Tensor inputs = null!;
    private Tensor targets = null!;
    private readonly MatmulPeakBenchmarks peak = new();
    private AwdLstmLanguageModel awdFp32 = null!;
    private AwdLstmLanguageModel awdBf16 = null!;
    private AwdLstmLanguageModel awdBf16Decoder = null!;
    private Learner<LanguageModelBatch> learnerBf16Decoder = null!;
    private Learner<LanguageModelBatch> learnerFp32 = null!;
    private Learner<LanguageModelBatch> learnerBf16 = null!;
    private AwdLstmLanguageModel awdBf16Fused = null!;
    private Learner<LanguageModelBatch> learnerBf16Fused = null!;
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
        bare = new BareLstmLanguageModel(Shape, tied: false);
        bareTied = new BareLstmLanguageModel(Shape, tied: true);
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
        awdBf16Fused = new AwdLstmLanguageModel(Shape.Vocab, config) { Precision = ComputePrecision.BFloat16 };
        awdBf16Fused.Encoder.FusedBf16MaxHidden = 256;
        learnerBf16Fused = new Learner<LanguageModelBatch>(new LanguageModelTask(awdBf16Fused), new NoBatches());
    }

    /// <summary>One training step of the bare model (untied decoder); returns the loss.</summary>
    [Benchmark(Baseline = true)]
    public float LstmLanguageModelStep() => bare.Step(inputs, targets);

    /// <summary>The bare step with the decoder tied to the embedding, as AWD-LSTM has it (same parameters, same
    /// plain full-vocabulary cross-entropy): the like-for-like yardstick for the AWD-LSTM step's overhead.</summary>
    [Benchmark]
    public float LstmLanguageModelStepTied() => bareTied.Step(inputs, targets);

    /// <summary>The AWD-LSTM step with all regularisation, fp32 (target: ≥ 95% of the bare step's tokens/s).</summary>
    [Benchmark]
    public double AwdLstmStepFp32() => learnerFp32.StepOnce(batch, 1e-3, 0.8);

    /// <summary>The same step in bf16 (fp32 master weights, loss, softmax, AR/TAR); target ≥ 1.7× the fp32 step.</summary>
    [Benchmark]
    public double AwdLstmStepBf16() => learnerBf16.StepOnce(batch, 1e-3, 0.8);

    /// <summary>bf16 with the opt-in fused kernel for layers of hidden ≤ 256 (faster on small layers, bf16 cell state):
    /// the same as <see cref="AwdLstmStepBf16"/> at fastai's shape, whose layers are all larger.</summary>
    [Benchmark]
    public double AwdLstmStepBf16FusedSmall() => learnerBf16Fused.StepOnce(batch, 1e-3, 0.8);

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
        learnerBf16Fused.Dispose();
        awdBf16Fused.Dispose();
        awdBf16Decoder.Dispose();
        awdFp32.Dispose();
        awdBf16.Dispose();
        batch.Dispose();
        peak.Cleanup();
        bare.Dispose();
        bareTied.Dispose();
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
