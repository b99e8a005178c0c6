using FastText.Engine.Native;
using FastText.Engine.Data;
using FastText.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>Options of <see cref="LanguageModelTask"/>.</summary>
/// <param name="ActivationRegularization">AR α: α·mean(dropped²) on the last layer after output dropout (fastai <c>alpha</c>, 2).</param>
/// <param name="TemporalActivationRegularization">TAR β: β·mean((raw[t+1] − raw[t])²) before dropout (fastai <c>beta</c>, 1).</param>
/// <param name="DecoderLoss">Chunked (default) or plain decoder cross-entropy.</param>
/// <param name="ChunkBytes">fp32 logits budget per chunk for the chunked loss.</param>
public sealed record LanguageModelTaskOptions(double ActivationRegularization = 2, double TemporalActivationRegularization = 1,
    DecoderLossMode DecoderLoss = DecoderLossMode.Chunked, long ChunkBytes = DecoderCrossEntropy.DefaultChunkBytes);

/// <summary>
/// Training an <see cref="AwdLstmLanguageModel"/> on <see cref="LanguageModelBatch"/>es: flattened next-token
/// cross-entropy, AR/TAR in fp32 (added to the reported training loss, as fastai 2.0 did), token accuracy in validation.
/// </summary>
public sealed class LanguageModelTask : ILearnerTask<LanguageModelBatch>, IDisposable
{
    private readonly AwdLstmLanguageModel model;
    private readonly DecoderWorkspace decoderBuffers = new();                 // reused by every step's decoder loss

    /// <summary>Creates the task.</summary>
    public LanguageModelTask(AwdLstmLanguageModel model, LanguageModelTaskOptions? options = null)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? new LanguageModelTaskOptions();
    }

    /// <summary>AR/TAR and loss options.</summary>
    public LanguageModelTaskOptions Options { get; set; }

    /// <summary>The language model.</summary>
    public AwdLstmLanguageModel LanguageModel => model;

    /// <inheritdoc />
    public nn.Module Model => model;

    /// <inheritdoc />
    public IReadOnlyList<ParameterGroup> ParameterGroups => model.ParameterGroups();

    /// <inheritdoc />
    public string Fingerprint => $"{model.Config.ArchitectureSignature()} vocab={model.VocabularySize}";

    /// <inheritdoc />
    public void ResetState() => model.Reset();

    /// <summary>Frees the decoder's reused buffers (the model is the caller's).</summary>
    public void Dispose() => decoderBuffers.Dispose();

    /// <inheritdoc />
    public IReadOnlyList<Tensor> CarriedState => model.Encoder.CarriedState();

    /// <inheritdoc />
    public void RestoreCarriedState(IReadOnlyList<Tensor> state) => model.Encoder.RestoreCarriedState(state);

    /// <inheritdoc />
    public double LearningRateScale(LanguageModelBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.LearningRateScale;
    }

    /// <inheritdoc />
    public BatchOutput Step(LanguageModelBatch batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Tensor ids = batch.Inputs;                                        // (batch, seq)
        long rows = ids.shape[0];
        long seq = ids.shape[1];
        LanguageModelOutput output = model.call(ids);                     // raw, dropped: (batch, seq, emb)
        Tensor features = output.Dropped.reshape(rows * seq, -1);        // (batch·seq, emb)
        ScalarType decoderType = model.Encoder.DecoderType;
        if (features.dtype != decoderType)
        {
            features = features.to(decoderType);                         // differentiable: gradients return in fp32
        }
        Tensor targets = batch.Targets.reshape(-1);                       // (batch·seq)
        DecoderLoss loss = DecoderCrossEntropy.Compute(features, model.Decoder.Weight, model.Decoder.Bias, targets,
            Options.DecoderLoss, training, accuracy: !training, Options.ChunkBytes, decoderBuffers);
        Tensor reported = loss.Loss;
        Tensor backward = loss.BackwardLoss;
        if (training)
        {
            // AR/TAR in fp32: squaring bf16/fp16 activations overflows or loses precision (fastai v1 #1335).
            if (Options.ActivationRegularization != 0)
            {
                using Scalar alpha = Options.ActivationRegularization;        // explicit Scalars: Native/Scalars.cs
                Tensor ar = output.Dropped.to(ScalarType.Float32).square().mean().mul(alpha);
                backward = backward.add(ar, Scalars.One);
                reported = reported.add(ar.detach(), Scalars.One);
            }
            if (Options.TemporalActivationRegularization != 0 && rows > 1 && seq > 1)
            {
                Tensor raw = output.Raw.to(ScalarType.Float32);
                using Scalar beta = Options.TemporalActivationRegularization;
                Tensor tar = raw.narrow(1, 1, seq - 1).sub(raw.narrow(1, 0, seq - 1)).square().mean().mul(beta);
                backward = backward.add(tar, Scalars.One);
                reported = reported.add(tar.detach(), Scalars.One);
            }
        }
        return new BatchOutput(reported, backward, loss.Correct, loss.Count, (int)rows, rows * seq);
    }
}
