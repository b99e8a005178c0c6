using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>
/// Dynamic loss scaling for fp16 training (GPU): the loss is multiplied by <see cref="Scale"/> before backward; if any
/// gradient is then inf/NaN the step is skipped and the scale halved, otherwise gradients are divided by the scale and,
/// after <see cref="GrowthInterval"/> clean steps in a row, the scale doubles (capped at <see cref="MaximumScale"/>).
/// Semantics of PyTorch's GradScaler (current fastai <c>to_fp16</c>); fastai 2.0's MixedPrecision started at 2^24 and grew
/// every 500 clean steps — pass those values to get it. bf16 does not need this. Add it to a learner's
/// <see cref="Learner{TBatch}.Callbacks"/>; its state (scale, clean and skipped steps) is part of the learner's checkpoints.
/// </summary>
public sealed class DynamicLossScaler : LearnerCallback
{
    /// <summary>Creates a scaler.</summary>
    public DynamicLossScaler(double initialScale = 65536, int growthInterval = 2000, double growthFactor = 2, double backoffFactor = 0.5, double maximumScale = 16777216)
    {
        if (!(initialScale > 0) || growthInterval < 1 || !(growthFactor > 1) || !(backoffFactor is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(initialScale), "Loss scaler: scale > 0, growth interval ≥ 1, growth factor > 1, backoff in (0, 1).");
        }
        Scale = initialScale;
        GrowthInterval = growthInterval;
        GrowthFactor = growthFactor;
        BackoffFactor = backoffFactor;
        MaximumScale = maximumScale;
    }

    /// <summary>Current loss multiplier.</summary>
    public double Scale { get; private set; }

    /// <summary>Clean steps needed before the scale grows.</summary>
    public int GrowthInterval { get; }

    /// <summary>Growth multiplier.</summary>
    public double GrowthFactor { get; }

    /// <summary>Multiplier applied on overflow.</summary>
    public double BackoffFactor { get; }

    /// <summary>Upper bound of the scale.</summary>
    public double MaximumScale { get; }

    /// <summary>Clean steps since the last overflow or growth.</summary>
    public int CleanSteps { get; private set; }

    /// <summary>Steps skipped because of overflow.</summary>
    public long SkippedSteps { get; private set; }

    /// <summary>The loss to call backward on.</summary>
    public Tensor ScaleLoss(Tensor loss)
    {
        ArgumentNullException.ThrowIfNull(loss);
        using Scalar scale = Scale;
        return loss.mul(scale);
    }

    /// <inheritdoc />
    public override void AfterLoss(LearnerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.BackwardLoss is { } loss)
        {
            context.BackwardLoss = ScaleLoss(loss);
        }
    }

    /// <inheritdoc />
    public override void AfterBackward(LearnerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!UnscaleOrSkip(context.TrainableParameters))
        {
            context.SkipStep = true;
        }
    }

    /// <summary>
    /// After backward: checks every gradient for inf/NaN (one sync). On overflow zeroes the gradients, backs off and
    /// returns false (skip the optimizer step); otherwise unscales the gradients in place, counts the clean step and returns true.
    /// </summary>
    public bool UnscaleOrSkip(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        using var scope = torch.NewDisposeScope();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        bool finite = true;
        if (grads.Count > 0)
        {
            Tensor all = torch.stack(grads.Select(g => g.isfinite().all()).ToArray()).all();
            finite = all.item<bool>();
        }
        if (!finite)
        {
            using (torch.no_grad())
            {
                foreach (Tensor g in grads)
                {
                    g.zero_();
                }
            }
            Scale *= BackoffFactor;
            CleanSteps = 0;
            SkippedSteps++;
            return false;
        }
        using (torch.no_grad())
        using (Scalar scale = Scale)
        {
            foreach (Tensor g in grads)
            {
                g.div_(scale);
            }
        }
        if (++CleanSteps >= GrowthInterval)
        {
            Scale = Math.Min(Scale * GrowthFactor, MaximumScale);
            CleanSteps = 0;
        }
        return true;
    }

    /// <summary>Restores a saved state (checkpoints).</summary>
    public void Restore(double scale, int cleanSteps, long skippedSteps)
    {
        Scale = scale;
        CleanSteps = cleanSteps;
        SkippedSteps = skippedSteps;
    }
}
