using FastText.Engine.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Classifier;

/// <summary>
/// The classifier head (fastai's <c>PoolingLinearClassifier</c>): masked concat pooling, then per layer
/// BatchNorm1d → Dropout → Linear without bias, with ReLU between layers:
/// <c>BN(3E) → Dropout(output_p) → Linear(3E→50) → ReLU → BN(50) → Dropout(0.1) → Linear(50→classes)</c>.
/// </summary>
/// <remarks>
/// Module names reproduce fastai's state-dict keys (<c>layers.0.0.weight</c> for the first BatchNorm,
/// <c>layers.0.2.weight</c> for the first Linear); a dropout with p = 0 is omitted as in fastai, which shifts indices.
/// BatchNorm starts with weight 1 and bias 0.001 (fastai's <c>BatchNorm</c> init); Linear keeps PyTorch's default.
/// </remarks>
public sealed class PoolingLinearClassifier : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential layers;

    /// <summary>Creates the head.</summary>
    /// <param name="encoderSize">Features per token from the encoder (E, 400 in ULMFiT); the pooled input is 3E.</param>
    /// <param name="classCount">Number of classes.</param>
    /// <param name="outputDropout">Dropout before the first Linear (fastai <c>output_p</c> · <c>drop_mult</c>: 0.4 · 0.5).</param>
    /// <param name="hiddenSizes">Hidden layer sizes (fastai <c>lin_ftrs</c>, default [50]).</param>
    /// <param name="hiddenDropout">Dropout before each later Linear (fastai's 0.1, not scaled by <c>drop_mult</c>).</param>
    public PoolingLinearClassifier(long encoderSize, int classCount, double outputDropout = 0.2, IReadOnlyList<int>? hiddenSizes = null, double hiddenDropout = 0.1)
        : base(nameof(PoolingLinearClassifier))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(encoderSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        hiddenSizes ??= [50];
        var sizes = new List<long> { 3 * encoderSize };
        sizes.AddRange(hiddenSizes.Select(s => (long)s));
        sizes.Add(classCount);
        var blocks = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < sizes.Count - 1; i++)
        {
            double p = i == 0 ? outputDropout : hiddenDropout;
            var block = new List<(string, nn.Module<Tensor, Tensor>)>();
            var norm = nn.BatchNorm1d(sizes[i]);
            using (no_grad())
            {
                using Scalar small = 1e-3;                 // explicit Scalars: Native/Scalars.cs
                norm.weight!.fill_(Scalars.One);
                norm.bias!.fill_(small);
            }
            block.Add((block.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), norm));
            if (p > 0)
            {
                block.Add((block.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.Dropout(p)));
            }
            block.Add((block.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.Linear(sizes[i], sizes[i + 1], hasBias: false)));
            if (i < sizes.Count - 2)
            {
                block.Add((block.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.ReLU(inplace: true)));
            }
            blocks.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.Sequential(block)));
        }
        layers = nn.Sequential(blocks);
        ClassCount = classCount;
        RegisterComponents();
    }

    /// <summary>Number of classes (columns of the logits).</summary>
    public int ClassCount { get; }

    /// <summary>Pools the encoder output (rows, time, E) under <paramref name="padMask"/> (rows, time) and returns logits (rows, classes).</summary>
    public override Tensor forward(Tensor output, Tensor padMask)
    {
        using var scope = NewDisposeScope();
        Tensor pooled = MaskedConcatPooling.Pool(output, padMask);
        return layers.call(pooled).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            layers.Dispose();
        }
        base.Dispose(disposing);
    }
}
