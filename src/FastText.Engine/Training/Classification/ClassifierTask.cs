using FastText.Engine.Native;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Training.Classification;

/// <summary>Options of <see cref="ClassifierTask"/>.</summary>
/// <param name="ActivationRegularization">AR α on the sentence encoder's output (fastai 2.0 applies the RNN regularizer to classifiers too, 2).</param>
/// <param name="TemporalActivationRegularization">TAR β (1).</param>
public sealed record ClassifierTaskOptions(double ActivationRegularization = 2, double TemporalActivationRegularization = 1);

/// <summary>
/// Training a <see cref="TextClassifier"/> on <see cref="ClassifierBatch"/>es with the shared <see cref="Learner{TBatch}"/>:
/// cross-entropy on the logits, AR/TAR in fp32 on the encoder output (added to the reported training loss as in
/// fastai 2.0), accuracy in validation, five parameter groups for gradual unfreezing.
/// </summary>
public sealed class ClassifierTask : ILearnerTask<ClassifierBatch>
{
    private readonly TextClassifier model;

    /// <summary>Creates the task.</summary>
    public ClassifierTask(TextClassifier model, ClassifierTaskOptions? options = null)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? new ClassifierTaskOptions();
        ParameterGroups = model.ParameterGroups();
    }

    /// <summary>AR/TAR options.</summary>
    public ClassifierTaskOptions Options { get; }

    /// <summary>The classifier.</summary>
    public TextClassifier Classifier => model;

    /// <inheritdoc />
    public nn.Module Model => model;

    /// <inheritdoc />
    public IReadOnlyList<ParameterGroup> ParameterGroups { get; }

    /// <inheritdoc />
    public string Fingerprint => $"classifier classes={model.ClassCount} bptt={model.Options.Bptt} params={model.parameters().Sum(p => p.numel())}";

    /// <inheritdoc />
    public void ResetState() => model.SentenceEncoder.Encoder.ResetState();

    /// <inheritdoc />
    public BatchOutput Step(ClassifierBatch batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        (Tensor logits, Tensor output) = model.ForwardWithOutput(batch.Inputs);   // (rows, classes), (rows, kept, E)
        Tensor loss = nn.functional.cross_entropy(logits.to(ScalarType.Float32), batch.Labels);
        Tensor reported = loss;
        Tensor backward = loss;
        if (training)
        {
            long rows = output.shape[0], time = output.shape[1];
            Tensor features = output.to(ScalarType.Float32);
            if (Options.ActivationRegularization != 0)
            {
                using Scalar alpha = Options.ActivationRegularization;        // explicit Scalars: Native/Scalars.cs
                Tensor ar = features.square().mean().mul(alpha);
                backward = backward.add(ar, Scalars.One);
                reported = reported.add(ar.detach(), Scalars.One);
            }
            if (Options.TemporalActivationRegularization != 0 && rows > 1 && time > 1)
            {
                using Scalar beta = Options.TemporalActivationRegularization;
                Tensor tar = features.narrow(1, 1, time - 1).sub(features.narrow(1, 0, time - 1)).square().mean().mul(beta);
                backward = backward.add(tar, Scalars.One);
                reported = reported.add(tar.detach(), Scalars.One);
            }
        }
        Tensor correct = logits.argmax(1).eq(batch.Labels).sum();
        return new BatchOutput(reported.detach(), backward, correct, batch.Labels.shape[0], (int)batch.Labels.shape[0], batch.Inputs.numel());
    }
}
