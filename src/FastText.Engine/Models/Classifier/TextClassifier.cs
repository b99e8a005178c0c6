using TorchSharp;
using TorchSharp.Modules;
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

    /// <summary>Number of classes.</summary>
    public int ClassCount => head.ClassCount;

    /// <inheritdoc />
    public override Tensor forward(Tensor ids)
    {
        using var scope = NewDisposeScope();
        (Tensor output, Tensor mask) = sentenceEncoder.call(ids);
        return head.call(output, mask).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The five ULMFiT parameter groups (fastai's <c>awd_lstm_clas_split</c>): [embedding], [rnn 0], [rnn 1], [rnn 2],
    /// [head] — one more group per extra encoder layer. Used for gradual unfreezing and discriminative learning rates.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<Parameter>> ParameterGroups()
    {
        var groups = new List<IReadOnlyList<Parameter>>(sentenceEncoder.Encoder.LayerGroups());
        groups.Add(head.parameters().ToList());
        return groups;
    }
}
