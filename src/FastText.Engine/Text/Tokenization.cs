using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastText.Engine.IO;

namespace FastText.Engine.Text;

/// <summary>
/// How texts become tokens in a dataset and every model trained on it: fastai's rules + word splitting
/// (<see cref="Words"/>, the default) or fastai's rules + a SentencePiece model (subword mode, fastai's
/// <c>SentencePieceTokenizer</c>). A dataset folder and every model folder made from it carry the same tokenization:
/// in subword mode the model file is copied in as <see cref="SubwordModelFileName"/> and recorded with its SHA-256 in
/// <c>dataset.json</c> / <c>model.json</c>, so prediction, evaluation and generation map text to exactly the ids the
/// model was trained on. Models and corpora of different tokenizations are refused (<see cref="EnsureSameAs"/>).
/// </summary>
/// <remarks>
/// The order is fastai's (<c>Tokenizer</c> composes <c>defaults.text_proc_rules</c> and hands the result to the
/// tokenizer, whose SentencePiece model was trained on text after those rules): the eight rules first (so
/// <c>xxbos</c>, <c>xxmaj</c>, … are in the text), then the model splits it, then <c>Numericalize</c> counts the pieces
/// into the vocabulary like words (min_freq, max_vocab, specials 0–8). fastai's post-rule (<c>replace_space</c>) has
/// nothing to do on SentencePiece pieces: they carry U+2581, never a space. Thread-safe (one tokenizer per thread).
/// </remarks>
public sealed class Tokenization
{
    /// <summary>File name of the copied SentencePiece model inside a dataset or model folder (fastai's name).</summary>
    public const string SubwordModelFileName = "spm.model";

    private readonly byte[]? model;
    private readonly ThreadLocal<IDocumentTokenizer> tokenizers;

    private Tokenization(byte[]? model, string? path)
    {
        this.model = model;
        SubwordModelPath = path;
        SubwordModelSha256 = model is null ? null : Convert.ToHexStringLower(SHA256.HashData(model));
        tokenizers = new ThreadLocal<IDocumentTokenizer>(CreateTokenizer);
    }

    /// <summary>fastai's default: the eight rules and spaCy-like word splitting.</summary>
    public static Tokenization Words { get; } = new(null, null);

    /// <summary>Whether this is subword mode.</summary>
    public bool IsSubword => model is not null;

    /// <summary>The SentencePiece model file this was read from (null in word mode).</summary>
    public string? SubwordModelPath { get; }

    /// <summary>SHA-256 of the SentencePiece model file, lower-case hex (null in word mode): what identifies it.</summary>
    public string? SubwordModelSha256 { get; }

    /// <summary>For messages and reports, e.g. "SentencePiece subwords ('runs/x/spm.model', sha256 1a2b3c4d5e6f)".</summary>
    public string Description => IsSubword
        ? $"SentencePiece subwords ('{SubwordModelPath}', sha256 {SubwordModelSha256![..12]})"
        : "word tokens (fastai rules + word splitting)";

    /// <summary>Subword mode with the SentencePiece model <paramref name="modelPath"/> (loaded once here to check it).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a SentencePiece model this library can run; the message names it.</exception>
    public static Tokenization FromSentencePiece(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        SubwordTokenizer.FromSentencePiece(modelPath); // the library's own errors, naming the file
        return new Tokenization(File.ReadAllBytes(modelPath), modelPath);
    }

    /// <summary>
    /// The tokenization recorded in a model folder (<c>model.json</c>) or else a dataset folder (<c>dataset.json</c>);
    /// word mode when neither records a subword model.
    /// </summary>
    public static Tokenization Open(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string card = Path.Combine(folder, "model.json");
        return Read(File.Exists(card) ? card : Path.Combine(folder, TextDataset.SettingsFileName));
    }

    /// <summary>A new tokenizer for one thread (the corpus builder's <see cref="CorpusBuildOptions.TokenizerFactory"/>).</summary>
    internal IDocumentTokenizer CreateTokenizer() => model is null
        ? new FastaiTokenizer()
        : SubwordTokenizer.FromSentencePiece(new MemoryStream(model, writable: false));

    /// <summary>
    /// Token ids of <paramref name="text"/> in <paramref name="vocabulary"/> (unknown → <c>xxunk</c>), through the same
    /// UTF-8 route and tokenizer the corpus builder uses, so a text gets the ids its document got in the corpus.
    /// </summary>
    public int[] Numericalize(string text, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var sink = new IdSink(vocabulary);
        tokenizers.Value!.TokenizeUtf8(Encoding.UTF8.GetBytes(text), ref sink);
        return sink.Ids.ToArray();
    }

