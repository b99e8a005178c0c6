using System.Text;
using System.Text.Json;
using FastText.Engine.IO;

namespace FastText.Engine.Text;

/// <summary>
/// The pipeline's "corpus" artifact (fastai's <c>DataLoaders</c> source): a <see cref="NumericalizedCorpus"/> file
/// written by <see cref="CorpusBuilder"/>, its vocabulary, its <see cref="Text.Tokenization"/> and the per-document
/// token cap. A folder holds <c>corpus.ftc</c> (ids, labels, class names, one train/validation byte per document),
/// <c>vocab.txt</c>, <c>dataset.json</c> (the cap and the tokenization) and, in subword mode, <c>spm.model</c>.
/// </summary>
/// <remarks>
/// The corpus file keeps every token; <see cref="MaxTokens"/> is applied when reading (<see cref="Corpus"/>,
/// <see cref="Subset"/>, <see cref="Document"/>, <see cref="Numericalize"/>), so the vocabulary counts whole
/// documents, as fastai's does (fastai truncates nowhere; the cap is ours, to bound the classifier's cost per mail).
/// </remarks>
public sealed class TextDataset : IDisposable
{
    /// <summary>File name of the corpus inside a dataset folder.</summary>
    public const string CorpusFileName = "corpus.ftc";

    /// <summary>File name of the vocabulary inside a dataset folder.</summary>
    public const string VocabularyFileName = "vocab.txt";

    /// <summary>File name of the settings (token cap, tokenization) inside a dataset folder.</summary>
    internal const string SettingsFileName = "dataset.json";

    private readonly NumericalizedCorpus file;

    private TextDataset(NumericalizedCorpus file, Vocabulary vocabulary, Tokenization tokenization, int maxTokens)
    {
        this.file = file;
        Vocabulary = vocabulary;
        Tokenization = tokenization;
        MaxTokens = maxTokens;
        Corpus = maxTokens > 0 ? new CappedTokenCorpus(file, maxTokens) : file;
        var training = new List<int>();
        var validation = new List<int>();
        for (int d = 0; d < file.DocumentCount; d++)
        {
            (file.Split(d) == DocumentSplit.Validation ? validation : training).Add(d);
        }
        Training = training.ToArray();
        Validation = validation.ToArray();
    }

    /// <summary>The vocabulary the ids refer to.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>How the texts were tokenized (word mode or a SentencePiece model); models trained on this corpus carry it.</summary>
    public Tokenization Tokenization { get; }

    /// <summary>All documents (training and validation) as the loaders read them, each cut to <see cref="MaxTokens"/>.</summary>
    public ITokenCorpus Corpus { get; }

    /// <summary>Class names (empty for unlabelled text).</summary>
    public IReadOnlyList<string> ClassNames => file.ClassNames;

    /// <summary>Document indices of the training split.</summary>
    public IReadOnlyList<int> Training { get; }

    /// <summary>Document indices of the validation split.</summary>
    public IReadOnlyList<int> Validation { get; }

    /// <summary>Tokens kept per document at most (0 = all).</summary>
    public int MaxTokens { get; }

    /// <summary>Number of documents.</summary>
    public int DocumentCount => file.DocumentCount;

    /// <summary>The corpus file the documents are read from.</summary>
    public string CorpusPath => file.Path;

    /// <summary>The dataset folder.</summary>
    public string Folder => Path.GetDirectoryName(Path.GetFullPath(file.Path))!;

    /// <summary>Token ids of document <paramref name="index"/> (a copy, cut to <see cref="MaxTokens"/>).</summary>
    public int[] Document(int index)
    {
        var ids = new int[Corpus.DocumentLength(index)];
        Corpus.CopyTokens(index, 0, ids);
        return ids;
    }

    /// <summary>Tokenizes and numericalizes <paramref name="text"/> like the corpus was (for prediction).</summary>
    public int[] Numericalize(string text)
    {
        int[] ids = Tokenization.Numericalize(text, Vocabulary);
        return MaxTokens > 0 && ids.Length > MaxTokens ? ids[..MaxTokens] : ids;
    }

    /// <summary>A corpus restricted to <paramref name="indices"/> (e.g. one split, or the first N labelled mails); no copy.</summary>
    public ITokenCorpus Subset(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return new TokenCorpusView(Corpus, indices.ToArray());
    }

