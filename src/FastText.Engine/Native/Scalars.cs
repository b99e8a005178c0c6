using TorchSharp;

namespace FastText.Engine.Native;

/// <summary>
/// Scalars that live as long as the process, for the constants hot loops pass to libtorch. TorchSharp 0.107 turns every
/// number given where it takes a <see cref="Scalar"/> (an <c>add</c>'s implicit alpha of 1, <c>1 - t</c>,
/// <c>masked_fill(m, 0)</c>) into a <see cref="Scalar"/> that only its finalizer frees, and does not keep it alive during
/// the native call, so a collection in the middle of the call can free it while libtorch reads it ("Expected false to be
/// true" from <c>c10::Scalar::toFloat</c>; native-notes/traps.md). These are never collected; values that change per
/// call are made with <c>using Scalar s = …</c> at the call site instead.
/// </summary>
internal static class Scalars
{
    /// <summary>1 (integral, so it is a valid alpha for integer tensors too).</summary>
    public static readonly Scalar One = 1;

    /// <summary>0.</summary>
    public static readonly Scalar Zero = 0;

    /// <summary>−∞ (masked maximum).</summary>
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity;
}
