using System.Text.Json;
using FastText.Engine.IO;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Text;

namespace FastText.Engine.Models;

/// <summary>Sizes of a saved model (written as <c>model.json</c> next to its weights).</summary>
/// <param name="Kind">"language-model" or "classifier".</param>
/// <param name="EmbeddingSize">Embedding size.</param>
/// <param name="HiddenSize">Inner LSTM size.</param>
/// <param name="Layers">LSTM layers.</param>
/// <param name="ClassNames">Class names (classifier only).</param>
/// <param name="SequenceLength">Classifier chunk length (classifier only).</param>
/// <param name="DropMultiplier">Dropout multiplier the model was trained with.</param>
/// <param name="MaxTokens">Tokens kept per document when the training corpus was made (0 = all).</param>
/// <param name="SubwordModel">The SentencePiece model file in the folder (<see cref="Tokenization.SubwordModelFileName"/>), null = word tokens.</param>
/// <param name="SubwordModelSha256">That file's SHA-256 (checked when the folder is opened).</param>
/// <param name="Backwards">The model reads every document's tokens in reverse order (fastai's <c>backwards=True</c>);
/// a card written before this field existed has none and reads as forwards.</param>
public sealed record ModelCard(string Kind, int EmbeddingSize, int HiddenSize, int Layers, IReadOnlyList<string>? ClassNames = null,
    int SequenceLength = 72, double DropMultiplier = 1, int MaxTokens = 0, string? SubwordModel = null, string? SubwordModelSha256 = null,
    bool Backwards = false)
{
    /// <summary>File name of the card inside a model folder.</summary>
    internal const string FileName = "model.json";

    /// <summary>The AWD-LSTM sizes (language-model dropouts).</summary>
    public AwdLstmConfig Config => AwdLstmConfig.LanguageModel with { EmbeddingSize = EmbeddingSize, HiddenSize = HiddenSize, Layers = Layers };

    /// <summary>Copies the tokenization's model into <paramref name="folder"/>, then writes the card recording it
    /// (the card last: a folder never records a file it does not hold). Returns the card and the folder's own copy.</summary>
    internal (ModelCard Card, Tokenization Tokenization) Save(string folder, Tokenization tokenization)
    {
        var (copy, model) = tokenization.SaveTo(folder);
        ModelCard card = this with { SubwordModel = model, SubwordModelSha256 = copy.SubwordModelSha256 };
        AtomicFile.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(card, JsonOptions));
        return (card, copy);
    }

    internal static ModelCard Load(string folder, string kind)
    {
        ModelCard card = Read(folder);
        if (card.Kind != kind)
        {
            throw new InvalidDataException($"'{folder}' holds a {card.Kind}, not a {kind}.");
        }
        return card;
    }

    /// <summary>The kind of model saved in <paramref name="folder"/>, or null when it holds no model.json.</summary>
    internal static string? KindOf(string folder) => File.Exists(Path.Combine(folder, FileName)) ? Read(folder).Kind : null;

    private static ModelCard Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{folder}' is not a saved model folder (no model.json).", path);
        }
        ModelCard? card;
        try
        {
            card = JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"'{path}' is not a model card (damaged or edited JSON: {error.Message}).", error);
        }
        if (card is null || card.Kind is null)
        {
            throw new InvalidDataException($"'{path}' is not a model card (no \"Kind\").");
        }
        if (card.EmbeddingSize < 1 || card.HiddenSize < 1 || card.Layers < 1 || card.SequenceLength < 1 || card.MaxTokens < 0
            || !double.IsFinite(card.DropMultiplier) || card.DropMultiplier < 0)
        {
            throw new InvalidDataException(FormattableString.Invariant(
                $"'{path}' holds impossible sizes (embedding {card.EmbeddingSize}, hidden {card.HiddenSize}, layers {card.Layers}, sequence {card.SequenceLength}, max tokens {card.MaxTokens}, drop multiplier {card.DropMultiplier})."));
        }
        return card;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}

/// <summary>What every saved model folder has: <c>model.json</c> (sizes and tokenization), <c>vocab.txt</c>.</summary>
public abstract class ModelArtifact
{
    /// <summary>Vocabulary file name inside the folder.</summary>
    public const string VocabularyFile = "vocab.txt";

