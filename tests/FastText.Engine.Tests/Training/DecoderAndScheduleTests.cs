using FastText.Engine.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Training;

[Collection(SequentialTorchCollection.Name)]
public sealed class DecoderAndScheduleTests
{
    [Theory]
    [InlineData(1L << 30)]      // one chunk
    [InlineData(16L * 4 * 37)]  // 16-row chunks: several, the last one partial
    public void Chunked_decoder_loss_gives_the_plain_loss_gradients_and_accuracy(long chunkBytes)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        var (features1, weight1, bias1) = Inputs();
        var (features2, weight2, bias2) = Inputs();
        var targets = torch.randint(0, 37, new long[] { 45 }, dtype: ScalarType.Int64);

        DecoderLoss plain = DecoderCrossEntropy.Compute(features1, weight1, bias1, targets, DecoderLossMode.Plain, training: true, accuracy: true);
        DecoderLoss chunked = DecoderCrossEntropy.Compute(features2, weight2, bias2, targets, DecoderLossMode.Chunked, training: true, accuracy: true, chunkBytes);
        plain.BackwardLoss.backward();
        chunked.BackwardLoss.backward();

        Assert.Equal(plain.Loss.item<float>(), chunked.Loss.item<float>(), 4);
        Assert.Equal(plain.Correct!.item<long>(), chunked.Correct!.item<long>());
        Assert.True(weight1.grad!.allclose(weight2.grad!, rtol: 1e-4, atol: 1e-6), $"{weight1.grad!.abs().sum().item<float>()} vs {weight2.grad!.abs().sum().item<float>()} diff {(weight1.grad! - weight2.grad!).abs().max().item<float>()}");
        Assert.True(bias1.grad!.allclose(bias2.grad!, rtol: 1e-4, atol: 1e-6), $"{bias1.grad!.sum().item<float>()} vs {bias2.grad!.sum().item<float>()} diff {(bias1.grad! - bias2.grad!).abs().max().item<float>()} {string.Join(",", bias1.grad!.data<float>().ToArray().Take(5))} / {string.Join(",", bias2.grad!.data<float>().ToArray().Take(5))}");
        Assert.True(features1.grad!.allclose(features2.grad!, rtol: 1e-4, atol: 1e-6));

