using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using FastText.Engine.Text;
using Microsoft.ML.Tokenizers;

namespace FastText.Benchmarks.Text;

/// <summary>
/// Rules + word splitting + numericalization of a whole sample, ours (1 and 2 threads, from raw UTF-8, ids through
/// the library's batched <see cref="TokenIdBuffer"/> as <see cref="CorpusBuilder"/> numericalizes) next to
/// HuggingFace tokenizers (Tokenizers.DotNet: lowercase + BertPreTokenizer + WordLevel with our vocabulary) and
/// Microsoft.ML.Tokenizers (lowercase + word-or-punctuation pre-tokenizer + WordPiece with our vocabulary), on the
/// same documents in the same run. The rivals get decoded strings (a head start: no UTF-8 decoding) and do not apply
/// fastai's rules. MB/s are of raw UTF-8 input; tokens/s use our token count. The 2-thread case hands out documents
/// 16 at a time from a shared counter (the samples' documents differ widely in size, so fixed halves would leave one
/// thread idle); its Speedup column is the 1-thread median over its own, measured in the same run.
/// </summary>
public class TokenizerBenchmarks
{
    private FastaiTokenizer[] ours = null!;
    private TokenIdBuffer[] buffers = null!;
    private int nextDocument;
    private Tokenizers.DotNet.Tokenizer huggingFace = null!;
    private WordPieceTokenizer microsoft = null!;
    private string workFolder = null!;

    /// <summary>The sample tokenized.</summary>
    [ParamsSource(nameof(Samples))]
    public SampleName Sample { get; set; } = new("brown");

    /// <summary>Both shipped samples.</summary>
    public static IEnumerable<SampleName> Samples => [new("brown"), new("spam-assassin")];

    [GlobalSetup]
    public void Setup()
    {
        TextSample sample = Sample.Sample;
        ours = [new FastaiTokenizer(), new FastaiTokenizer()];
        buffers = [new TokenIdBuffer(sample.Vocabulary), new TokenIdBuffer(sample.Vocabulary)];
        workFolder = Path.Combine(Path.GetTempPath(), "fte-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(workFolder);

        // Rival models over the same vocabulary (whitespace tokens cannot be vocabulary lines, so they are left out).
        string[] words = sample.Vocabulary.Tokens.Where(t => t != SpecialTokens.Fake && !t.Any(char.IsWhiteSpace)).Distinct().ToArray();
        string json = Path.Combine(workFolder, "tokenizer.json");
        File.WriteAllText(json, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = Array.Empty<object>(),
            ["normalizer"] = new Dictionary<string, object> { ["type"] = "Lowercase" },
            ["pre_tokenizer"] = new Dictionary<string, object> { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = null,
            ["decoder"] = null,
            ["model"] = new Dictionary<string, object>
            {
                ["type"] = "WordLevel",
                ["vocab"] = words.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i),
                ["unk_token"] = SpecialTokens.Unknown,
            },
        }));
        huggingFace = new Tokenizers.DotNet.Tokenizer(vocabPath: json);
        using var vocabulary = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', words)));
        microsoft = WordPieceTokenizer.Create(vocabulary, new WordPieceOptions
        {
            Normalizer = new LowerCaseNormalizer(),
            PreTokenizer = PreTokenizer.CreateWordOrPunctuation(),
            UnknownToken = SpecialTokens.Unknown,
        });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        huggingFace.Dispose();
        Directory.Delete(workFolder, recursive: true);
    }

    /// <summary>Ours, one thread: decode + eight rules + split + vocabulary lookup for every document.</summary>
    [Benchmark(Baseline = true)]
    public long Ours_1Thread()
    {
        nextDocument = 0;
        return Run(0);
    }

    /// <summary>Ours, one thread, without the vocabulary lookup (rules + split only), to show what numericalizing costs.</summary>
    [Benchmark]
    public long Ours_1Thread_NoLookup()
    {
        var sink = new CountingSink();
        foreach (byte[] document in Sample.Sample.Documents)
        {
            ours[0].TokenizeUtf8(document, ref sink);
        }
        return sink.Count;
    }

    /// <summary>Ours, two threads sharing the documents (16 at a time from a common counter).</summary>
    [Benchmark]
    public long Ours_2Threads()
    {
        nextDocument = 0;
        long first = 0;
        long second = 0;
        Parallel.Invoke(() => first = Run(0), () => second = Run(1));
        return first + second;
    }

    private long Run(int worker)
    {
        const int Chunk = 16;
        byte[][] documents = Sample.Sample.Documents;
        TokenIdBuffer ids = buffers[worker];
        var sink = new TokenIdSink(ids);
        long checksum = 0;
        for (int start = Interlocked.Add(ref nextDocument, Chunk) - Chunk; start < documents.Length;
             start = Interlocked.Add(ref nextDocument, Chunk) - Chunk)
        {
            for (int d = start; d < Math.Min(start + Chunk, documents.Length); d++)
            {
                ids.Clear();
                ours[worker].TokenizeUtf8(documents[d], ref sink);
                ids.Flush();
                checksum += ids.Count;
            }
        }
        return checksum;
    }

    /// <summary>HuggingFace tokenizers (Rust) through Tokenizers.DotNet, word-level model.</summary>
    [Benchmark]
    public long HuggingFace_WordLevel()
    {
        long checksum = 0;
        foreach (string text in Sample.Sample.Strings)
        {
            checksum += huggingFace.Encode(text).Length;
        }
        return checksum;
    }

    /// <summary>Microsoft.ML.Tokenizers WordPiece over the same vocabulary.</summary>
    [Benchmark]
    public long MicrosoftML_WordPiece()
    {
        long checksum = 0;
        foreach (string text in Sample.Sample.Strings)
        {
            checksum += microsoft.EncodeToIds(text).Count;
        }
        return checksum;
    }

    private struct CountingSink : ITokenSink
    {
        public long Count;

        public void Add(ReadOnlySpan<char> token) => Count++;
    }
}
