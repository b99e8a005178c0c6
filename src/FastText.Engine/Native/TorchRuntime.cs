using System.Runtime.InteropServices;
using TorchSharp;

namespace FastText.Engine.Native;

/// <summary>
/// Process-wide Torch set-up: loads libtorch with a diagnostic that names the real cause when it cannot, and applies
/// the thread policy. Call <see cref="Initialize"/> once before touching <c>torch</c>.
/// </summary>
public static class TorchRuntime
{
    /// <summary>Environment variable read for the intra-op thread count when none is passed explicitly.</summary>
    public const string ThreadsVariable = "FASTTEXT_TORCH_THREADS";

    private static readonly object Gate = new();

    /// <summary>Where the engine writes what a user should know once about this machine, such as a native kernel that
    /// failed its float64 check and the one used instead (default: standard error).</summary>
    public static TextWriter Notices { get; set; } = Console.Error;
    private static bool initialized;

    /// <summary>
    /// Applies the engine's process-wide native settings (glibc keeps freed memory in one heap, libgomp's idle threads
    /// spin less; native-notes/allocator.md) without loading libtorch. Call it first in <c>Main</c>, before other threads
    /// start: glibc ties each thread to a heap ("arena") at its first allocation, and a training thread that got one of
    /// its own before the one-heap setting allocates libtorch's large blocks (oneDNN's LSTM scratchpads, above 64 MB)
    /// outside the heap that keeps freed memory, so they are mapped, faulted in and unmapped again every step. Threads
    /// started after the call usually share the main heap (glibc does not promise it); starting the process with
    /// <c>GLIBC_TUNABLES=glibc.malloc.arena_max=1</c> makes it certain. <see cref="Initialize"/> applies the settings
    /// too, which is in time only if the thread that will train had not allocated before. Later calls do nothing.
    /// </summary>
    public static void PrepareProcess()
    {
        lock (Gate)
        {
            ProcessTuning.Apply();
        }
    }

    /// <summary>
    /// Loads libtorch (throwing a <see cref="TorchLoadException"/> with the loader's own error if it cannot) and sets
    /// the number of intra-op threads: <paramref name="threads"/>, else <see cref="ThreadsVariable"/>, else the core
    /// count. Later calls only change the thread count.
    /// </summary>
    /// <param name="threads">Intra-op threads; use 1 in tests and whenever another busy process shares the cores
    /// (libgomp's spinning threads can make ops 10–20× slower when oversubscribed).</param>
    /// <returns>The intra-op thread count now in force.</returns>
    public static int Initialize(int? threads = null)
    {
        lock (Gate)
        {
            if (!initialized)
            {
                ProcessTuning.Apply();          // before libtorch loads: allocator, OpenMP spinning (native-notes/allocator.md)
                EnsureLoaded();
                initialized = true;
            }
            int count = threads ?? ThreadsFromEnvironment() ?? Environment.ProcessorCount;
            if (count < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(threads), count, "The torch thread count must be at least 1.");
            }
            if (torch.get_num_threads() != count)
            {
                torch.set_num_threads(count);
            }
            return count;
        }
    }

    /// <summary>Whether a CUDA device can be used (always false with the CPU backend this project ships with).</summary>
    public static bool CudaAvailable
    {
        get
        {
            Initialize();
            return torch.cuda.is_available();
        }
    }

    private static int? ThreadsFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        if (!int.TryParse(text, out int value) || value < 1)
        {
            throw new ArgumentException($"{ThreadsVariable}='{text}' is not a positive whole number.");
        }
        return value;
    }

    private static void EnsureLoaded()
    {
        try
        {
            // Any torch member runs TorchSharp's type initializer, which loads the natives.
            _ = torch.get_num_threads();
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
        {
            throw new TorchLoadException(Diagnose(), e);
        }
    }

    /// <summary>
    /// Explains why libtorch did not load, with the dynamic loader's own message (TorchSharp's says only that a
    /// reference to libtorch-cpu-linux-x64 is missing, which is usually untrue).
    /// </summary>
    internal static string Diagnose()
    {
        string folder = AppContext.BaseDirectory;
        string shim = Path.Combine(folder, "libLibTorchSharp.so");
        var report = new System.Text.StringBuilder();
        report.AppendLine("FastText.Engine could not load libtorch.");
        if (!File.Exists(shim))
        {
            report.AppendLine($"- {shim} is missing: build for linux-x64 (the repository's Directory.Build.props does) so the natives are copied next to the program.");
        }
        else
        {
            if (NativeLibrary.TryLoad(Path.Combine(folder, "libtorch_cpu.so"), out IntPtr cpu))
            {
                NativeLibrary.Free(cpu);
            }
            try
            {
                NativeLibrary.Free(NativeLibrary.Load(shim));
                report.AppendLine($"- {shim} loads by itself; the failure lies elsewhere (see the inner exception).");
            }
            catch (DllNotFoundException e)
            {
                report.AppendLine($"- the dynamic loader says: {e.Message}");
            }
            try
            {
                if (GlibcxxVersionPatch.HasStrongRequirement(shim))
                {
                    report.AppendLine($"- {shim} still requires {GlibcxxVersionPatch.DefaultVersion}, which this system's libstdc++ "
                        + $"({GlibcxxVersionPatch.FindSystemLibstdcxx() ?? "not found"}) may lack. The build's FastTextPatchLibTorchSharp "
                        + "target marks that need weak; rebuild with this repository's Directory.Build.targets, or see native-notes/.");
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                report.AppendLine($"- could not inspect {shim}: {e.Message}");
            }
        }
        string fallback = Path.Combine(folder, "cpu");
        if (Directory.Exists(fallback))
        {
            report.AppendLine($"- {fallback} was created by TorchSharp's fallback loader with unpatched copies; delete it.");
        }
        report.Append("- check that libtorch_cpu.so, libc10.so and libgomp-*.so sit next to libLibTorchSharp.so and that "
            + "LD_LIBRARY_PATH does not point at another libtorch.");
        return report.ToString();
    }
}

/// <summary>Thrown when no kernel for an operation computes right numbers on this CPU (checked against float64 before
/// first use); the message names the shape, each kernel's error and what to do. Nothing is computed with a wrong kernel.</summary>
public sealed class KernelNumericsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KernelNumericsException(string message) : base(message)
    {
    }
}

/// <summary>Thrown when libtorch cannot be loaded; the message lists the loader's error and what to check.</summary>
public sealed class TorchLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TorchLoadException(string message, Exception inner) : base(message, inner)
    {
    }
}
