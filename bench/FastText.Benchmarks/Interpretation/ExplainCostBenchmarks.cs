using BenchmarkDotNet.Attributes;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Native;
using TorchSharp;

namespace FastText.Benchmarks.Interpretation;

/// <summary>
/// What an explanation costs (issue 16's targets): one text of 280 tokens (the held-out mails' mean) through a ULMFiT
/// classifier at the whole-recipe comparison's shape (AWD-LSTM 128/384/3, a 20k vocabulary, weights random: cost does
/// not depend on them), in fp32 as the explainer runs. Baseline: the eval forward pass the explanation's function is
/// (no gradient); intrinsic attention (target ≤ 3× the forward) and integrated gradients at 50 path points, batched
/// (target ≤ 60×), each without refinement.
/// </summary>
public class ExplainCostBenchmarks
{
    private const int Tokens = 280, Vocabulary = 20_000;
    private TextClassifier model = null!;
    private ClassifierExplainer explainer = null!;
    private int[] ids = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Initialize();
        torch.manual_seed(1);
        model = TextClassifier.Create(Vocabulary, AwdLstmConfig.LanguageModel with { EmbeddingSize = 128, HiddenSize = 384, Layers = 3 }, 2);
        explainer = new ClassifierExplainer(model);
        var random = new Random(3);
        ids = Enumerable.Range(0, Tokens).Select(_ => 8 + random.Next(Vocabulary - 8)).ToArray();
        explainer.Explain(ids, steps: 50, maxSteps: 50);   // kernel checks and first-call costs out of the measurement
    }

    [GlobalCleanup]
    public void Cleanup() => model.Dispose();

    /// <summary>The function explained, once.</summary>
    [Benchmark(Baseline = true, Description = "forward (eval, no grad)")]
    public float Forward() => explainer.Probabilities(ids)[1];

    /// <summary>fastai v1's intrinsic attention: forward + backward.</summary>
    [Benchmark(Description = "intrinsic attention")]
    public float IntrinsicAttention() => explainer.IntrinsicAttention(ids, 1)[0];

    /// <summary>Integrated gradients at 50 Gauss–Legendre points in one batched pass (plus f(text), f(baseline)).</summary>
    [Benchmark(Description = "integrated gradients, 50 points")]
    public double IntegratedGradients() => explainer.IntegratedGradientsAt(ids, 1, 50).Sum;
}
