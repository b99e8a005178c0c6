using BenchmarkDotNet.Attributes;
using FastText.Engine.Text;

namespace FastText.Benchmarks.Text;

/// <summary>The word splitter alone (rules 6–8 fused, no vocabulary lookup): block-bitmask scanner vs the scalar reference.</summary>
public class WordScannerBenchmarks
{
    private readonly WordSplitter splitter = new();

    /// <summary>The sample split.</summary>
    [ParamsSource(nameof(Samples))]
    public SampleName Sample { get; set; } = new("brown");

    /// <summary>Both shipped samples.</summary>
    public static IEnumerable<SampleName> Samples => [new("brown"), new("spam-assassin")];

    /// <summary>Character-by-character scan.</summary>
    [Benchmark(Baseline = true)]
    public long Scalar()
    {
        var sink = new CountingSink();
        foreach (string text in Sample.Sample.Strings)
        {
            splitter.SplitScalar(text, ref sink, applyCaseRules: true, addBeginningOfStream: true);
        }
        return sink.Count;
    }

    /// <summary>Bitmask scan (what the tokenizer uses).</summary>
    [Benchmark]
    public long Blocks()
    {
        var sink = new CountingSink();
        foreach (string text in Sample.Sample.Strings)
        {
            splitter.Split(text, ref sink, applyCaseRules: true, addBeginningOfStream: true);
        }
        return sink.Count;
    }

    private struct CountingSink : ITokenSink
    {
        public long Count;

        public void Add(ReadOnlySpan<char> token) => Count++;
    }
}
