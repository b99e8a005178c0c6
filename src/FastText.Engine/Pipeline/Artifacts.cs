using System.Text.Json;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;
using FastText.Engine.IO;

namespace FastText.Engine.Pipeline;

/// <summary>Sizes of a saved model (written as <c>model.json</c> next to its weights).</summary>
/// <param name="Kind">"language-model" or "classifier".</param>
/// <param name="EmbeddingSize">Embedding size.</param>
/// <param name="HiddenSize">Inner LSTM size.</param>
/// <param name="Layers">LSTM layers.</param>
/// <param name="ClassNames">Class names (classifier only).</param>
/// <param name="SequenceLength">Classifier chunk length (classifier only).</param>
/// <param name="DropMultiplier">Dropout multiplier the model was trained with.</param>
/// <param name="MaxTokens">Tokens kept per document when the training corpus was made (0 = all).</param>
public sealed record ModelCard(string Kind, int EmbeddingSize, int HiddenSize, int Layers, IReadOnlyList<string>? ClassNames = null,
    int SequenceLength = 72, double DropMultiplier = 1, int MaxTokens = 0)
{
    /// <summary>The AWD-LSTM sizes (language-model dropouts).</summary>
    public AwdLstmConfig Config => AwdLstmConfig.LanguageModel with { EmbeddingSize = EmbeddingSize, HiddenSize = HiddenSize, Layers = Layers };

    internal void Save(string folder) => AtomicFile.WriteAllText(Path.Combine(folder, "model.json"), JsonSerializer.Serialize(this, JsonOptions));

    internal static ModelCard Load(string folder, string kind)
    {
        string path = Path.Combine(folder, "model.json");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{folder}' is not a saved model folder (no model.json).", path);
        }
        ModelCard card = JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(path), JsonOptions)
            ?? throw new InvalidDataException($"'{path}' is empty.");
        if (card.Kind != kind)
        {
            throw new InvalidDataException($"'{folder}' holds a {card.Kind}, not a {kind}.");
        }
        return card;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}

/// <summary>A saved language model: <c>model.json</c>, <c>vocab.txt</c>, <c>lm.weights</c> (whole model) and
/// <c>encoder.weights</c> (fastai <c>save_encoder</c>), each written atomically.</summary>
public sealed class LanguageModelArtifact
{
    /// <summary>File names inside the folder.</summary>
    public const string WeightsFile = "lm.weights", EncoderFile = "encoder.weights", VocabularyFile = "vocab.txt";

    private LanguageModelArtifact(string folder, ModelCard card, Vocabulary vocabulary)
    {
        Folder = folder;
        Card = card;
        Vocabulary = vocabulary;
    }

    /// <summary>The folder.</summary>
    public string Folder { get; }

    /// <summary>Sizes.</summary>
    public ModelCard Card { get; }

    /// <summary>The vocabulary the model was trained with.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>Path of the whole model's weights.</summary>
    public string WeightsPath => Path.Combine(Folder, WeightsFile);

    /// <summary>Path of the encoder's weights.</summary>
    public string EncoderPath => Path.Combine(Folder, EncoderFile);

    /// <summary>Saves <paramref name="model"/> into <paramref name="folder"/>.</summary>
    public static LanguageModelArtifact Save(string folder, AwdLstmLanguageModel model, Vocabulary vocabulary, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        Directory.CreateDirectory(folder);
        var card = new ModelCard("language-model", model.Config.EmbeddingSize, model.Config.HiddenSize, model.Config.Layers, MaxTokens: maxTokens);
        vocabulary.Save(Path.Combine(folder, VocabularyFile));
        ModelWeights.SaveLanguageModel(model, Path.Combine(folder, WeightsFile), vocabulary.Tokens);
        ModelWeights.SaveEncoder(model.Encoder, Path.Combine(folder, EncoderFile), vocabulary.Tokens);
        card.Save(folder);
        return new LanguageModelArtifact(folder, card, vocabulary);
    }

    /// <summary>Opens a folder written by <see cref="Save"/>.</summary>
    public static LanguageModelArtifact Open(string folder)
    {
        ModelCard card = ModelCard.Load(folder, "language-model");
        return new LanguageModelArtifact(folder, card, Vocabulary.Load(Path.Combine(folder, VocabularyFile)));
    }

    /// <summary>Builds the model and loads its weights (eval mode).</summary>
    public AwdLstmLanguageModel LoadModel()
    {
        var model = new AwdLstmLanguageModel(Vocabulary.Count, Card.Config);
        ModelWeights.LoadLanguageModel(model, WeightsPath, Vocabulary.Tokens);
        model.eval();
        return model;
    }
}

/// <summary>A saved classifier: <c>model.json</c> (sizes, classes), <c>vocab.txt</c>, <c>classifier.weights</c>.</summary>
public sealed class ClassifierArtifact
{
    /// <summary>Weights file name.</summary>
    public const string WeightsFile = "classifier.weights";

    private sealed record Header(string Kind, int VocabularySize, IReadOnlyList<string> ClassNames);

    private ClassifierArtifact(string folder, ModelCard card, Vocabulary vocabulary)
    {
        Folder = folder;
        Card = card;
        Vocabulary = vocabulary;
    }

    /// <summary>The folder.</summary>
    public string Folder { get; }

    /// <summary>Sizes and classes.</summary>
    public ModelCard Card { get; }

    /// <summary>The vocabulary.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>Saves <paramref name="model"/> into <paramref name="folder"/>.</summary>
    public static ClassifierArtifact Save(string folder, TextClassifier model, AwdLstmConfig config, Vocabulary vocabulary, IReadOnlyList<string> classNames, double dropMultiplier, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(vocabulary);
        Directory.CreateDirectory(folder);
        var card = new ModelCard("classifier", config.EmbeddingSize, config.HiddenSize, config.Layers, classNames, model.Options.Bptt, dropMultiplier, maxTokens);
        vocabulary.Save(Path.Combine(folder, "vocab.txt"));
        TensorArchive.Write(Path.Combine(folder, WeightsFile), new Header("classifier", vocabulary.Count, classNames), model.state_dict());
        card.Save(folder);
        return new ClassifierArtifact(folder, card, vocabulary);
    }

    /// <summary>Opens a folder written by <see cref="Save"/>.</summary>
    public static ClassifierArtifact Open(string folder)
    {
        ModelCard card = ModelCard.Load(folder, "classifier");
        return new ClassifierArtifact(folder, card, Vocabulary.Load(Path.Combine(folder, "vocab.txt")));
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

    /// <summary>A predictor for raw texts, tokenized like the training corpus.</summary>
    public ClassifierPredictor CreatePredictor(TextClassifier model)
    {
        var tokenizer = new FastaiTokenizer();
        int max = Card.MaxTokens;
        return new ClassifierPredictor(model, Card.ClassNames!, text =>
        {
            int[] ids = tokenizer.Numericalize(text, Vocabulary);
            return max > 0 && ids.Length > max ? ids[..max] : ids;
        });
    }
}
