#:project ../../src/FastText.Engine/FastText.Engine.csproj
// Dev tool: builds a corpus from a source and prints the result, e.g. to check peak memory with /usr/bin/time -v.
// usage: dotnet run --file scripts/dev/build-corpus.cs -c Release -- <lines|folder|targz|brown|spam> <input> <output.ftc>
using FastText.Engine.Text;

ITextDocumentSource source = args[0] switch
{
    "lines" => new LineDocumentSource(args[1]),
    "folder" => new FolderDocumentSource(args[1]),
    "targz" => new TarGzDocumentSource(args[1]),
    "brown" => new BrownDocumentSource(args[1]),
    "spam" => new SpamAssassinDocumentSource(args[1]),
    _ => throw new ArgumentException($"unknown source kind '{args[0]}'"),
};
CorpusBuildResult result = CorpusBuilder.Build(source, args[2]);
Console.WriteLine($"{result.Documents} documents, {result.Tokens} tokens, {result.Bytes / 1e6:F1} MB in {result.Elapsed.TotalSeconds:F2} s " +
                  $"({result.Bytes / 1e6 / result.Elapsed.TotalSeconds:F1} MB/s), vocabulary {result.Vocabulary.Count}, " +
                  $"{result.InvalidUtf8Sequences} invalid UTF-8, {result.EmptyDocuments} empty, {result.Failures.Count} failures");
Console.WriteLine($"peak working set {Environment.WorkingSet / 1e6:F0} MB (current), GC heap {GC.GetTotalMemory(false) / 1e6:F0} MB");
