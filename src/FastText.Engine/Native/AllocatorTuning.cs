using System.Runtime.InteropServices;

namespace FastText.Engine.Native;

/// <summary>
/// Keeps freed native memory in the process instead of handing it back to the kernel after every training step.
/// </summary>
/// <remarks>
/// glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh mapping and unmaps it on free.
/// A training step allocates and frees such blocks every time — oneDNN's LSTM training scratchpads (66 MB per layer
/// at the peer shape), workspaces, the decoder's logits — so each step page-faults and zeroes them again: at the
/// peer shape (emb 128, hidden 384, bs 32, bptt 70, vocab 20k) that was 121k page faults and a quarter of the step's
/// CPU time in the kernel (native-notes/allocator.md). With <c>M_MMAP_MAX = 0</c> glibc takes those blocks from its
/// heap, and with a trim threshold of 2 GB it keeps them there once freed, so the next step reuses them. The price is
/// that the process keeps its peak native heap until it exits, as PyTorch's caching allocators do on GPUs.
/// Set <c>FASTTEXT_MALLOC=default</c> to keep glibc's defaults. Nothing is done on non-glibc systems.
/// </remarks>
internal static class AllocatorTuning
{
    /// <summary>Environment variable that turns the tuning off (value <c>default</c>).</summary>
    public const string Variable = "FASTTEXT_MALLOC";

    private const int TrimThreshold = -1;      // M_TRIM_THRESHOLD
    private const int MmapMax = -4;            // M_MMAP_MAX

    private delegate int MalloptFunction(int parameter, int value);

    /// <summary>Whether the tuning is in force in this process.</summary>
    public static bool Applied { get; private set; }

    /// <summary>Applies the tuning once (glibc only); later calls do nothing.</summary>
    public static void Apply()
    {
        if (Applied || string.Equals(Environment.GetEnvironmentVariable(Variable), "default", StringComparison.OrdinalIgnoreCase)
            || !OperatingSystem.IsLinux()
            || !NativeLibrary.TryLoad("libc.so.6", out IntPtr libc) || !NativeLibrary.TryGetExport(libc, "mallopt", out IntPtr mallopt))
        {
            return;
        }
        var set = Marshal.GetDelegateForFunctionPointer<MalloptFunction>(mallopt);
        // mallopt returns 1 on success; both must take for the tuning to mean anything.
        Applied = set(MmapMax, 0) == 1 & set(TrimThreshold, int.MaxValue) == 1;
    }
}
