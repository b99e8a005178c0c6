using System.Text;
using FastText.Engine.Text;
using FastText.Engine.IO;

namespace FastText.Engine.Pipeline;

/// <summary>
/// A tokenized, numericalized corpus with its vocabulary, class names and a fixed training/validation split — the
/// pipeline's "corpus" artifact (fastai's <c>DataLoaders</c> source). Saved as <c>vocab.txt</c> + <c>corpus.bin</c>.
/// </summary>
public sealed class TextDataset
{
    private const string Magic = "FTDS1";
    private readonly int[][] documents;
    private readonly int[]? labels;

    private TextDataset(Vocabulary vocabulary, int[][] documents, int[]? labels, IReadOnlyList<string> classNames, int[] training, int[] validation, int maxTokens)
    {
        Vocabulary = vocabulary;
        this.documents = documents;
        this.labels = labels;
        ClassNames = classNames;
        Training = training;
        Validation = validation;
        MaxTokens = maxTokens;
        Corpus = new InMemoryTokenCorpus(documents, labels, labels is null ? null : classNames);
    }

    /// <summary>The vocabulary the ids refer to.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>All documents (training and validation) as the loaders read them.</summary>
    public ITokenCorpus Corpus { get; }

    /// <summary>Class names (empty for unlabelled text).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Document indices of the training split.</summary>
    public IReadOnlyList<int> Training { get; }

    /// <summary>Document indices of the validation split.</summary>
    public IReadOnlyList<int> Validation { get; }

    /// <summary>Tokens kept per document at most (0 = all).</summary>
    public int MaxTokens { get; }

    /// <summary>Number of documents.</summary>
    public int DocumentCount => documents.Length;

    /// <summary>Token ids of document <paramref name="index"/>.</summary>
    public int[] Document(int index) => documents[index];

    /// <summary>Tokenizes and numericalizes <paramref name="text"/> like the corpus was.</summary>
    public int[] Numericalize(string text)
    {
        int[] ids = Tokenizers.Value!.Numericalize(text, Vocabulary);
        return MaxTokens > 0 && ids.Length > MaxTokens ? ids[..MaxTokens] : ids;
    }

    // FastaiTokenizer reuses internal buffers: one per thread.
    private static readonly ThreadLocal<FastaiTokenizer> Tokenizers = new(() => new FastaiTokenizer());

