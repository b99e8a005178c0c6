namespace FastText.Engine.Training;

/// <summary>Optimizer settings (fastai defaults for text learners). Gradient clipping and loss scaling are callbacks:
/// <see cref="GradientClipping"/> and <see cref="DynamicLossScaler"/>.</summary>
/// <param name="WeightDecay">Decoupled weight decay (fastai <c>wd</c>, 0.01); not applied to parameters flagged without decay.</param>
/// <param name="Beta2">Adam β2 (fastai <c>sqr_mom</c>, 0.99).</param>
/// <param name="Epsilon">Adam ε (fastai <c>eps</c>, 1e-5).</param>
public sealed record LearnerOptions(double WeightDecay = 0.01, double Beta2 = 0.99, double Epsilon = 1e-5)
{
    /// <summary>The settings as they enter a fit's checkpoint signature (culture-invariant).</summary>
    internal string Signature() => FormattableString.Invariant($"wd={WeightDecay} beta2={Beta2} eps={Epsilon}");
}
