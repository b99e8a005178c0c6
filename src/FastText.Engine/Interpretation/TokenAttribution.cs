namespace FastText.Engine.Interpretation;

/// <summary>One document explained: what the classifier answered and how much each token counted.</summary>
/// <param name="Ids">The token ids, in reading order.</param>
/// <param name="Probabilities">Class probabilities of the explained function (fp32, eval).</param>
/// <param name="ClassIndex">The class whose probability is explained.</param>
/// <param name="IntrinsicAttention">Per token, in [0, 1]: the L1 norm of ∂p/∂embedding over its largest (fastai v1).</param>
/// <param name="IntegratedGradients">Per token, signed, with the completeness check.</param>
public sealed record TokenAttribution(int[] Ids, float[] Probabilities, int ClassIndex, float[] IntrinsicAttention,
    IntegratedGradients IntegratedGradients)
{
    /// <summary>Probability of the explained class.</summary>
    public float Probability => Probabilities[ClassIndex];

    /// <summary>Token positions from the most to the least important by one method (integrated gradients: by signed
    /// score, most in favour of the class first; intrinsic attention: by score).</summary>
    public int[] Ranking(AttributionMethod method)
    {
        float[] scores = method == AttributionMethod.IntegratedGradients ? IntegratedGradients.Scores : IntrinsicAttention;
        return Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
    }
}

/// <summary>Integrated gradients of one document.</summary>
/// <param name="Scores">Per token (reading order); positive pushes towards the class.</param>
/// <param name="Steps">Gauss–Legendre path points, in all parts of the path.</param>
/// <param name="Sum">Σ scores.</param>
/// <param name="AtText">f(text): the class probability.</param>
/// <param name="AtBaseline">f(baseline): the class probability with every token replaced by the padding embedding.</param>
public sealed record IntegratedGradients(float[] Scores, int Steps, double Sum, double AtText, double AtBaseline)
{
    /// <summary>The gap the completeness axiom says is zero: |Σ scores − (f(text) − f(baseline))| over |f(text) −
    /// f(baseline)| (absolute when that difference is below 1e-6).</summary>
    public double CompletenessGap => GapOf(Sum, AtText - AtBaseline);

    /// <summary>Parts the path was integrated in: 1 when one rule of <see cref="Steps"/> points passed the check, more
    /// when the refinement halved the parts whose own sums missed their ends' difference.</summary>
    public int PathParts { get; init; } = 1;

    /// <summary>|<paramref name="sum"/> − <paramref name="expected"/>| relative to |expected| (absolute below 1e-6).</summary>
    internal static double GapOf(double sum, double expected)
    {
        double gap = Math.Abs(sum - expected);
        return Math.Abs(expected) < 1e-6 ? gap : gap / Math.Abs(expected);
    }

    /// <summary>The completeness gap is within <see cref="CompletenessTolerance"/>.</summary>
    public bool IsComplete => CompletenessGap <= CompletenessTolerance;

    /// <summary>The bar: 1 % at the default steps.</summary>
    public const double CompletenessTolerance = 0.01;
}

/// <summary>The two attribution methods.</summary>
public enum AttributionMethod
{
    /// <summary>fastai v1's gradient norm per token.</summary>
    IntrinsicAttention,

    /// <summary>Integrated gradients from the all-padding baseline.</summary>
    IntegratedGradients,
}
