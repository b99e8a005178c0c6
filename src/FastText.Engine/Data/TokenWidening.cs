using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastText.Engine.Data;

/// <summary>int32 corpus ids → int64 tensor ids (libtorch's cross-entropy rejects int32 targets, see the loaders' remarks).</summary>
internal static class TokenWidening
{
    /// <summary>Copies <paramref name="source"/> into the start of <paramref name="destination"/>, sign-extending each id.</summary>
    public static void Widen(ReadOnlySpan<int> source, Span<long> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException($"Destination holds {destination.Length} ids; {source.Length} needed.", nameof(destination));
        }
        int n = source.Length;
        int i = 0;
        ref int from = ref MemoryMarshal.GetReference(source);
        ref long to = ref MemoryMarshal.GetReference(destination);
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<int>.Count; i += Vector256<int>.Count)
            {
                var (lower, upper) = Vector256.Widen(Vector256.LoadUnsafe(ref from, (nuint)i));
                lower.StoreUnsafe(ref to, (nuint)i);
                upper.StoreUnsafe(ref to, (nuint)(i + Vector256<long>.Count));
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
        }
    }
}
