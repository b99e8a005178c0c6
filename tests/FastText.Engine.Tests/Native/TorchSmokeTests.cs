using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Native;

public sealed class TorchSmokeTests
{
    [Fact]
    public void Torch_loads_with_the_requested_thread_count()
    {
        Assert.Equal(1, TorchRuntime.Initialize(1));
        Assert.Equal(1, torch.get_num_threads());
        Assert.False(torch.cuda.is_available());
    }

    [Fact]
    public void Lstm_forward_and_backward_give_finite_nonzero_gradients()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        using var embedding = nn.Embedding(50, 8);
        using var lstm = nn.LSTM(8, 16, numLayers: 2, batchFirst: true);
        using var decoder = nn.Linear(16, 50);
        var ids = torch.randint(0, 50, new long[] { 4, 7 }, dtype: ScalarType.Int64);
        var targets = torch.randint(0, 50, new long[] { 4, 7 }, dtype: ScalarType.Int64);

        var (output, h, c) = lstm.call(embedding.call(ids), null);
        var logits = decoder.call(output);
        var loss = nn.functional.cross_entropy(logits.view(-1, 50), targets.view(-1));
        loss.backward();

        Assert.Equal(new long[] { 4, 7, 16 }, output.shape);
        Assert.Equal(new long[] { 2, 4, 16 }, h.shape);
        Assert.True(double.IsFinite(loss.item<float>()));
        foreach (var (name, p) in lstm.named_parameters())
        {
            var grad = p.grad ?? throw new Xunit.Sdk.XunitException($"{name} has no gradient");
            Assert.True(grad.isfinite().all().item<bool>(), $"{name} has a non-finite gradient");
            Assert.True(grad.abs().sum().item<float>() > 0, $"{name} has an all-zero gradient");
        }
    }
}
