namespace FastText.Engine.Text;

/// <summary>Writes files through a temporary sibling and a rename, so readers never see a half-written file.</summary>
internal static class AtomicFile
{
    /// <summary>A temporary path next to <paramref name="path"/> (same directory, so the rename is atomic).</summary>
    public static string TemporaryPathFor(string path)
    {
        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        return Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Moves a finished temporary file over <paramref name="path"/>.</summary>
    public static void Commit(string temporaryPath, string path) => File.Move(temporaryPath, path, overwrite: true);

    /// <summary>Writes <paramref name="contents"/> (UTF-8, no BOM) atomically.</summary>
    public static void WriteAllText(string path, string contents)
    {
        string temporary = TemporaryPathFor(path);
        try
        {
            File.WriteAllText(temporary, contents, new System.Text.UTF8Encoding(false));
            Commit(temporary, path);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
