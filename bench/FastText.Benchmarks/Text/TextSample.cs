using System.Text;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Text;

namespace FastText.Benchmarks.Text;

/// <summary>One of the shipped sample corpora, loaded once per process: raw UTF-8 documents, the same as strings, and a vocabulary.</summary>
public sealed class TextSample : IWorkload
{
    private static readonly Dictionary<string, TextSample> Cache = [];

    private TextSample(string name)
    {
        Name = name;
        ArchivePath = Locate(name + ".tar.gz");
        Documents = new TarGzDocumentSource(ArchivePath).ReadDocuments(new SourceProblems()).Select(d => d.Utf8.ToArray()).ToArray();
        Strings = Documents.Select(d => Encoding.UTF8.GetString(d)).ToArray();
        BytesPerOperation = Documents.Sum(d => (double)d.Length);

        // The vocabulary fastai would build (min_freq 3, max 60000), and the token count of one pass.
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var order = new List<string>();
        var tokenizer = new FastaiTokenizer();
        long tokens = 0;
        foreach (string text in Strings)
        {
            foreach (string token in tokenizer.Tokenize(text))
            {
                tokens++;
                if (counts.TryGetValue(token, out long count))
                {
                    counts[token] = count + 1;
                }
                else
                {
                    counts[token] = 1;
                    order.Add(token);
                }
            }
        }
        TokensPerOperation = tokens;
        Vocabulary = Vocabulary.Build(order.Select(t => new KeyValuePair<string, long>(t, counts[t])));
    }

    /// <summary>"brown" or "spam-assassin".</summary>
    public string Name { get; }

    /// <summary>The archive in samples/.</summary>
    public string ArchivePath { get; }

    /// <summary>Raw documents (UTF-8).</summary>
    public byte[][] Documents { get; }

    /// <summary>The documents decoded (what the rival tokenizers take).</summary>
    public string[] Strings { get; }

    /// <summary>The vocabulary built from this sample.</summary>
    public Vocabulary Vocabulary { get; }

    /// <inheritdoc />
    public double TokensPerOperation { get; }

    /// <inheritdoc />
    public double FlopsPerOperation => 0;

    /// <inheritdoc />
    public double BytesPerOperation { get; }

    /// <summary>
    /// The archive of sample <paramref name="name"/> without loading it (benchmarks that read the archive themselves
    /// should not carry the decoded sample, ~100 MB, in their heap: every gen-2 collection would mark through it).
    /// </summary>
    public static string ArchivePathOf(string name) => Locate(name + ".tar.gz");

    /// <summary>The sample named <paramref name="name"/>, loaded on first use.</summary>
    public static TextSample Get(string name)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out TextSample? sample))
            {
                sample = new TextSample(name);
                Cache[name] = sample;
            }
            return sample;
        }
    }

    private static string Locate(string file)
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "samples", file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        string fromCurrent = Path.Combine(Directory.GetCurrentDirectory(), "samples", file);
        return File.Exists(fromCurrent) ? fromCurrent : throw new FileNotFoundException($"samples/{file} not found above {AppContext.BaseDirectory}.");
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A parameter naming a sample; BenchmarkDotNet shows <see cref="ToString"/>.</summary>
public sealed class SampleName(string name) : IWorkload
{
    /// <summary>The sample's name.</summary>
    public string Name { get; } = name;

    /// <summary>The loaded sample.</summary>
    public TextSample Sample => TextSample.Get(Name);

    /// <inheritdoc />
    public double TokensPerOperation => Sample.TokensPerOperation;

    /// <inheritdoc />
    public double FlopsPerOperation => 0;

    /// <inheritdoc />
    public double BytesPerOperation => Sample.BytesPerOperation;

    /// <inheritdoc />
    public override string ToString() => Name;
}
