using FastText.Engine.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Training;

public sealed class FusedAdamStepTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_fused_update_follows_torchsharps_adamw_over_several_steps_and_groups(int threads)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(21);
        // A large parameter (split across workers), a small one with a tail, a transposed one (torch-op path), a frozen one.
        Tensor[] initial =
        {
            torch.randn(new long[] { 700, 401 }, generator: generator), torch.randn(new long[] { 13 }, generator: generator),
            torch.randn(new long[] { 9, 6 }, generator: generator), torch.randn(new long[] { 5 }, generator: generator),
        };
        (AdamW Optimizer, Parameter[] Parameters) Make()
        {
            Parameter[] ps =
            {
                new(initial[0].clone()), new(initial[1].clone()), new(initial[2].clone().t().contiguous().t()), new(initial[3].clone()),
            };
            var groups = new[]
            {
                new AdamW.ParamGroup(new[] { ps[0], ps[2] }, new AdamW.Options { LearningRate = 1e-3, beta1 = 0.9, beta2 = 0.99, eps = 1e-5, weight_decay = 0.01 }),
                new AdamW.ParamGroup(new[] { ps[1], ps[3] }, new AdamW.Options { LearningRate = 3e-3, beta1 = 0.9, beta2 = 0.99, eps = 1e-5, weight_decay = 0 }),
            };
            return (torch.optim.AdamW(groups, lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-5, weight_decay: 0.01), ps);
        }
        var (reference, expected) = Make();
        var (fused, actual) = Make();
        Assert.False(actual[2].is_contiguous());
        for (int step = 1; step <= 4; step++)
        {
            double momentum = 0.95 - 0.05 * step;
            foreach (var optimizer in new[] { reference, fused })
            {
                foreach (AdamW.ParamGroup group in optimizer.ParamGroups.Cast<AdamW.ParamGroup>())
                {
                    group.LearningRate *= 1.5;
                    group.Betas = (momentum, 0.99);
                }
            }
            using var gradients = torch.NewDisposeScope();
            for (int i = 0; i < 3; i++)                        // parameter 3 never gets a gradient
            {
                Tensor g = torch.randn(expected[i].shape, generator: generator);
                expected[i].grad = g.clone();
                actual[i].grad = g.clone();
            }
            reference.step();
            FusedAdamStep.Step(fused, threads);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(actual[i].allclose(expected[i], rtol: 1e-6, atol: 1e-7), $"step {step}, parameter {i}: max diff {(actual[i] - expected[i]).abs().max().item<float>():E2}");
            }
        }
        var referenceStates = reference.state_dict().State.Cast<AdamW.State>().ToArray();
        var fusedStates = fused.state_dict().State.Cast<AdamW.State>().ToArray();
        for (int i = 0; i < referenceStates.Length; i++)
        {
            Assert.Equal(referenceStates[i].step, fusedStates[i].step);
            // The moments differ from TorchSharp's separate ops by a rounding or two (mul + add vs one expression).
            foreach (var (ours, theirs) in new[] { (fusedStates[i].exp_avg, referenceStates[i].exp_avg), (fusedStates[i].exp_avg_sq, referenceStates[i].exp_avg_sq) })
            {
                double difference = (ours - theirs).abs().max().item<float>(), largest = theirs.abs().max().item<float>();
                Assert.True(difference <= 1e-6 * largest, $"state {i}: max diff {difference:E2} of values up to {largest:E2}");
            }
        }
        Assert.Equal(0, fusedStates[3].step);
        Assert.True(actual[3].equal(initial[3]).all().item<bool>());
    }
}
