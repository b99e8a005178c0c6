using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Classifier;

/// <summary>Presents an <see cref="AwdLstmEncoder"/> to the <see cref="SentenceEncoder"/> (registered as itself, so
/// the classifier's keys read <c>0.module.encoder.weight</c>, <c>0.module.rnns.0.weight_hh_l0_raw</c> as in fastai).</summary>
public sealed class AwdLstmClassifierEncoder : IRecurrentEncoder
{
    /// <summary>Wraps <paramref name="encoder"/>.</summary>
    public AwdLstmClassifierEncoder(AwdLstmEncoder encoder) => Encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));

    /// <summary>The AWD-LSTM encoder.</summary>
    public AwdLstmEncoder Encoder { get; }

    /// <inheritdoc />
    public nn.Module Module => Encoder;

    /// <inheritdoc />
    public long OutputSize => Encoder.Config.EmbeddingSize;

    /// <inheritdoc />
    public int PaddingId => Encoder.Config.PadToken;

    /// <inheritdoc />
    public ComputePrecision Precision
    {
        get => Encoder.Precision;
        set => Encoder.Precision = value;
    }

    /// <inheritdoc />
    public void ResetState() => Encoder.Reset();

    /// <inheritdoc />
    public Tensor Encode(Tensor ids) => Encoder.call(ids);

    /// <inheritdoc />
    public IReadOnlyList<ParameterGroup> ParameterGroups() => Encoder.ParameterGroups();
}