    private protected ModelArtifact(string folder, ModelCard card, Vocabulary vocabulary, Tokenization tokenization)
    {
        Folder = folder;
        Card = card;
        Vocabulary = vocabulary;
        Tokenization = tokenization;
    }

    /// <summary>The folder.</summary>
    public string Folder { get; }

    /// <summary>Sizes (and, for a classifier, its classes).</summary>
    public ModelCard Card { get; }

    /// <summary>The vocabulary the model was trained with.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>How text becomes tokens for this model (its training corpus's; use it to numericalize texts and decode).</summary>
    public Tokenization Tokenization { get; }

    /// <summary>Whether the model reads every document's tokens reversed (<see cref="ModelCard.Backwards"/>).</summary>
    public bool Backwards => Card.Backwards;

    /// <summary>A raw text's token ids in reading order, as the training corpus's documents were made: the same
    /// tokenization and vocabulary, cut to the corpus's token cap (<see cref="ModelCard.MaxTokens"/>, 0 = none).</summary>
    public int[] Numericalize(string text)
    {
        int[] ids = Tokenization.Numericalize(text, Vocabulary);
        int max = Card.MaxTokens;
        return max > 0 && ids.Length > max ? ids[..max] : ids;
    }

    /// <summary>"backwards" or "forwards", for messages and reports.</summary>
    public static string DirectionName(bool backwards) => backwards ? "backwards" : "forwards";

    /// <summary>Throws unless this model reads text in the direction <paramref name="backwards"/>; the message names both.</summary>
    /// <param name="backwards">The direction required.</param>
    /// <param name="what">What this model is to the caller, e.g. "the pretrained language model".</param>
    /// <param name="otherWhat">What requires the direction, e.g. "this run ('runs/x')".</param>
    /// <exception cref="InvalidDataException">The directions differ.</exception>
    public void EnsureDirection(bool backwards, string what, string otherWhat)
    {
        if (Backwards != backwards)
        {
            // A model of one direction continues training in the other without an error, but its weights (an LSTM that
            // learned what follows) are then a poor start for reading text the other way round: refused.
            throw new InvalidDataException(
                $"Direction mismatch: {what} '{Folder}' reads text {DirectionName(Backwards)}, but {otherWhat} reads it {DirectionName(backwards)}. "
                + $"Use a model trained {DirectionName(backwards)} ({(backwards ? "with" : "without")} --backwards / UlmfitPipeline.Backwards).");
        }
    }

    /// <summary>Reads the card of <paramref name="kind"/>, the vocabulary and the tokenization of <paramref name="folder"/>.</summary>
    private protected static (ModelCard Card, Vocabulary Vocabulary, Tokenization Tokenization) Read(string folder, string kind) =>
        (ModelCard.Load(folder, kind), Vocabulary.Load(Path.Combine(folder, VocabularyFile)), Tokenization.Read(Path.Combine(folder, ModelCard.FileName)));
}

/// <summary>A saved language model: <c>model.json</c>, <c>vocab.txt</c>, <c>lm.weights</c> (whole model),
/// <c>encoder.weights</c> (fastai <c>save_encoder</c>) and, in subword mode, <c>spm.model</c>, each written atomically.</summary>
public sealed class LanguageModelArtifact : ModelArtifact
{
    /// <summary>File names inside the folder.</summary>
    public const string WeightsFile = "lm.weights", EncoderFile = "encoder.weights";

    /// <summary>The card's <see cref="ModelCard.Kind"/>.</summary>
    public const string Kind = "language-model";

    private LanguageModelArtifact(string folder, ModelCard card, Vocabulary vocabulary, Tokenization tokenization)
        : base(folder, card, vocabulary, tokenization)
    {
    }

    /// <summary>Path of the whole model's weights.</summary>
    public string WeightsPath => Path.Combine(Folder, WeightsFile);

    /// <summary>Path of the encoder's weights.</summary>
    public string EncoderPath => Path.Combine(Folder, EncoderFile);

