using System.Diagnostics;
using System.Security.Cryptography;
using FastText.Engine.Models;

namespace FastText.Engine.Testing;

/// <summary>
/// A <c>fasttext</c> command run out of process and killed with SIGKILL (no handler runs, as in a power cut or the
/// OOM killer) at a chosen moment, then the folder it wrote checked: every weights and checkpoint file left must be
/// whole (its SHA-256 trailer verifies), so a later <c>--resume</c> starts from complete files only. Shared by the
/// reliability tests (a few kill points) and the kill soak in <c>bench/</c> (many).
/// </summary>
internal static class KilledCommand
{
    /// <summary>Where to kill: after a delay, or the moment the <paramref name="Nth"/> checkpoint write starts
    /// (its temporary file is created), so the file being written is cut short.</summary>
    /// <param name="Delay">Kill after this long (ignored when <paramref name="Nth"/> is set).</param>
    /// <param name="Nth">Kill at the start of the n-th checkpoint write (1-based), or null.</param>
    public sealed record KillPoint(TimeSpan Delay, int? Nth = null)
    {
        public override string ToString() => Nth is int n ? $"during checkpoint write {n}" : FormattableString.Invariant($"after {Delay.TotalSeconds:F2} s");
    }

    /// <summary>What one killed run left.</summary>
    /// <param name="Killed">The process was still running when killed (false: it finished first).</param>
    /// <param name="MidWrite">A temporary was still on disk after the kill: the kill cut a write short.</param>
    /// <param name="Broken">Weights or checkpoint files that do not verify (must be empty).</param>
    /// <param name="Files">The folder's files after the kill (relative paths).</param>
    /// <param name="Writes">Checkpoint writes started before the kill (counted only when killing at a write).</param>
    /// <param name="Elapsed">Time from the start to the kill (or the end).</param>
    public sealed record Outcome(bool Killed, bool MidWrite, IReadOnlyList<string> Broken, IReadOnlyList<string> Files, int Writes, TimeSpan Elapsed);

    /// <summary>Runs <paramref name="fasttext"/> with <paramref name="arguments"/> and kills it at <paramref name="point"/>.</summary>
    /// <param name="fasttext">The CLI's executable.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="folder">The command's output folder (watched for checkpoint writes, checked after the kill).</param>
    /// <param name="point">When to kill.</param>
    /// <param name="timeout">The longest the command may run before the kill point is given up (it is killed then too).</param>
    public static Outcome Run(string fasttext, IReadOnlyList<string> arguments, string folder, KillPoint point, TimeSpan timeout)
    {
        string checkpoints = Path.Combine(folder, "checkpoints");
        Directory.CreateDirectory(checkpoints);
        using var writes = new SemaphoreSlim(0);
        using var watcher = new FileSystemWatcher(checkpoints) { Filter = ".*.tmp*", EnableRaisingEvents = point.Nth is not null };
        watcher.Created += (_, _) => writes.Release();
        using Process process = Start(fasttext, arguments);
        process.OutputDataReceived += (_, _) => { };     // drained, so a chatty command never blocks on a full pipe
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        bool reached = true;
        int seen = 0;
        if (point.Nth is int nth)
        {
            while (seen < nth && reached)
            {
                if (writes.Wait(10))
                {
                    seen++;
                }
                reached = !process.HasExited && clock.Elapsed < timeout;
            }
        }
        else
        {
            reached = !process.WaitForExit(point.Delay);
        }
        bool killed = !process.HasExited;
        if (killed)
        {
            process.Kill();          // SIGKILL: no cancellation handler, no finally block runs
        }
        TimeSpan elapsed = clock.Elapsed;
        if (!process.WaitForExit(30_000))
        {
            throw new TimeoutException($"fasttext {string.Join(' ', arguments)} did not die within 30 s of SIGKILL.");
        }
        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f)).Order(StringComparer.Ordinal).ToList();
        var broken = new List<string>();
        foreach (string file in files.Where(f => !IsTemporary(f) && (f.EndsWith(".weights", StringComparison.Ordinal) || f.EndsWith(".ckpt", StringComparison.Ordinal))))
        {
            try
            {
                TensorArchive.Verify(Path.Combine(folder, file));
            }
            catch (InvalidDataException error)
            {
                broken.Add($"{file}: {error.Message}");
            }
        }
        if (!killed && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"fasttext {string.Join(' ', arguments)} failed (exit {process.ExitCode}) before its kill point.");
        }
        Thread.Sleep(50);            // the watcher's last events
        return new Outcome(killed && reached, files.Any(IsTemporary), broken, files, seen + writes.CurrentCount, elapsed);
    }

    /// <summary>Runs the command to its end; returns exit code, stdout and stderr.</summary>
    public static (int Exit, string Output, string Error) RunToEnd(string fasttext, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        using Process process = Start(fasttext, arguments);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            throw new TimeoutException($"fasttext {string.Join(' ', arguments)} took longer than {timeout.TotalSeconds:F0} s.");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>SHA-256 (hex) of each of <paramref name="names"/> in <paramref name="folder"/>, in order, space-separated.</summary>
    public static string Digests(string folder, params string[] names) =>
        string.Join(' ', names.Select(n => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, n))))));

    /// <summary>An <c>AtomicFile</c> temporary (<c>.name.pid.guid.tmp…</c>).</summary>
    public static bool IsTemporary(string path) => Path.GetFileName(path).StartsWith('.') && Path.GetFileName(path).Contains(".tmp", StringComparison.Ordinal);

    /// <summary>Starts the command as the tests and soaks run it: stdout and stderr redirected, one torch thread.</summary>
    public static Process Start(string fasttext, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(fasttext)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["FASTTEXT_TORCH_THREADS"] = "1";     // deterministic kernels: the same weights run to run
        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start '{fasttext}'.");
    }
}
