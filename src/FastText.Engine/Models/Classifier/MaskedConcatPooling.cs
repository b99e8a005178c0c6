using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Classifier;

/// <summary>
/// fastai's <c>masked_concat_pool</c>: concatenates, per row, the output at the last real token, the max over real
/// tokens and the mean over real tokens → (rows, 3 · features).
/// </summary>
/// <remarks>
/// fastai finds the last real token by counting the pads in the final bptt window, which assumes every trailing pad
/// lies in that window (false with its own chunked padding, fastai#3379). Here the last real position is read from
/// the mask directly, so any pad layout pools correctly; for layouts that satisfy fastai's assumption both agree.
/// </remarks>
internal static class MaskedConcatPooling
{
    /// <summary>Pools <paramref name="output"/> (rows, time, features) where <paramref name="padMask"/> (rows, time) is true at pads.</summary>
    public static Tensor Pool(Tensor output, Tensor padMask)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(padMask);
        if (output.dim() != 3 || padMask.dim() != 2 || output.shape[0] != padMask.shape[0] || output.shape[1] != padMask.shape[1])
        {
            throw new ArgumentException($"Output {Shape(output)} and pad mask {Shape(padMask)} must be (rows, time, features) and (rows, time).");
        }
        using var scope = NewDisposeScope();
        long rows = output.shape[0], time = output.shape[1], features = output.shape[2];
        Tensor real = padMask.logical_not();                                         // (rows, time)
        Tensor lengths = real.sum(1, type: output.dtype).clamp_min(Scalars.One).unsqueeze(1);   // (rows, 1)
        // Last real position: first true from the right.
        Tensor fromRight = real.flip(1).to(ScalarType.Int64).argmax(1);               // (rows)
        Tensor lastIndex = (time - 1 - fromRight).view(rows, 1, 1).expand(rows, 1, features);
        Tensor last = output.gather(1, lastIndex).squeeze(1);                        // (rows, features)
        Tensor pads = padMask.unsqueeze(2);                                          // (rows, time, 1)
        Tensor max = output.masked_fill(pads, Scalars.NegativeInfinity).amax([1]);     // (rows, features)
        Tensor mean = output.masked_fill(pads, Scalars.Zero).sum(1) / lengths;                  // (rows, features)
        return torch.cat([last, max, mean], 1).MoveToOuterDisposeScope();
    }

    private static string Shape(Tensor t) => "(" + string.Join(", ", t.shape) + ")";
}
