using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>
/// Vectors of 8 floats over raw memory for the managed bf16 kernels (<see cref="Bf16LstmKernel"/>, the decoder's softmax
/// pass): bf16 ↔ fp32 conversion and loads/stores of a possibly partial last vector (n &lt; 8 lanes, padded with zeros), so a
/// row's tail runs through the same lane code as the rest.
/// </summary>
/// <remarks>bf16 values are raw <see cref="ushort"/> bits, the upper half of an fp32; narrowing rounds to nearest even
/// (NaN stays a quiet NaN) as libtorch does, widening is exact.</remarks>
internal static unsafe class Bf16Vector
{
    /// <summary>Floats per vector.</summary>
    public const int Lanes = 8;

    /// <summary>fp32 → bf16 bits, rounding to nearest even (NaN stays a quiet NaN), as libtorch narrows.</summary>
    public static ushort ToBf16(float value) => ToBf16(Vector256.Create(value)).GetElement(0);

    /// <summary>bf16 bits → fp32 (exact).</summary>
    public static float FromBf16(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>The data of a contiguous CPU tensor (<see cref="torch.Tensor.bytes"/> checks both); valid while the tensor lives.</summary>
    public static T* Pointer<T>(Tensor tensor)
        where T : unmanaged
    {
        int size = tensor.dtype switch
        {
            ScalarType.Float32 => sizeof(float),
            ScalarType.BFloat16 => sizeof(ushort),
            ScalarType.Int64 => sizeof(long),
            _ => throw new ArgumentException($"Unexpected dtype {tensor.dtype}.", nameof(tensor)),
        };
        if (size != sizeof(T))
        {
            throw new ArgumentException($"A {tensor.dtype} tensor read as {typeof(T).Name}.", nameof(tensor));
        }
        return (T*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
    }

    /// <summary>8 floats → 8 bf16, rounding to nearest even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<ushort> ToBf16(Vector256<float> x)
    {
        // Round to nearest even on the bits: add 0x7FFF plus the lowest kept bit, keep the high half.
        Vector256<uint> bits = x.AsUInt32();
        Vector256<uint> rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        rounded = Vector256.ConditionalSelect(Vector256.Equals(x, x).AsUInt32(), rounded, Vector256.Create(0x7FC0u));
        return Vector256.Narrow(rounded, rounded).GetLower();
    }

    /// <summary>n floats (all 8 when n = <see cref="Lanes"/>); missing lanes are 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* p, int n)
    {
        if (n == Lanes)
        {
            return Vector256.Load(p);
        }
        Vector256<float> v = Vector256<float>.Zero;
        Copy(p, (float*)&v, n);
        return v;
    }

    /// <summary>n bf16 values widened to fp32; missing lanes are 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadBf16(ushort* p, int n)
    {
        Vector128<ushort> raw = Vector128<ushort>.Zero;
        if (n == Lanes)
        {
            raw = Vector128.Load(p);
        }
        else
        {
            Copy(p, (ushort*)&raw, n);
        }
        return (Vector256.WidenLower(raw.ToVector256Unsafe()) << 16).AsSingle();
    }

    /// <summary>Stores the first n lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector256<float> v, int n)
    {
        if (n == Lanes)
        {
            v.Store(p);
        }
        else
        {
            Copy((float*)&v, p, n);
        }
    }

    /// <summary>Stores the first n bf16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ushort* p, Vector128<ushort> v, int n)
    {
        if (n == Lanes)
        {
            v.Store(p);
        }
        else
        {
            Copy((ushort*)&v, p, n);
        }
    }

    private static void Copy<T>(T* from, T* to, int n)
        where T : unmanaged
    {
        for (int k = 0; k < n; k++)
        {
            to[k] = from[k];
        }
    }
}