    /// <summary>Saves <paramref name="model"/> into <paramref name="folder"/>.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="model">The language model.</param>
    /// <param name="vocabulary">Its vocabulary.</param>
    /// <param name="tokenization">How its training corpus was tokenized (<see cref="TextDataset.Tokenization"/>).</param>
    /// <param name="maxTokens">The training corpus's token cap.</param>
    /// <param name="backwards">The model was trained on reversed documents.</param>
    /// <param name="compact">Store the weights in bf16: half the size, read back as fp32 (a starting model to ship).</param>
    public static LanguageModelArtifact Save(string folder, AwdLstmLanguageModel model, Vocabulary vocabulary, Tokenization tokenization, int maxTokens,
        bool backwards = false, bool compact = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(tokenization);
        Directory.CreateDirectory(folder);
        vocabulary.Save(Path.Combine(folder, VocabularyFile));
        ModelWeights.SaveLanguageModel(model, Path.Combine(folder, WeightsFile), vocabulary.Tokens, compact);
        ModelWeights.SaveEncoder(model.Encoder, Path.Combine(folder, EncoderFile), vocabulary.Tokens, compact);
        var (card, copy) = new ModelCard(Kind, model.Config.EmbeddingSize, model.Config.HiddenSize, model.Config.Layers, MaxTokens: maxTokens, Backwards: backwards)
            .Save(folder, tokenization);
        return new LanguageModelArtifact(folder, card, vocabulary, copy);
    }

    /// <summary>Opens a folder written by <see cref="Save"/>.</summary>
    public static LanguageModelArtifact Open(string folder)
    {
        var (card, vocabulary, tokenization) = Read(folder, Kind);
        return new LanguageModelArtifact(folder, card, vocabulary, tokenization);
    }

    /// <summary>
    /// Writes a copy of this model into <paramref name="folder"/> with its weights stored in bf16: half the size on disk,
    /// read back as fp32 (bf16 keeps fp32's range and 8 bits of mantissa, so each weight moves by at most 2⁻⁹ of itself).
    /// How a starting model is shipped; a model to train further is kept in fp32.
    /// </summary>
    public LanguageModelArtifact SaveCompact(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (Path.GetFullPath(folder) == Path.GetFullPath(Folder))
        {
            throw new ArgumentException($"The compact copy must go into another folder than '{Folder}'.", nameof(folder));
        }
        using AwdLstmLanguageModel model = LoadModel();
        return Save(folder, model, Vocabulary, Tokenization, Card.MaxTokens, Backwards, compact: true);
    }

    /// <summary>Builds the model and loads its weights (eval mode).</summary>
    public AwdLstmLanguageModel LoadModel()
    {
        var model = new AwdLstmLanguageModel(Vocabulary.Count, Card.Config);
        ModelWeights.LoadLanguageModel(model, WeightsPath, Vocabulary.Tokens);
        model.eval();
        return model;
    }

    /// <summary>
    /// Samples <paramref name="count"/> tokens with <paramref name="model"/> (this folder's) next to <paramref name="prompt"/>
    /// (tokenized with <see cref="ModelArtifact.Tokenization"/>) and returns the whole text's ids in reading order; decode
    /// them with <see cref="Tokenization.Decode"/>. A forward model continues the prompt: its ids (from <c>xxbos</c>),
    /// then the sampled ones. A backwards model reads the prompt reversed and samples what comes before it: the sampled
    /// ids, reversed, then the prompt's.
    /// </summary>
    /// <param name="model">The model loaded from this folder (<see cref="LoadModel"/>).</param>
    /// <param name="prompt">Text to continue (backwards: to precede).</param>
    /// <param name="count">Tokens to sample.</param>
    /// <param name="options">Sampling options.</param>
    public int[] Generate(AwdLstmLanguageModel model, string prompt, int count, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        int[] ids = Tokenization.Numericalize(prompt, Vocabulary);
        if (!Backwards)
        {
            return [.. ids, .. LanguageModelGenerator.Generate(model, ids, count, options)];
        }
        // The tokenizer's leading xxbos goes: reversed it would end the prompt, and after xxbos a backwards model goes on
        // with the end of an earlier document, not with what precedes this text. An empty prompt keeps it, so the model
        // samples the end of a document.
        int[] text = ids.Length > 1 && ids[0] == SpecialTokens.BeginningOfStreamId ? ids[1..] : ids;
        int[] before = LanguageModelGenerator.Generate(model, text.Reverse().ToArray(), count, options);
        Array.Reverse(before);
        return [.. before, .. text];
    }
}

