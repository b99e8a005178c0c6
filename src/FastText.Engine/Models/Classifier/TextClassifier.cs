using TorchSharp;
using TorchSharp.Modules;
using FastText.Engine.Models;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Classifier;

/// <summary>Settings of the classifier around the encoder (fastai's <c>get_text_classifier</c> arguments).</summary>
/// <param name="Bptt">Chunk length of the sentence encoder (fastai <c>seq_len</c>).</param>
/// <param name="MaxLength">Final tokens kept for pooling (fastai <c>max_len</c>).</param>
/// <param name="OutputDropout">Dropout before the head's first Linear (fastai <c>output_p</c> 0.4 × <c>drop_mult</c> 0.5).</param>
/// <param name="HiddenSizes">Head hidden sizes (fastai <c>lin_ftrs</c>).</param>
/// <param name="HiddenDropout">Dropout before the later Linears (fastai's 0.1).</param>
public sealed record ClassifierOptions(int Bptt = 72, int MaxLength = 72 * 20, double OutputDropout = 0.2, IReadOnlyList<int>? HiddenSizes = null, double HiddenDropout = 0.1);

/// <summary>
/// The ULMFiT text classifier: <see cref="SentenceEncoder"/> over the language model's encoder, then
/// <see cref="PoolingLinearClassifier"/>. Maps token ids (rows, width) to logits (rows, classes).
/// State-dict keys follow fastai's classifier: <c>0.module.…</c> for the encoder, <c>1.layers.…</c> for the head.
/// </summary>
public sealed class TextClassifier : nn.Module<Tensor, Tensor>
{
    private readonly SentenceEncoder sentenceEncoder;
    private readonly PoolingLinearClassifier head;

    /// <summary>Builds the classifier around <paramref name="encoder"/>.</summary>
    public TextClassifier(IRecurrentEncoder encoder, int classCount, ClassifierOptions? options = null) : base(nameof(TextClassifier))
    {
        ArgumentNullException.ThrowIfNull(encoder);
        options ??= new ClassifierOptions();
        Options = options;
        sentenceEncoder = new SentenceEncoder(encoder, options.Bptt, options.MaxLength);
        head = new PoolingLinearClassifier(encoder.OutputSize, classCount, options.OutputDropout, options.HiddenSizes, options.HiddenDropout);
        register_module("0", sentenceEncoder);
        register_module("1", head);
    }

    /// <summary>The options the classifier was built with.</summary>
    public ClassifierOptions Options { get; }

    /// <summary>The sentence encoder (index 0).</summary>
    public SentenceEncoder SentenceEncoder => sentenceEncoder;

    /// <summary>The head (index 1).</summary>
    public PoolingLinearClassifier Head => head;

    /// <summary>The AWD-LSTM under the sentence encoder (every classifier <see cref="Create"/> and the artifacts build).</summary>
    /// <exception cref="InvalidOperationException">The classifier was built around another <see cref="IRecurrentEncoder"/>.</exception>
    public AwdLstmEncoder AwdLstmEncoder => (sentenceEncoder.Encoder as AwdLstmClassifierEncoder)?.Encoder
        ?? throw new InvalidOperationException($"This classifier's encoder is a {sentenceEncoder.Encoder.GetType().Name}, not an AWD-LSTM.");

    /// <summary>Compute precision of the encoder's LSTMs (the pooling head always runs fp32; weights stay fp32).</summary>
    public ComputePrecision Precision
    {
        get => sentenceEncoder.Encoder.Precision;
        set => sentenceEncoder.Encoder.Precision = value;
    }

    /// <summary>Number of classes.</summary>
    public int ClassCount => head.ClassCount;

    /// <inheritdoc />
    public override Tensor forward(Tensor ids) => ForwardWithOutput(ids).Logits;

    /// <summary>
    /// Logits plus the sentence encoder's padded output (rows, kept, E) — fastai's classifier returns both so AR/TAR can
    /// regularize the (un-dropped) encoder output during training.
    /// </summary>
    public (Tensor Logits, Tensor Output) ForwardWithOutput(Tensor ids)
    {
        using var scope = NewDisposeScope();
        (Tensor output, Tensor mask) = sentenceEncoder.call(ids);
        Tensor logits = head.call(output, mask);
        return (logits.MoveToOuterDisposeScope(), output.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Builds the ULMFiT classifier on a fresh AWD-LSTM encoder (fastai <c>get_text_classifier</c>): the encoder gets the
    /// classifier dropouts (<see cref="AwdLstmConfig.Classifier"/> sizes from <paramref name="config"/>, scaled by
    /// <paramref name="dropMultiplier"/>), the head's first dropout is the scaled <c>output_p</c>.
    /// </summary>
    public static TextClassifier Create(int vocabularySize, AwdLstmConfig config, int classCount, double dropMultiplier = 0.5, int bptt = 72, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        AwdLstmConfig classifier = (AwdLstmConfig.Classifier with
        {
            EmbeddingSize = config.EmbeddingSize,
            HiddenSize = config.HiddenSize,
            Layers = config.Layers,
            PadToken = config.PadToken,
        }).WithDropoutMultiplier(dropMultiplier);
        var encoder = new AwdLstmEncoder(vocabularySize, classifier);
        return new TextClassifier(new AwdLstmClassifierEncoder(encoder), classCount,
            new ClassifierOptions(bptt, maxLength ?? bptt * 20, classifier.OutputDropout));
    }

    /// <summary>
    /// The five ULMFiT parameter groups (fastai's <c>awd_lstm_clas_split</c>): [embedding], [rnn 0], [rnn 1], [rnn 2],
    /// [head] — one more group per extra encoder layer. Used for gradual unfreezing and discriminative learning rates.
    /// </summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups()
    {
        var groups = sentenceEncoder.Encoder.ParameterGroups()
            .Select(g => g with { Parameters = g.Parameters.Select(p => p with { Name = "0.module." + p.Name }).ToArray() })
            .ToList();
        // fastai: BatchNorm parameters are never decayed and stay trainable when frozen (train_bn); the Linears have no bias.
        groups.Add(new ParameterGroup("head", head.named_parameters().Select(p =>
        {
            bool norm = p.name.EndsWith(".bias", StringComparison.Ordinal) || IsBatchNorm(p.name);
            return new NamedParameter("1." + p.name, p.parameter, WeightDecay: !norm, TrainWhenFrozen: norm);
        }).ToArray()));
        return groups;
    }

    // Head keys: layers.{block}.{index}.weight; index 0 is always the BatchNorm1d.
    private static bool IsBatchNorm(string name)
    {
        string[] parts = name.Split('.');
        return parts.Length == 4 && parts[2] == "0";
    }
}
