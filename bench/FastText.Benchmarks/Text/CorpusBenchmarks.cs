using BenchmarkDotNet.Attributes;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Text;

namespace FastText.Benchmarks.Text;

/// <summary>
/// End to end: a shipped sample archive read (gunzip + tar), tokenized, counted, vocabulary built, numericalized and
/// written as a corpus file on all cores; and opening that file (memory-mapped, header only).
/// </summary>
public class CorpusBenchmarks
{
    private string folder = null!;
    private string builtCorpus = null!;
    private string archive = null!;

    /// <summary>The sample.</summary>
    [ParamsSource(nameof(Samples))]
    public SampleName Sample { get; set; } = new("brown");

    /// <summary>Both shipped samples.</summary>
    public static IEnumerable<SampleName> Samples => [new("brown"), new("spam-assassin")];

    [GlobalSetup]
    public void Setup()
    {
        folder = Path.Combine(Path.GetTempPath(), "fte-corpus-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        archive = TextSample.ArchivePathOf(Sample.Name);
        builtCorpus = CorpusBuilder.Build(new TarGzDocumentSource(archive), Path.Combine(folder, "open.ftc")).CorpusPath;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(folder, recursive: true);

    /// <summary>Archive → corpus file + vocabulary, all cores.</summary>
    [Benchmark]
    public long BuildFromArchive() =>
        CorpusBuilder.Build(new TarGzDocumentSource(archive), Path.Combine(folder, "built.ftc")).Tokens;

    /// <summary>Open the corpus file and read one document's length (O(1) in corpus size).</summary>
    [Benchmark]
    [FixedWorkload]
    public int Open()
    {
        using NumericalizedCorpus corpus = NumericalizedCorpus.Open(builtCorpus);
        return corpus.DocumentLength(corpus.DocumentCount - 1);
    }
}
