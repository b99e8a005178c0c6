using System.Globalization;

namespace FastText.Engine.Models;

/// <summary>
/// Sizes and dropout probabilities of an AWD-LSTM (fastai <c>awd_lstm_lm_config</c> / <c>awd_lstm_clas_config</c>).
/// </summary>
/// <param name="EmbeddingSize">Embedding width and last LSTM layer's width, so the decoder can be tied (fastai <c>emb_sz</c>, 400).</param>
/// <param name="HiddenSize">Width of the inner LSTM layers (fastai <c>n_hid</c>, 1152; the original AWD-LSTM used 1150).</param>
/// <param name="Layers">Number of stacked single-layer LSTMs (fastai <c>n_layers</c>, 3).</param>
/// <param name="PadToken">Id of <c>xxpad</c>: the embedding's padding index (fastai <c>pad_token</c>, 1).</param>
/// <param name="OutputDropout">Locked dropout on the last layer's output before the decoder or head (fastai <c>output_p</c>).</param>
/// <param name="HiddenDropout">Locked dropout between LSTM layers (fastai <c>hidden_p</c>).</param>
/// <param name="InputDropout">Locked dropout on the embedding output (fastai <c>input_p</c>).</param>
/// <param name="EmbeddingDropout">Probability of dropping a whole word vector (fastai <c>embed_p</c>).</param>
/// <param name="WeightDropout">DropConnect on every hidden-to-hidden matrix (fastai <c>weight_p</c>).</param>
/// <param name="TieWeights">Decoder uses the embedding matrix (fastai <c>tie_weights</c>).</param>
/// <param name="OutputBias">Decoder has a bias (fastai <c>out_bias</c>).</param>
public sealed record AwdLstmConfig(
    int EmbeddingSize = 400,
    int HiddenSize = 1152,
    int Layers = 3,
    int PadToken = 1,
    double OutputDropout = 0.1,
    double HiddenDropout = 0.15,
    double InputDropout = 0.25,
    double EmbeddingDropout = 0.02,
    double WeightDropout = 0.2,
    bool TieWeights = true,
    bool OutputBias = true)
{
    /// <summary>fastai's language-model preset (<c>awd_lstm_lm_config</c>): output 0.1, hidden 0.15, input 0.25, embed 0.02, weight 0.2.</summary>
    public static AwdLstmConfig LanguageModel { get; } = new();

    /// <summary>fastai's classifier preset (<c>awd_lstm_clas_config</c>): output 0.4 (the head's first dropout), hidden 0.3,
    /// input 0.4, embed 0.05, weight 0.5.</summary>
    public static AwdLstmConfig Classifier { get; } = new(OutputDropout: 0.4, HiddenDropout: 0.3, InputDropout: 0.4,
        EmbeddingDropout: 0.05, WeightDropout: 0.5);

    /// <summary>
    /// Scales every dropout probability (fastai <c>drop_mult</c>: every key ending in <c>_p</c>, <c>output_p</c> included).
    /// fastai's defaults: 1.0 for <c>language_model_learner</c>, 0.5 for <c>text_classifier_learner</c>; fastbook uses 0.3 for the LM.
    /// </summary>
    public AwdLstmConfig WithDropoutMultiplier(double multiplier)
    {
        if (multiplier < 0 || double.IsNaN(multiplier))
        {
            throw new ArgumentOutOfRangeException(nameof(multiplier), multiplier, "The dropout multiplier must be >= 0.");
        }
        return this with
        {
            OutputDropout = OutputDropout * multiplier,
            HiddenDropout = HiddenDropout * multiplier,
            InputDropout = InputDropout * multiplier,
            EmbeddingDropout = EmbeddingDropout * multiplier,
            WeightDropout = WeightDropout * multiplier,
        };
    }

    /// <summary>Input width of layer <paramref name="layer"/>: the embedding for the first, the hidden size after.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? EmbeddingSize : HiddenSize;

    /// <summary>Output width of layer <paramref name="layer"/>: the embedding size for the last (so the decoder can be tied).</summary>
    public int LayerOutputSize(int layer) => layer == Layers - 1 ? EmbeddingSize : HiddenSize;

    /// <summary>Throws when a size or probability is out of range, naming it.</summary>
    public void Validate()
    {
        Positive(EmbeddingSize, nameof(EmbeddingSize));
        Positive(HiddenSize, nameof(HiddenSize));
        Positive(Layers, nameof(Layers));
        Probability(OutputDropout, nameof(OutputDropout));
        Probability(HiddenDropout, nameof(HiddenDropout));
        Probability(InputDropout, nameof(InputDropout));
        Probability(EmbeddingDropout, nameof(EmbeddingDropout));
        Probability(WeightDropout, nameof(WeightDropout));
    }

    /// <summary>The architecture part of the configuration (sizes, tying), which a checkpoint must match; dropouts may differ.</summary>
    public string ArchitectureSignature() => string.Create(CultureInfo.InvariantCulture,
        $"awd-lstm emb={EmbeddingSize} hid={HiddenSize} layers={Layers} pad={PadToken} tie={TieWeights} bias={OutputBias}");

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"AwdLstmConfig.{name} must be positive.");
        }
    }

    private static void Probability(double value, string name)
    {
        if (!(value >= 0 && value < 1))
        {
            throw new ArgumentOutOfRangeException(name, value, $"AwdLstmConfig.{name} must be in [0, 1).");
        }
    }
}