        static (Tensor, Parameter, Parameter) Inputs()
        {
            using var generator = new Generator(5);
            var leaf = torch.randn(new long[] { 45, 6 }, generator: generator).requires_grad_(true);
            var weight = new Parameter(torch.randn(new long[] { 37, 6 }, generator: generator));
            var bias = new Parameter(torch.randn(new long[] { 37 }, generator: generator));
            leaf.retain_grad();
            return (leaf, weight, bias);
        }
    }

    // oneDNN's fp32 product is right on some CPUs and shapes and wrong on others (on a Zen 5, family 26 model 2, the
    // logits product was wrong at 4,096 and 15,008 columns and right at 8,008): from 4,096 classes on, the decoder takes
    // it per product only where it is checked right and otherwise runs MKL into its reused block; below, MKL always.
    // Whichever this CPU gets, the loss and gradients are the plain loss's, over several chunks and a workspace reused
    // across calls.
    [Theory]
    [InlineData(1024L, 16L)]
    [InlineData(4096L, 16L)]
    [InlineData(8008L, 16L)]
    [InlineData(8008L, 400L)]
    public void Fp32_chunked_decoder_loss_is_the_plain_loss_whichever_product_kernels_this_cpu_gets(long vocab, long emb)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var workspace = new DecoderWorkspace();
        for (int call = 0; call < 2; call++)
        {
            var (features1, weight1, bias1, targets) = Inputs(call);
            var (features2, weight2, bias2, _) = Inputs(call);
            DecoderLoss plain = DecoderCrossEntropy.Compute(features1, weight1, bias1, targets, DecoderLossMode.Plain, training: true, accuracy: true);
            DecoderLoss chunked = DecoderCrossEntropy.Compute(features2, weight2, bias2, targets, DecoderLossMode.Chunked, training: true, accuracy: true,
                16L * 4 * vocab, workspace);
            plain.BackwardLoss.backward();
            chunked.BackwardLoss.backward();

            Assert.Equal(plain.Loss.item<float>(), chunked.Loss.item<float>(), 3);
            Assert.Equal(plain.Correct!.item<long>(), chunked.Correct!.item<long>());
            Assert.True(weight1.grad!.allclose(weight2.grad!, rtol: 1e-3, atol: 1e-6), $"weight gradient, call {call}: max diff {(weight1.grad! - weight2.grad!).abs().max().item<float>()}");
            Assert.True(bias1.grad!.allclose(bias2.grad!, rtol: 1e-3, atol: 1e-6), $"bias gradient, call {call}");
            Assert.True(features1.grad!.allclose(features2.grad!, rtol: 1e-3, atol: 1e-6), $"feature gradient, call {call}: max diff {(features1.grad! - features2.grad!).abs().max().item<float>()}");
        }

        (Tensor, Parameter, Parameter, Tensor) Inputs(int call)
        {
            using var generator = new Generator((ulong)(21 + call));
            var leaf = torch.randn(new long[] { 45, emb }, generator: generator).div_(4).requires_grad_(true);
            var weight = new Parameter(torch.randn(new long[] { vocab, emb }, generator: generator).div_(4));
            var bias = new Parameter(torch.randn(new long[] { vocab }, generator: generator));
            var targets = torch.randint(0, vocab, new long[] { 45 }, generator: generator, dtype: ScalarType.Int64);
            leaf.retain_grad();
            return (leaf, weight, bias, targets);
        }
    }

    [Theory]
    [InlineData(1L << 30, true)]        // one chunk
    [InlineData(16L * 4 * 37, true)]    // several chunks, the last one partial
    [InlineData(16L * 4 * 37, false)]   // no bias
    public void Bf16_training_loss_through_the_managed_softmax_matches_fp32(long chunkBytes, bool withBias)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(12);
        var targets = torch.randint(0, 37, new long[] { 45 }, dtype: ScalarType.Int64);

        (float Loss, Tensor[] Grads) Run(bool bf16)
        {
            using var generator = new Generator(6);
            var leaf = torch.randn(new long[] { 45, 6 }, generator: generator).requires_grad_(true);
            var weight = new Parameter(torch.randn(new long[] { 37, 6 }, generator: generator));
            var bias = new Parameter(torch.randn(new long[] { 37 }, generator: generator));
            // bf16 training without accuracy on the CPU takes the managed pass (vocab 37: four vectors and a tail of 5).
            DecoderLoss loss = bf16
                ? DecoderCrossEntropy.Compute(leaf.to(ScalarType.BFloat16), weight, withBias ? bias : null, targets, DecoderLossMode.Chunked, training: true, accuracy: false, chunkBytes)
                : DecoderCrossEntropy.Compute(leaf, weight, withBias ? bias : null, targets, DecoderLossMode.Plain, training: true, accuracy: false);
            loss.BackwardLoss.backward();
            var grads = new[] { leaf.grad!, weight.grad! }.Concat(withBias ? new[] { bias.grad! } : Array.Empty<Tensor>()).ToArray();
            return (loss.Loss.item<float>(), grads);
        }

        var reference = Run(bf16: false);
        var mixed = Run(bf16: true);
        Assert.InRange(Math.Abs(mixed.Loss / reference.Loss - 1), 0, 0.01);
        for (int i = 0; i < reference.Grads.Length; i++)
        {
            Assert.Equal(ScalarType.Float32, mixed.Grads[i].dtype);
            double error = (mixed.Grads[i] - reference.Grads[i]).norm().item<float>() / reference.Grads[i].norm().item<float>();
            Assert.True(error < 0.015, $"gradient {i}: relative error {error:E2}");   // measured ~4e-3
        }
    }

    [Fact]
    public void Managed_softmax_pass_is_softmax_minus_one_hot_and_splits_over_threads_exactly()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(13);
        const int rows = 300, vocab = 37;                          // 300 rows: 4 blocks of ≥ 64 rows with 4 threads
        var logits = (torch.randn(rows, vocab) * 3).to(ScalarType.BFloat16);
        var bias = torch.randn(vocab);
        var targets = torch.randint(0, vocab, new long[] { rows }, dtype: ScalarType.Int64);

        (double Loss, Tensor Gradient, Tensor BiasGrad) Run(int threads)
        {
            var block = logits.clone();
            var biasGrad = torch.zeros(vocab);
            double loss = DecoderCrossEntropy.ManagedSoftmax(block, bias, targets, 0, biasGrad, threads).Loss;
            return (loss, block.to(ScalarType.Float32), biasGrad);
        }

        var one = Run(1);
        var four = Run(4);
        Tensor z = logits.to(ScalarType.Float32) + bias;
        double expectedLoss = nn.functional.cross_entropy(z, targets, reduction: nn.Reduction.Sum).item<float>();
        Tensor expectedGradient = z.softmax(1) - nn.functional.one_hot(targets, vocab).to(ScalarType.Float32);
        Assert.Equal(expectedLoss, one.Loss, expectedLoss * 1e-5);
        Assert.True(one.Gradient.allclose(expectedGradient, rtol: 0, atol: 4e-3));       // bf16 of values in [−1, 1]
        Assert.True(one.BiasGrad.allclose(expectedGradient.sum(0L), rtol: 1e-4, atol: 1e-4));
        Assert.True(TinyModels.Same(one.Gradient, four.Gradient));                        // rows are independent
        Assert.Equal(one.Loss, four.Loss, Math.Abs(one.Loss) * 1e-12);
        Assert.True(one.BiasGrad.allclose(four.BiasGrad, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Fp32_managed_pass_scores_like_torch_and_counts_argmax_hits_with_torchs_tie_rule()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(14);
        const int rows = 200, vocab = 45;                          // 45: five vectors and a tail of 5
        var logits = torch.randn(rows, vocab) * 3;
        logits[0, 3] = 50; logits[0, 7] = 50;                      // a tie: argmax is the first index
        var targets = torch.randint(0, vocab, new long[] { rows }, dtype: ScalarType.Int64);
        targets[0] = 7;                                            // tied but not first: a miss
        targets[1] = logits[1].argmax().item<long>();              // a hit
        var bias = torch.randn(vocab);
        Tensor z = logits + bias;
        double expectedLoss = nn.functional.cross_entropy(z, targets, reduction: nn.Reduction.Sum).item<float>();
        long expectedHits = z.argmax(1).eq(targets).sum().item<long>();

        var scored = logits.clone();
        var (loss, hits) = DecoderCrossEntropy.ManagedSoftmax(scored, bias, targets, 0, null, threads: 2, gradient: false);
        Assert.Equal(expectedLoss, loss, expectedLoss * 1e-5);
        Assert.Equal(expectedHits, hits);
        Assert.True(TinyModels.Same(scored, logits));                // scoring only: the block is untouched

        var trained = logits.clone();
        var biasGrad = torch.zeros(vocab);
        var (trainingLoss, _) = DecoderCrossEntropy.ManagedSoftmax(trained, bias, targets, 0, biasGrad, threads: 2);
        Tensor expectedGradient = z.softmax(1) - nn.functional.one_hot(targets, vocab).to(ScalarType.Float32);
        Assert.Equal(expectedLoss, trainingLoss, expectedLoss * 1e-5);
        Assert.True(trained.allclose(expectedGradient, rtol: 1e-5, atol: 1e-6));
        Assert.True(biasGrad.allclose(expectedGradient.sum(0L), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void A_reused_workspace_gives_the_same_losses_and_gradients_as_fresh_buffers()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var workspace = new DecoderWorkspace();
        foreach (bool bf16 in new[] { false, true, false })
        {
            foreach (long n in new long[] { 45, 30 })               // a smaller second call reuses the larger block
            {
                (float Loss, long Hits, Tensor[] Grads) Run(DecoderWorkspace? buffers, bool training)
                {
                    using var generator = new Generator(8);
                    var leaf = torch.randn(new long[] { n, 6 }, generator: generator).requires_grad_(true);
                    var weight = new Parameter(torch.randn(new long[] { 37, 6 }, generator: generator));
                    var bias = new Parameter(torch.randn(new long[] { 37 }, generator: generator));
                    var targets = torch.randint(0, 37, new long[] { n }, generator: generator, dtype: ScalarType.Int64);
                    Tensor features = bf16 ? leaf.to(ScalarType.BFloat16) : leaf;
                    DecoderLoss loss = DecoderCrossEntropy.Compute(features, weight, bias, targets, DecoderLossMode.Chunked,
                        training, accuracy: !training, 16L * 4 * 37, buffers);
                    if (!training)
                    {
                        return (loss.Loss.item<float>(), loss.Correct!.item<long>(), Array.Empty<Tensor>());
                    }
                    loss.BackwardLoss.backward();
                    return (loss.Loss.item<float>(), 0, new[] { leaf.grad!, weight.grad!, bias.grad! });
                }
                foreach (bool training in new[] { true, false })
                {
                    var fresh = Run(null, training);
                    var reused = Run(workspace, training);
                    Assert.Equal(fresh.Loss, reused.Loss);
                    Assert.Equal(fresh.Hits, reused.Hits);
                    for (int i = 0; i < fresh.Grads.Length; i++)
                    {
                        Assert.True(TinyModels.Same(fresh.Grads[i], reused.Grads[i]), $"bf16 {bf16}, n {n}, gradient {i}");
                    }
                }
            }
        }
    }

    [Fact]
    public void One_cycle_matches_fastai_figures()
    {
        var schedule = OneCycleSchedule.Default;
        Assert.Equal(2e-3 / 25, 2e-3 * schedule.LearningRateFactor(0), 12);
        Assert.Equal(2e-3, 2e-3 * schedule.LearningRateFactor(0.25), 12);
        Assert.Equal(2e-8, 2e-3 * schedule.LearningRateFactor(1), 12);
        Assert.Equal(0.8, schedule.Momentum(0), 12);
        Assert.Equal(0.7, schedule.Momentum(0.25), 12);
        Assert.Equal(0.75, schedule.Momentum(0.125), 12);
        Assert.Equal(0.8, schedule.Momentum(1), 12);
        // halfway through the annealing phase the lr is halfway between lr_max and lr_max/div_final
        Assert.Equal((1 + 1e-5) / 2, schedule.LearningRateFactor(0.625), 12);
    }

    [Fact]
    public void Learning_rate_slices_follow_fastai()
    {
        double[] rates = LearningRates.Slice(1e-2 / Math.Pow(2.6, 4), 1e-2).For(5);
        double[] expected = { 2.188e-4, 5.690e-4, 1.479e-3, 3.846e-3, 1.0e-2 };
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(expected[i], rates[i], expected[i] * 1e-3);
        }
        Assert.Equal(new[] { 1e-3, 1e-3, 1e-2 }, LearningRates.Slice(1e-2).For(3));
        Assert.Equal(new[] { 3e-3, 3e-3 }, ((LearningRates)3e-3).For(2));
    }

    [Fact]
    public void Smoothed_loss_is_fastais_debiased_moving_average()
    {
        var smoothed = new SmoothedLoss();
        smoothed.Add(4);
        Assert.Equal(4, smoothed.Value, 12);
        smoothed.Add(2);
        double raw = 0.98 * (0.02 * 4) + 0.02 * 2;
        Assert.Equal(raw / (1 - 0.98 * 0.98), smoothed.Value, 12);
    }

    [Fact]
    public void Loss_scaler_skips_and_halves_on_overflow_and_grows_after_clean_steps()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.ones(3));
        var scaler = new DynamicLossScaler(initialScale: 1024, growthInterval: 3);

        scaler.ScaleLoss((p * 2).sum()).backward();
        Assert.True(scaler.UnscaleOrSkip(new[] { p }));
        Assert.True(p.grad!.allclose(torch.full(3, 2.0f)));     // unscaled
        Assert.Equal(1, scaler.CleanSteps);

        p.grad!.zero_();
        scaler.ScaleLoss((p * float.PositiveInfinity).sum()).backward();
        Assert.False(scaler.UnscaleOrSkip(new[] { p }));
        Assert.Equal(512, scaler.Scale);
        Assert.Equal(0, scaler.CleanSteps);
        Assert.Equal(1, scaler.SkippedSteps);
        Assert.Equal(0, p.grad!.abs().sum().item<float>());

        for (int i = 0; i < 3; i++)
        {
            p.grad!.zero_();
            scaler.ScaleLoss(p.sum()).backward();
            Assert.True(scaler.UnscaleOrSkip(new[] { p }));
        }
        Assert.Equal(1024, scaler.Scale);                       // grew after 3 clean steps
        Assert.Equal(0, scaler.CleanSteps);
    }

    [Fact]
    public void AdamW_with_fastai_settings_is_fastais_adam()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.tensor(new[] { 1.0f, -2.0f }));
        using var optimizer = torch.optim.AdamW(new[] { p }, lr: 0.1, beta1: 0.8, beta2: 0.99, eps: 1e-5, weight_decay: 0.01);
        double[] w = { 1, -2 }, m = new double[2], v = new double[2];
        double[][] grads = { new[] { 0.5, -1.0 }, new[] { 0.25, 2.0 } };
        for (int t = 1; t <= 2; t++)
        {
            optimizer.zero_grad();
            (p * torch.tensor(grads[t - 1].Select(g => (float)g).ToArray())).sum().backward();
            optimizer.step();
            for (int i = 0; i < 2; i++)
            {
                double g = grads[t - 1][i];
                w[i] *= 1 - 0.1 * 0.01;
                m[i] = 0.8 * m[i] + 0.2 * g;
                v[i] = 0.99 * v[i] + 0.01 * g * g;
                w[i] -= 0.1 / (1 - Math.Pow(0.8, t)) * m[i] / (Math.Sqrt(v[i] / (1 - Math.Pow(0.99, t))) + 1e-5);
            }
        }
        float[] actual = p.data<float>().ToArray();
        Assert.Equal(w[0], actual[0], 5);
        Assert.Equal(w[1], actual[1], 5);
    }
}