    /// <summary>
    /// Tokenizes <paramref name="texts"/> with <see cref="CorpusBuilder"/> (parallel, deterministic), builds a
    /// vocabulary unless one is given, and writes the dataset into <paramref name="folder"/> (each file atomically).
    /// Keeps the texts' own split when every text has one, else splits off a seeded random validation share
    /// (stratified by class); the split is stored per document in the corpus file. With
    /// <see cref="TextDatasetOptions.SubwordModel"/> the texts are split into SentencePiece pieces after the rules and
    /// the model is copied into the folder.
    /// </summary>
    /// <exception cref="FileNotFoundException">The subword model does not exist.</exception>
    /// <exception cref="InvalidDataException">The subword model is not a SentencePiece model this library can run.</exception>
    public static TextDataset Create(IReadOnlyList<LabelledText> texts, string folder, TextDatasetOptions options, Vocabulary? vocabulary = null, IProgressSink? progress = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(options);
        progress ??= NullProgress.Instance;
        bool labelled = texts.Any(t => t.ClassName is not null);
        if (labelled && texts.Any(t => t.ClassName is null))
        {
            throw new ArgumentException("Either every text or none must have a class.", nameof(texts));
        }
        bool[] isValidation = texts.All(t => t.IsValidation is not null)
            ? texts.Select(t => t.IsValidation == true).ToArray()
            : Split(texts, options.ValidationShare, options.Seed);

        Tokenization tokenization = options.SubwordModel is null ? Tokenization.Words : Tokenization.FromSentencePiece(options.SubwordModel);

        Directory.CreateDirectory(folder);
        string corpusPath = Path.Combine(folder, CorpusFileName);
        using (IProgressTask task = progress.Start("tokenizing", texts.Count, "documents"))
        {
            CorpusBuilder.Build(new LabelledTextSource(texts, isValidation, task), corpusPath, new CorpusBuildOptions
            {
                Vocabulary = vocabulary,
                MinimumFrequency = options.MinFrequency,
                MaximumVocabularySize = options.MaxVocabulary,
                VocabularyPath = Path.Combine(folder, VocabularyFileName),
                TokenizerFactory = tokenization.CreateTokenizer,
            });
            task.Report(texts.Count);
        }
        // The model file before the settings that name it: a folder never records a model it does not hold.
        var (_, model) = tokenization.SaveTo(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, SettingsFileName), JsonSerializer.Serialize(
            new Settings(options.MaxTokens, model, tokenization.SubwordModelSha256), SettingsJson) + "\n");
        return Load(folder);
    }

    /// <summary>Opens a folder written by <see cref="Create"/> (the corpus is memory-mapped, not read).</summary>
    public static TextDataset Load(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string corpusPath = Path.Combine(folder, CorpusFileName);
        if (!File.Exists(corpusPath))
        {
            throw new FileNotFoundException($"'{folder}' is not a tokenized corpus folder (no {CorpusFileName}; run `fasttext tokenize`).", corpusPath);
        }
        Vocabulary vocabulary = Vocabulary.Load(Path.Combine(folder, VocabularyFileName));
        string settings = Path.Combine(folder, SettingsFileName);
        int maxTokens = ReadMaxTokens(settings);
        Tokenization tokenization = Tokenization.Read(settings);
        NumericalizedCorpus corpus = NumericalizedCorpus.Open(corpusPath, vocabulary);
        return new TextDataset(corpus, vocabulary, tokenization, maxTokens);
    }

    /// <summary>Unmaps the corpus file. Do not dispose while a loader still reads.</summary>
    public void Dispose() => file.Dispose();

    private sealed record Settings(int MaxTokens, string? SubwordModel, string? SubwordModelSha256);

    private static readonly JsonSerializerOptions SettingsJson = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    // A folder without dataset.json (a corpus built by CorpusBuilder directly) keeps every token.
    private static int ReadMaxTokens(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path, Encoding.UTF8));
            int maxTokens = document.RootElement.GetProperty("maxTokens").GetInt32();
            return maxTokens >= 0 ? maxTokens : throw new InvalidDataException($"'{path}': maxTokens is negative ({maxTokens}).");
        }
        catch (Exception error) when (error is System.Text.Json.JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}' is not a dataset settings file: {error.Message}", error);
        }
    }

    // Per class (first-occurrence order), a seeded shuffle; the first round(share · n) go to validation.
    private static bool[] Split(IReadOnlyList<LabelledText> texts, double share, int seed)
    {
        var random = new Random(seed);
        var isValidation = new bool[texts.Count];
        foreach (IGrouping<string, int> stratum in Enumerable.Range(0, texts.Count).GroupBy(i => texts[i].ClassName ?? "", StringComparer.Ordinal))
        {
            int[] members = stratum.ToArray();
            random.Shuffle(members);
            int take = (int)Math.Round(members.Length * share);
            foreach (int member in members.AsSpan(0, take))
            {
                isValidation[member] = true;
            }
        }
        return isValidation;
    }

    /// <summary>Feeds the in-memory texts to <see cref="CorpusBuilder"/> with their label and split.</summary>
    private sealed class LabelledTextSource(IReadOnlyList<LabelledText> texts, bool[] isValidation, IProgressTask progress) : ITextDocumentSource
    {
        public string Description => $"{texts.Count} texts";

        public IEnumerable<TextDocument> ReadDocuments(SourceProblems problems, CancellationToken cancellationToken = default)
        {
            for (int i = 0; i < texts.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                LabelledText text = texts[i];
                yield return new TextDocument(text.Source, Encoding.UTF8.GetBytes(text.Text), text.ClassName,
                    isValidation[i] ? DocumentSplit.Validation : DocumentSplit.Train);
                if ((i + 1) % 64 == 0)
                {
                    progress.Report(i + 1); // documents handed to the tokenizers (the builder reads one batch ahead)
                }
            }
        }
    }

    /// <summary>Every document of <c>source</c> cut to its first <c>maxTokens</c> tokens (no copy).</summary>
    private sealed class CappedTokenCorpus : ITokenCorpus
    {
        private readonly ITokenCorpus source;
        private readonly int maxTokens;

        public CappedTokenCorpus(ITokenCorpus source, int maxTokens)
        {
            this.source = source;
            this.maxTokens = maxTokens;
            long tokens = 0;
            for (int d = 0; d < source.DocumentCount; d++)
            {
                tokens += DocumentLength(d);
            }
            TokenCount = tokens;
        }

        public int DocumentCount => source.DocumentCount;

        public long TokenCount { get; }

        public bool HasLabels => source.HasLabels;

        public IReadOnlyList<string> ClassNames => source.ClassNames;

        public int DocumentLength(int document) => Math.Min(source.DocumentLength(document), maxTokens);

        public void CopyTokens(int document, int start, Span<int> destination)
        {
            if (start < 0 || (long)start + destination.Length > DocumentLength(document))
            {
                throw new ArgumentOutOfRangeException(nameof(destination), $"Tokens [{start}, {(long)start + destination.Length}) are outside document {document}'s first {DocumentLength(document)}.");
            }
            source.CopyTokens(document, start, destination);
        }

        public int Label(int document) => source.Label(document);
    }
}

/// <summary>How <see cref="TextDataset.Create"/> tokenizes and splits.</summary>
/// <param name="MaxVocabulary">Vocabulary size limit (fastai <c>max_vocab</c>, 60000).</param>
/// <param name="MinFrequency">Minimum count to enter the vocabulary (fastai <c>min_freq</c>, 3).</param>
/// <param name="ValidationShare">Share of documents held out (fastai <c>RandomSplitter(0.1)</c>).</param>
/// <param name="Seed">Split seed.</param>
/// <param name="MaxTokens">Keep at most this many tokens per document when reading (0 = all); the small preset caps long mails.</param>
/// <param name="SubwordModel">A SentencePiece <c>.model</c> file for subword mode (fastai's <c>SentencePieceTokenizer</c>:
/// the rules, then the model), copied into the dataset folder; null = fastai's word tokenization.</param>
public sealed record TextDatasetOptions(int MaxVocabulary = 60000, int MinFrequency = 3, double ValidationShare = 0.1, int Seed = 42, int MaxTokens = 0,
    string? SubwordModel = null);
