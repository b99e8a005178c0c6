#:project ../../src/FastText.Engine/FastText.Engine.csproj
#:package Tokenizers.DotNet
#:package Tokenizers.DotNet.runtime.linux-x64
#:property PublishAot=false
// Benchmark program: tokenization throughput per CPU-second (process CPU time), which stays meaningful on a shared,
// overloaded machine where wall-clock MB/s mostly measures how much CPU the scheduler handed out. Same documents,
// vocabulary and rival setups as bench/FastText.Benchmarks/Text/TokenizerBenchmarks.cs.
// usage: dotnet run --file scripts/dev/tokenizer-cpu-throughput.cs -c Release -- [repetitions] > perf-results/TokenizerCpuThroughput.md
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FastText.Engine.Text;
using Microsoft.ML.Tokenizers;

int repetitions = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 7;
string root = Directory.GetCurrentDirectory();
Console.WriteLine("# Tokenizer throughput per CPU-second");
Console.WriteLine();
Console.WriteLine($"- measured: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} logical cores (shared), {repetitions} repetitions, medians");
Console.WriteLine("- command: `dotnet run --file scripts/dev/tokenizer-cpu-throughput.cs -c Release -- " + repetitions + "`");
Console.WriteLine("- MB/CPU-s = raw UTF-8 input bytes / process CPU time (all threads); cpu/wall = cores actually obtained");
Console.WriteLine();
Console.WriteLine("| sample | tokenizer | threads | wall MB/s | cpu/wall | MB per CPU-second | allocated B/token |");
Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
foreach (string name in new[] { "brown", "spam-assassin" })
{
    byte[][] documents = new TarGzDocumentSource(Path.Combine(root, "samples", name + ".tar.gz")).ReadDocuments(new SourceProblems())
        .Select(d => d.Utf8.ToArray()).ToArray();
    string[] strings = documents.Select(d => Encoding.UTF8.GetString(d)).ToArray();
    double bytes = documents.Sum(d => (double)d.Length);
    var counts = new Dictionary<string, long>(StringComparer.Ordinal);
    var order = new List<string>();
    var counter = new FastaiTokenizer();
    long tokens = 0;
    foreach (string text in strings)
    {
        foreach (string token in counter.Tokenize(text))
        {
            tokens++;
            if (!counts.TryAdd(token, 1))
            {
                counts[token]++;
            }
            else
            {
                order.Add(token);
            }
        }
    }
    Vocabulary vocabulary = Vocabulary.Build(order.Select(t => new KeyValuePair<string, long>(t, counts[t])));
    string[] words = vocabulary.Tokens.Where(t => t != SpecialTokens.Fake && !t.Any(char.IsWhiteSpace)).Distinct().ToArray();
    string json = Path.Combine(Path.GetTempPath(), $"tokenizer-{Guid.NewGuid():N}.json");
    File.WriteAllText(json, JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["version"] = "1.0", ["truncation"] = null, ["padding"] = null, ["added_tokens"] = Array.Empty<object>(),
        ["normalizer"] = new Dictionary<string, object> { ["type"] = "Lowercase" },
        ["pre_tokenizer"] = new Dictionary<string, object> { ["type"] = "BertPreTokenizer" },
        ["post_processor"] = null, ["decoder"] = null,
        ["model"] = new Dictionary<string, object> { ["type"] = "WordLevel", ["vocab"] = words.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i), ["unk_token"] = SpecialTokens.Unknown },
    }));
    using var huggingFace = new Tokenizers.DotNet.Tokenizer(vocabPath: json);
    WordPieceTokenizer microsoft = WordPieceTokenizer.Create(new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', words))),
        new WordPieceOptions { Normalizer = new LowerCaseNormalizer(), PreTokenizer = PreTokenizer.CreateWordOrPunctuation(), UnknownToken = SpecialTokens.Unknown });

    foreach (int threads in new[] { 1, 2 })
    {
        var ours = Enumerable.Range(0, threads).Select(_ => new FastaiTokenizer()).ToArray();
        var buffers = Enumerable.Range(0, threads).Select(_ => new int[1 << 20]).ToArray();
        Report(name, "ours (rules + split + numericalize)", threads, t =>
        {
            var sink = new IdSink(vocabulary, buffers[t]);
            for (int d = t; d < documents.Length; d += threads)
            {
                ours[t].TokenizeUtf8(documents[d], ref sink);
            }
        });
    }
    Report(name, "Microsoft.ML.Tokenizers WordPiece", 1, _ => { foreach (string s in strings) microsoft.EncodeToIds(s); });
    Report(name, "HuggingFace WordLevel (Tokenizers.DotNet)", 1, _ => { foreach (string s in strings) huggingFace.Encode(s); });
    File.Delete(json);

    void Report(string sample, string tokenizer, int threads, Action<int> run)
    {
        run(0); // warm-up (JIT, caches)
        var wall = new List<double>();
        var cpu = new List<double>();
        var allocated = new List<double>();
        for (int r = 0; r < repetitions; r++)
        {
            GC.Collect();
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var stopwatch = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, run);
            stopwatch.Stop();
            cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
            wall.Add(stopwatch.Elapsed.TotalSeconds);
            allocated.Add(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore);
        }
        double w = Median(wall);
        double c = Median(cpu);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {sample} | {tokenizer} | {threads} | {bytes / 1e6 / w:F1} | {c / w:F2} | {bytes / 1e6 / c:F1} | {Median(allocated) / tokens:F3} |"));
    }
}

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}

struct IdSink(Vocabulary vocabulary, int[] ids) : ITokenSink
{
    private int count;

    public void Add(ReadOnlySpan<char> token)
    {
        ids[count & (ids.Length - 1)] = vocabulary.IdOf(token);
        count++;
    }
}
