using System.Runtime.InteropServices;

namespace FastText.Engine.Native;

/// <summary>
/// Process-wide native settings the engine applies before libtorch loads (native-notes/allocator.md):
/// glibc keeps freed memory, and libgomp's idle threads stop spinning sooner.
/// </summary>
/// <remarks>
/// <para><b>Memory.</b> glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh mapping and
/// unmaps it on free. A training step allocates and frees such blocks every time — oneDNN's LSTM scratchpads (66 MB per
/// layer at the peer shape), workspaces, the decoder's logits — so each step page-faulted and zeroed them again: at the
/// peer shape (emb 128, hidden 384, bs 32, bptt 70, vocab 20k) 121k page faults and a quarter of the step's CPU time in
/// the kernel. With <c>M_MMAP_MAX = 0</c> glibc takes those blocks from its heap, and with a trim threshold of 2 GB it
/// keeps them there once freed, so the next step reuses them; with one arena (<c>M_ARENA_MAX = 1</c>) blocks freed on
/// one thread serve the others (peak RSS 1,119 instead of 1,368 MiB at the peer shape in fp32). The process keeps its
/// peak native heap until it exits. <c>FASTTEXT_MALLOC=default</c> keeps glibc's defaults.</para>
/// <para><b>OpenMP spinning.</b> After each parallel region libtorch's libgomp workers busy-wait for new work
/// (<c>GOMP_SPINCOUNT</c>, 300,000 spins by default). The engine's managed passes (the decoder's softmax, the fused
/// Adam) run on .NET threads right after such regions, and on two cores the spinning worker takes the core they need:
/// the softmax pass took 15.5 ms after a GEMM and 8.7 ms after a pause. With 10,000 spins the bf16 peer step went from
/// 188 to 156 ms. A <c>GOMP_SPINCOUNT</c> already in the environment is left alone.</para>
/// <para>Both are read by native code at start-up, so they are set with libc's <c>setenv</c>/<c>mallopt</c> before the first
/// torch call (.NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach native
/// <c>getenv</c>). Nothing is done on non-glibc systems, or when libgomp is already loaded.</para>
/// </remarks>
internal static class ProcessTuning
{
    /// <summary>Environment variable that turns the allocator setting off (value <c>default</c>).</summary>
    public const string MallocVariable = "FASTTEXT_MALLOC";

    /// <summary>The spin count set when the environment has none.</summary>
    public const string SpinCount = "10000";

    private const int TrimThreshold = -1;      // M_TRIM_THRESHOLD
    private const int MmapMax = -4;            // M_MMAP_MAX
    private const int ArenaMax = -8;           // M_ARENA_MAX

    private delegate int MalloptFunction(int parameter, int value);

    private delegate int SetenvFunction([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>Whether glibc keeps freed memory in this process.</summary>
    public static bool AllocatorTuned { get; private set; }

    /// <summary>The libgomp spin count in force, when this process set it (null: the environment's or libgomp's own).</summary>
    public static string? SpinCountSet { get; private set; }

    private static bool applied;

    /// <summary>Applies both settings once (glibc only); later calls do nothing.</summary>
    public static void Apply()
    {
        if (applied)
        {
            return;
        }
        applied = true;
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad("libc.so.6", out IntPtr libc))
        {
            return;
        }
        if (!string.Equals(Environment.GetEnvironmentVariable(MallocVariable), "default", StringComparison.OrdinalIgnoreCase)
            && NativeLibrary.TryGetExport(libc, "mallopt", out IntPtr mallopt))
        {
            var set = Marshal.GetDelegateForFunctionPointer<MalloptFunction>(mallopt);
            // mallopt returns 1 on success; both must take for the setting to mean anything.
            AllocatorTuned = set(MmapMax, 0) == 1 & set(TrimThreshold, int.MaxValue) == 1;
            set(ArenaMax, 1);                  // one heap: blocks freed by one thread serve the next thread's requests
        }
        if (Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is null && !LibgompLoaded()
            && NativeLibrary.TryGetExport(libc, "setenv", out IntPtr setenv)
            && Marshal.GetDelegateForFunctionPointer<SetenvFunction>(setenv)("GOMP_SPINCOUNT", SpinCount, 0) == 0)
        {
            SpinCountSet = SpinCount;
        }
    }

    // libgomp reads its environment when it is loaded; once mapped, a change would not be seen.
    private static bool LibgompLoaded()
    {
        try
        {
            return File.ReadLines("/proc/self/maps").Any(line => line.Contains("libgomp", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return true;
        }
    }
}