    /// <summary>A corpus restricted to <paramref name="indices"/> (e.g. one split, or the first N labelled mails).</summary>
    public ITokenCorpus Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return new InMemoryTokenCorpus(indices.Select(i => documents[i]).ToList(),
            labels is null ? null : indices.Select(i => labels[i]).ToList(), labels is null ? null : ClassNames);
    }

    /// <summary>
    /// Tokenizes <paramref name="texts"/> (in parallel), builds a vocabulary unless one is given, and keeps the texts'
    /// own split when every text has one, else splits off a seeded random validation share (stratified by class).
    /// </summary>
    public static TextDataset Create(IReadOnlyList<LabelledText> texts, TextDatasetOptions options, Vocabulary? vocabulary = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        progress ??= NullProgress.Instance;
        var tokenized = new IReadOnlyList<string>[texts.Count];
        int done = 0;
        using (IProgressTask task = progress.Start("tokenizing", texts.Count, "documents"))
        {
            Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, i =>
            {
                IReadOnlyList<string> tokens = Tokenizers.Value!.Tokenize(texts[i].Text);
                tokenized[i] = options.MaxTokens > 0 && tokens.Count > options.MaxTokens ? tokens.Take(options.MaxTokens).ToArray() : tokens;
                int now = Interlocked.Increment(ref done);
                if (now % 64 == 0 || now == texts.Count)
                {
                    lock (tokenized)
                    {
                        task.Report(now);
                    }
                }
            });
        }
        vocabulary ??= Vocabulary.Build(CountTokens(tokenized), options.MinFrequency, options.MaxVocabulary);
        Vocabulary vocab = vocabulary;
        int[][] ids = tokenized.Select(tokens => tokens.Select(t => vocab.IdOf(t)).ToArray()).ToArray();
        string[] classNames = texts.Where(t => t.ClassName is not null).Select(t => t.ClassName!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        int[]? labels = null;
        if (classNames.Length > 0)
        {
            if (texts.Any(t => t.ClassName is null))
            {
                throw new ArgumentException("Either every text or none must have a class.", nameof(texts));
            }
            labels = texts.Select(t => Array.IndexOf(classNames, t.ClassName)).ToArray();
        }
        (int[] training, int[] validation) = texts.All(t => t.IsValidation is not null)
            ? (Enumerable.Range(0, texts.Count).Where(i => texts[i].IsValidation == false).ToArray(),
               Enumerable.Range(0, texts.Count).Where(i => texts[i].IsValidation == true).ToArray())
            : Split(texts.Count, labels, options.ValidationShare, options.Seed);
        return new TextDataset(vocabulary, ids, labels, classNames, training, validation, options.MaxTokens);
    }

    // Counts in first-occurrence order (Vocabulary.Build breaks count ties by that order).
    private static List<KeyValuePair<string, long>> CountTokens(IEnumerable<IReadOnlyList<string>> documents)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var counts = new List<KeyValuePair<string, long>>();
        foreach (IReadOnlyList<string> document in documents)
        {
            foreach (string token in document)
            {
                if (index.TryGetValue(token, out int at))
                {
                    counts[at] = new(token, counts[at].Value + 1);
                }
                else
                {
                    index[token] = counts.Count;
                    counts.Add(new(token, 1));
                }
            }
        }
        return counts;
    }

    private static (int[] Training, int[] Validation) Split(int count, int[]? labels, double share, int seed)
    {
        var random = new Random(seed);
        var training = new List<int>();
        var validation = new List<int>();
        IEnumerable<IGrouping<int, int>> strata = Enumerable.Range(0, count).GroupBy(i => labels?[i] ?? 0);
        foreach (IGrouping<int, int> stratum in strata)
        {
            int[] members = stratum.ToArray();
            random.Shuffle(members);
            int take = (int)Math.Round(members.Length * share);
            validation.AddRange(members.Take(take));
            training.AddRange(members.Skip(take));
        }
        training.Sort();
        validation.Sort();
        return (training.ToArray(), validation.ToArray());
    }

    /// <summary>Writes <c>vocab.txt</c> and <c>corpus.bin</c> into <paramref name="folder"/>, each atomically.</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        Vocabulary.Save(Path.Combine(folder, "vocab.txt"));
        AtomicFile.Write(Path.Combine(folder, "corpus.bin"), stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(MaxTokens);
            writer.Write(ClassNames.Count);
            foreach (string name in ClassNames)
            {
                writer.Write(name);
            }
            writer.Write(documents.Length);
            for (int d = 0; d < documents.Length; d++)
            {
                writer.Write(labels?[d] ?? -1);
                writer.Write(documents[d].Length);
                foreach (int id in documents[d])
                {
                    writer.Write(id);
                }
            }
            writer.Write(Validation.Count);
            foreach (int v in Validation)
            {
                writer.Write(v);
            }
        });
    }

    /// <summary>Reads a folder written by <see cref="Save"/>.</summary>
    public static TextDataset Load(string folder)
    {
        string path = Path.Combine(folder, "corpus.bin");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{folder}' is not a tokenized corpus folder (no corpus.bin; run `fasttext tokenize`).", path);
        }
        Vocabulary vocabulary = Vocabulary.Load(Path.Combine(folder, "vocab.txt"));
        using var reader = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        if (reader.ReadString() != Magic)
        {
            throw new InvalidDataException($"'{path}' is not a corpus file written by this version.");
        }
        int maxTokens = reader.ReadInt32();
        var classNames = new string[reader.ReadInt32()];
        for (int c = 0; c < classNames.Length; c++)
        {
            classNames[c] = reader.ReadString();
        }
        var documents = new int[reader.ReadInt32()][];
        int[]? labels = classNames.Length > 0 ? new int[documents.Length] : null;
        for (int d = 0; d < documents.Length; d++)
        {
            int label = reader.ReadInt32();
            if (labels is not null)
            {
                labels[d] = label;
            }
            var ids = new int[reader.ReadInt32()];
            for (int t = 0; t < ids.Length; t++)
            {
                ids[t] = reader.ReadInt32();
                if ((uint)ids[t] >= (uint)vocabulary.Count)
                {
                    throw new InvalidDataException($"'{path}': document {d} token {t} has id {ids[t]}, outside the {vocabulary.Count}-token vocabulary.");
                }
            }
            documents[d] = ids;
        }
        var validation = new int[reader.ReadInt32()];
        for (int v = 0; v < validation.Length; v++)
        {
            validation[v] = reader.ReadInt32();
        }
        var inValidation = new HashSet<int>(validation);
        int[] training = Enumerable.Range(0, documents.Length).Where(d => !inValidation.Contains(d)).ToArray();
        return new TextDataset(vocabulary, documents, labels, classNames, training, validation, maxTokens);
    }
}

/// <summary>How <see cref="TextDataset.Create"/> tokenizes and splits.</summary>
/// <param name="MaxVocabulary">Vocabulary size limit (fastai <c>max_vocab</c>, 60000).</param>
/// <param name="MinFrequency">Minimum count to enter the vocabulary (fastai <c>min_freq</c>, 3).</param>
/// <param name="ValidationShare">Share of documents held out (fastai <c>RandomSplitter(0.1)</c>).</param>
/// <param name="Seed">Split seed.</param>
/// <param name="MaxTokens">Keep at most this many tokens per document (0 = all); the small preset caps long mails.</param>
public sealed record TextDatasetOptions(int MaxVocabulary = 60000, int MinFrequency = 3, double ValidationShare = 0.1, int Seed = 42, int MaxTokens = 0);