    /// <summary>
    /// Readable text of tokens (e.g. a generated sequence): subword pieces are joined first (U+2581 = space), then the
    /// special tokens are undone (<see cref="TextDecoding"/>: <c>xxmaj</c> capitalises, <c>xxrep</c> repeats, …).
    /// </summary>
    public string Decode(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (!IsSubword)
        {
            return TextDecoding.Decode(tokens);
        }
        // A special token stays a word of its own: the vocabulary's xxunk replaces a rare piece together with its
        // boundary mark, and glued to its neighbours it would hide them from TextDecoding.
        IEnumerable<string> spaced = tokens.Select(t => SpecialTokens.All.Contains(t) || t == SpecialTokens.Fake ? $"{SubwordTokenizer.WordBoundary}{t}{SubwordTokenizer.WordBoundary}" : t);
        return TextDecoding.Decode(SubwordTokenizer.DecodePieces(spaced).Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Whether both map text to the same tokens (both word mode, or the same SentencePiece model bytes).</summary>
    public bool IsSameAs(Tokenization other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return SubwordModelSha256 == other.SubwordModelSha256;
    }

    /// <summary>Throws unless <paramref name="other"/> is the same tokenization; the message names both.</summary>
    /// <param name="other">The tokenization that must match.</param>
    /// <param name="what">What this one belongs to, e.g. "the language model 'runs/lm'".</param>
    /// <param name="otherWhat">What <paramref name="other"/> belongs to, e.g. "the corpus 'runs/spam'".</param>
    /// <exception cref="InvalidDataException">The tokenizations differ.</exception>
    public void EnsureSameAs(Tokenization other, string what, string otherWhat)
    {
        if (!IsSameAs(other))
        {
            throw new InvalidDataException(
                $"Tokenization mismatch: {what} uses {Description}, but {otherWhat} uses {other.Description}; the same text would map to other ids. "
                + "Tokenize the corpus with the model's tokenization (`fasttext tokenize --subword-model <its spm.model>`, or without it for word tokens).");
        }
    }

    /// <summary>
    /// Whether a vocabulary without its model (fastai's pickled pair) was built from SentencePiece pieces: more than 1 %
    /// of its tokens start with the word-boundary mark U+2581, which fastai's word tokenizer never produces.
    /// </summary>
    internal static bool LooksLikeSentencePiece(IReadOnlyList<string> tokens) =>
        tokens.Count(t => t.Length > 0 && t[0] == SubwordTokenizer.WordBoundary) * 100 > tokens.Count;

    /// <summary>Copies the SentencePiece model into <paramref name="folder"/> (atomically) and returns the copy (the same
    /// model, described by its new path; <see cref="Words"/> stays itself) and the file name to record (null in word mode).</summary>
    internal (Tokenization Copy, string? File) SaveTo(string folder)
    {
        if (model is null)
        {
            return (this, null);
        }
        string path = Path.Combine(Path.GetFullPath(folder), SubwordModelFileName);
        AtomicFile.WriteAllBytes(path, model);
        return (new Tokenization(model, path), SubwordModelFileName);
    }

    /// <summary>
    /// The tokenization recorded in <paramref name="recordPath"/> (<c>dataset.json</c> or <c>model.json</c>: the
    /// properties <c>subwordModel</c> and <c>subwordModelSha256</c>, any case); word mode when the file or the
    /// properties are absent. The model file must still have the recorded hash.
    /// </summary>
    internal static Tokenization Read(string recordPath)
    {
        if (!File.Exists(recordPath))
        {
            return Words; // a corpus built by CorpusBuilder directly, or a folder from before subword mode
        }
        Record record;
        try
        {
            record = JsonSerializer.Deserialize<Record>(File.ReadAllText(recordPath, Encoding.UTF8), RecordOptions)
                ?? throw new InvalidDataException($"'{recordPath}' is empty.");
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"'{recordPath}' is not valid JSON: {error.Message}", error);
        }
        if (record.SubwordModel is null)
        {
            return Words;
        }
        string path = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(recordPath))!, record.SubwordModel);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{recordPath}' records the SentencePiece model '{record.SubwordModel}', which is missing from its folder.", path);
        }
        Tokenization tokenization = FromSentencePiece(path);
        if (tokenization.SubwordModelSha256 != record.SubwordModelSha256)
        {
            throw new InvalidDataException(
                $"'{path}' is not the SentencePiece model recorded in '{recordPath}' (its sha256 is {tokenization.SubwordModelSha256}, the record says {record.SubwordModelSha256 ?? "nothing"}).");
        }
        return tokenization;
    }

    private sealed record Record(string? SubwordModel, string? SubwordModelSha256);

    private static readonly JsonSerializerOptions RecordOptions = new() { PropertyNameCaseInsensitive = true };

    private readonly struct IdSink(Vocabulary vocabulary) : ITokenSink
    {
        public List<int> Ids { get; } = [];

        public void Add(ReadOnlySpan<char> token) => Ids.Add(vocabulary.IdOf(token));
    }
}
