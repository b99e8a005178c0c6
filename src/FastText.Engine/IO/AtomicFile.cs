using System.Text;

namespace FastText.Engine.IO;

/// <summary>
/// The one way every artifact (corpus, vocabulary, weights, checkpoints, reports, plots) is written: to a hidden
/// temporary sibling, flushed, then renamed over the final name. The rename is atomic on one file system, so a crash,
/// Ctrl+C or a full disk never leaves a half-written file under the real name, and the previous version survives.
/// </summary>
internal static class AtomicFile
{
    /// <summary>A fresh temporary path beside <paramref name="path"/> (same folder, so the rename is atomic); creates the folder.</summary>
    /// <remarks>The final extension is kept at the end, for writers that choose a format from it. The name carries the
    /// writing process's id, so temporaries that a killed process left for the same file (and the side files writers
    /// add with further suffixes) are deleted here, once their process is gone; a live process's are left alone.</remarks>
    public static string TemporaryPathFor(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(folder);
        SweepAbandoned(folder, Path.GetFileName(full));
        return Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp{Path.GetExtension(full)}");
    }

    /// <summary>Temporaries of <paramref name="name"/> in <paramref name="folder"/> whose writing process has ended
    /// (killed mid-write: a normal end or an exception deletes its own); returns how many were deleted.</summary>
    internal static int SweepAbandoned(string folder, string name)
    {
        string prefix = "." + name + ".";
        int deleted = 0;
        foreach (string file in Directory.EnumerateFiles(folder, prefix + "*"))
        {
            string rest = Path.GetFileName(file)[prefix.Length..];
            int dot = rest.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0 || !rest.Contains(".tmp", StringComparison.Ordinal)
                || !int.TryParse(rest.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid)
                || pid == Environment.ProcessId || IsRunning(pid))
            {
                continue;
            }
            try
            {
                File.Delete(file);
                deleted++;
            }
            catch (IOException)
            {
                // Another process sweeping the same folder got there first, or the file is busy: it is not ours to keep.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return deleted;
    }

    private static bool IsRunning(int pid)
    {
        if (Directory.Exists("/proc/self"))
        {
            return Directory.Exists($"/proc/{pid}");
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Moves a finished temporary file over <paramref name="path"/>.</summary>
    public static void Commit(string temporaryPath, string path) => File.Move(temporaryPath, Path.GetFullPath(path), overwrite: true);

    /// <summary>Writes <paramref name="path"/> by handing <paramref name="write"/> a stream on a temporary file,
    /// flushing it to disk and renaming it into place.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        WriteThroughPath(path, temporary =>
        {
            using var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            write(stream);
            stream.Flush(flushToDisk: true);
        });
    }

    /// <summary>Writes <paramref name="path"/> by handing <paramref name="write"/> a temporary path to fill (for
    /// libraries that only write to a path), then renaming it into place.</summary>
    public static void WriteThroughPath(string path, Action<string> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string temporary = TemporaryPathFor(path);
        try
        {
            write(temporary);
            Commit(temporary, path);
        }
        catch (IOException error) when (error is not FileNotFoundException and not DirectoryNotFoundException)
        {
            // A full disk or a read-only folder: say which artifact could not be written, not which temporary.
            throw new IOException($"Could not write '{path}' ({error.Message.TrimEnd('.')}); the previous file, if any, is unchanged.", error);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
        Write(path, stream => stream.Write(bytes));
    }

    /// <summary>Writes <paramref name="bytes"/>.</summary>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes));
    }
}
