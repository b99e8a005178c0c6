using System.Globalization;
using TorchSharp;

namespace FastText.Engine.Training;

/// <summary>
/// fastai's <c>GradientClip</c> callback: before each optimizer step, rescales the trainable parameters' gradients so
/// their global L2 norm is at most <see cref="MaxNorm"/> (PyTorch's <c>clip_grad_norm_</c>). fastai's text learners do
/// not clip by default; AWD-LSTM's paper clipped at 0.25. Runs after a loss scaler has unscaled, so it sees true gradients.
/// </summary>
public sealed class GradientClipping : LearnerCallback
{
    /// <summary>Clips at <paramref name="maxNorm"/> (&gt; 0).</summary>
    public GradientClipping(double maxNorm)
    {
        if (!(maxNorm > 0) || double.IsInfinity(maxNorm))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The gradient clipping norm must be a positive finite number.");
        }
        MaxNorm = maxNorm;
    }

    /// <summary>The largest global gradient norm a step uses.</summary>
    public double MaxNorm { get; }

    /// <inheritdoc />
    public override string? FitSignature => "clip=" + MaxNorm.ToString("R", CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public override void BeforeStep(LearnerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.SkipStep)
        {
            torch.nn.utils.clip_grad_norm_(context.TrainableParameters, MaxNorm);
        }
    }
}
