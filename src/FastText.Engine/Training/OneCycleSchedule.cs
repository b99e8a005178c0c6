namespace FastText.Engine.Training;

/// <summary>
/// fastai's <c>fit_one_cycle</c> schedule (our own: TorchSharp's OneCycleLR mis-schedules every group after the first).
/// With pos = iteration / total: warm-up (pos &lt; pct) lr goes cos(lr/div → lr) while β1 goes cos(0.8 → 0.7); then lr goes
/// cos(lr → lr/divFinal) and β1 cos(0.7 → 0.8). <c>cos(a, b, p) = a + (1 + cos(π(1 − p)))·(b − a)/2</c>.
/// </summary>
/// <param name="PctStart">Fraction of iterations spent warming up (fastai 0.25; <c>fine_tune</c> uses 0.99 frozen, 0.3 after).</param>
/// <param name="Div">lr_max / starting lr (fastai 25).</param>
/// <param name="DivFinal">lr_max / final lr (fastai 1e5).</param>
/// <param name="MomentumStart">β1 at start and end (0.8 for text learners; 0.95 in fastai's general default).</param>
/// <param name="MomentumMiddle">β1 at the peak lr (0.7 for text learners; 0.85 general).</param>
public sealed record OneCycleSchedule(double PctStart = 0.25, double Div = 25, double DivFinal = 1e5,
    double MomentumStart = 0.8, double MomentumMiddle = 0.7)
{
    /// <summary>fastai's text-learner defaults.</summary>
    public static OneCycleSchedule Default { get; } = new();

    /// <summary>Learning-rate multiplier of lr_max at <paramref name="position"/> ∈ [0, 1].</summary>
    public double LearningRateFactor(double position)
    {
        if (position < PctStart)
        {
            return Cosine(1 / Div, 1, position / PctStart);
        }
        return Cosine(1, 1 / DivFinal, (position - PctStart) / (1 - PctStart));
    }

    /// <summary>β1 at <paramref name="position"/>.</summary>
    public double Momentum(double position) => position < PctStart
        ? Cosine(MomentumStart, MomentumMiddle, position / PctStart)
        : Cosine(MomentumMiddle, MomentumStart, (position - PctStart) / (1 - PctStart));

    /// <summary>fastai <c>SchedCos</c>.</summary>
    public static double Cosine(double start, double end, double progress) =>
        start + (1 + Math.Cos(Math.PI * (1 - progress))) * (end - start) / 2;

    /// <summary>A text form used to recognise the same fit when resuming.</summary>
    public string Signature() => FormattableString.Invariant($"pct={PctStart} div={Div} divFinal={DivFinal} mom={MomentumStart}/{MomentumMiddle}");
}
