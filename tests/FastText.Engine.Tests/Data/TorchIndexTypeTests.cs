using FastText.Engine.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Data;

/// <summary>Why the loaders deliver int64 ids, and that their buffers really are shared with the tensors.</summary>
public sealed class TorchIndexTypeTests
{
    [Fact]
    public void Embedding_takes_int32_ids_but_cross_entropy_needs_int64_targets()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var embedding = nn.Embedding(50, 8);
        var ids32 = torch.tensor(new[] { 1, 2, 3, 4 }).view(2, 2);
        Assert.Equal(new long[] { 2, 2, 8 }, embedding.call(ids32).shape);

        var logits = torch.randn(4, 50);
        var targets32 = torch.tensor(new[] { 1, 2, 3, 4 });
        var error = Assert.ThrowsAny<Exception>(() => nn.functional.cross_entropy(logits, targets32));
        Assert.Contains("Long", error.Message, StringComparison.Ordinal);
        Assert.True(double.IsFinite(nn.functional.cross_entropy(logits, targets32.to(ScalarType.Int64)).item<float>()));
    }

    [Fact]
    public void Host_buffer_views_see_later_writes_without_copying()
    {
        TorchTestSetup.Use();
        using var buffer = HostBuffer.Allocate(12, pinned: false);
        using Tensor view = buffer.View(2, 3);
        buffer.Span[4] = 42;
        Assert.Equal(ScalarType.Int64, view.dtype);
        Assert.Equal(42L, view[1, 1].item<long>());
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.View(4, 4));
    }
}