/// <summary>A saved classifier: <c>model.json</c> (sizes, classes, tokenization), <c>vocab.txt</c>, <c>classifier.weights</c>
/// and, in subword mode, <c>spm.model</c>.</summary>
public sealed class ClassifierArtifact : ModelArtifact
{
    /// <summary>Weights file name.</summary>
    public const string WeightsFile = "classifier.weights";

    /// <summary>The card's <see cref="ModelCard.Kind"/>.</summary>
    public const string Kind = "classifier";

    // VocabularyHash (Vocabulary.Hash): a vocab.txt edited or damaged in a way that keeps its line count would
    // otherwise feed the weights other tokens' rows.
    private sealed record Header(string Kind, int VocabularySize, IReadOnlyList<string> ClassNames, ulong VocabularyHash);

    private ClassifierArtifact(string folder, ModelCard card, Vocabulary vocabulary, Tokenization tokenization)
        : base(folder, card, vocabulary, tokenization)
    {
    }

    /// <summary>Saves <paramref name="model"/> into <paramref name="folder"/>.</summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="model">The classifier.</param>
    /// <param name="config">Its AWD-LSTM sizes.</param>
    /// <param name="vocabulary">Its vocabulary.</param>
    /// <param name="tokenization">How its training corpus was tokenized (<see cref="TextDataset.Tokenization"/>).</param>
    /// <param name="classNames">Class names in index order.</param>
    /// <param name="dropMultiplier">Its dropout multiplier.</param>
    /// <param name="maxTokens">The training corpus's token cap (applied to texts at prediction too).</param>
    /// <param name="backwards">The classifier was trained on reversed documents (its predictor reverses texts too).</param>
    public static ClassifierArtifact Save(string folder, TextClassifier model, AwdLstmConfig config, Vocabulary vocabulary, Tokenization tokenization,
        IReadOnlyList<string> classNames, double dropMultiplier, int maxTokens, bool backwards = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(tokenization);
        Directory.CreateDirectory(folder);
        vocabulary.Save(Path.Combine(folder, VocabularyFile));
        TensorArchive.Write(Path.Combine(folder, WeightsFile), new Header(Kind, vocabulary.Count, classNames, vocabulary.Hash), model.state_dict());
        var (card, copy) = new ModelCard(Kind, config.EmbeddingSize, config.HiddenSize, config.Layers, classNames, model.Options.Bptt, dropMultiplier, maxTokens,
            Backwards: backwards).Save(folder, tokenization);
        return new ClassifierArtifact(folder, card, vocabulary, copy);
    }

    /// <summary>Opens a folder written by <see cref="Save"/>.</summary>
    public static ClassifierArtifact Open(string folder)
    {
        var (card, vocabulary, tokenization) = Read(folder, Kind);
        return new ClassifierArtifact(folder, card, vocabulary, tokenization);
    }

    /// <summary>Builds the classifier and loads its weights (eval mode).</summary>
    public TextClassifier LoadModel()
    {
        TextClassifier model = TextClassifier.Create(Vocabulary.Count, Card.Config, Card.ClassNames!.Count, Card.DropMultiplier, Card.SequenceLength);
        string path = Path.Combine(Folder, WeightsFile);
        var (header, tensors) = TensorArchive.Read<Header>(path);
        try
        {
            if (header.VocabularySize != Vocabulary.Count)
            {
                throw new InvalidDataException($"'{path}' was saved for a {header.VocabularySize}-token vocabulary; vocab.txt has {Vocabulary.Count}.");
            }
            if (header.VocabularyHash != Vocabulary.Hash)
            {
                throw new InvalidDataException($"'{Path.Combine(Folder, VocabularyFile)}' is not the vocabulary '{path}' was saved with (same size, other tokens: edited or damaged).");
            }
            TensorArchive.LoadInto(model, tensors, path);
        }
        finally
        {
            foreach (var tensor in tensors.Values)
            {
                tensor.Dispose();
            }
        }
        model.eval();
        return model;
    }
}
