using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace FastText.Engine.Tests.Text;

/// <summary>A temporary folder with a tiny IMDb-like layout (deleted on dispose).</summary>
internal sealed class CorpusTestData : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public string Root => folder.Path;

    public string Imdb => Path.Combine(Root, "imdb");

    public string File(string relative, string text) => File(relative, Encoding.UTF8.GetBytes(text));

    public string File(string relative, byte[] bytes)
    {
        string path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>train/{pos,neg}, test/{pos,neg}, unsup with a few reviews each.</summary>
    public void WriteImdb()
    {
        File("imdb/train/pos/0.txt", "A great movie. Great acting, great story!");
        File("imdb/train/pos/1.txt", "I loved it. The movie was very very very good.");
        File("imdb/train/neg/0.txt", "A bad movie. Bad acting and a bad story.");
        File("imdb/train/neg/1.txt", "I hated it... The movie was BORING.");
        File("imdb/test/pos/0.txt", "Great fun, a great movie.");
        File("imdb/test/neg/0.txt", "Bad, bad, bad movie.");
        File("imdb/unsup/0.txt", "The movie exists. It is a movie.");
        File("imdb/README", "not a document");
    }

    /// <summary>Packs <paramref name="folder"/> (relative to Root) into a .tar.gz with entry names under <paramref name="folder"/>.</summary>
    public string TarGz(string folder)
    {
        string archive = Path.Combine(Root, folder + ".tar.gz");
        using FileStream file = System.IO.File.Create(archive);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var writer = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (string path in Directory.GetFiles(Path.Combine(Root, folder), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            writer.WriteEntry(path, Path.GetRelativePath(Root, path).Replace('\\', '/'));
        }
        return archive;
    }

    public void Dispose() => folder.Dispose();
}
