namespace FastText.Engine.Interpretation;

/// <summary>
/// Does an attribution tell the truth? The deletion test: remove a text's k highest-ranked tokens and see how far the
/// probability of the class it was explained for falls, against removing k tokens at random. A faithful method's
/// deletions cost much more than random ones.
/// </summary>
/// <remarks>Deleting shortens the text (the remaining tokens close up), as a reader would see it, rather than putting
/// padding in the holes: the classifier never saw padding inside a text. Texts with no more than k tokens are left out
/// of that k's mean. Random deletions average <see cref="RandomDraws"/> seeded draws per text.</remarks>
public sealed class DeletionCurve
{
    private readonly ClassifierExplainer explainer;

    /// <summary>Measures <paramref name="explainer"/>'s methods.</summary>
    public DeletionCurve(ClassifierExplainer explainer) => this.explainer = explainer ?? throw new ArgumentNullException(nameof(explainer));

    /// <summary>Random deletions per text and k.</summary>
    public int RandomDraws { get; init; } = 3;

    /// <summary>Seed of the random deletions.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Explains every document and deletes its top-k tokens for each k.</summary>
    /// <param name="documents">Token ids, reading order.</param>
    /// <param name="ks">Numbers of tokens to delete (each ≥ 1).</param>
    /// <param name="progress">Called with the number of documents done.</param>
    public DeletionResult Measure(IReadOnlyList<int[]> documents, IReadOnlyList<int> ks, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(ks);
        if (ks.Count == 0 || ks.Any(k => k < 1))
        {
            throw new ArgumentException("Delete at least one token per point.", nameof(ks));
        }
        var random = new Random(Seed);
        var sums = new double[3, ks.Count];
        var counts = new int[ks.Count];
        var gaps = new List<double>();
        var steps = new List<int>();
        for (int d = 0; d < documents.Count; d++)
        {
            int[] ids = documents[d];
            if (ids.Length < 2)
            {
                continue;
            }
            TokenAttribution a = explainer.Explain(ids);
            gaps.Add(a.IntegratedGradients.CompletenessGap);
            steps.Add(a.IntegratedGradients.Steps);
            int[] byIg = a.Ranking(AttributionMethod.IntegratedGradients);
            int[] byIa = a.Ranking(AttributionMethod.IntrinsicAttention);
            for (int j = 0; j < ks.Count; j++)
            {
                int k = ks[j];
                if (ids.Length <= k)
                {
                    continue;
                }
                counts[j]++;
                sums[0, j] += a.Probability - ProbabilityWithout(ids, byIg.AsSpan(0, k), a.ClassIndex);
                sums[1, j] += a.Probability - ProbabilityWithout(ids, byIa.AsSpan(0, k), a.ClassIndex);
                double randomDrop = 0;
                for (int r = 0; r < RandomDraws; r++)
                {
                    int[] positions = Enumerable.Range(0, ids.Length).OrderBy(_ => random.Next()).Take(k).ToArray();
                    randomDrop += a.Probability - ProbabilityWithout(ids, positions, a.ClassIndex);
                }
                sums[2, j] += randomDrop / RandomDraws;
            }
            progress?.Invoke(d + 1);
        }
        var points = new List<DeletionPoint>();
        for (int j = 0; j < ks.Count; j++)
        {
            if (counts[j] > 0)
            {
                points.Add(new DeletionPoint(ks[j], counts[j], sums[0, j] / counts[j], sums[1, j] / counts[j], sums[2, j] / counts[j]));
            }
        }
        return new DeletionResult(points, gaps, steps);
    }

    private double ProbabilityWithout(int[] ids, ReadOnlySpan<int> positions, int classIndex)
    {
        var removed = new HashSet<int>(positions.ToArray());
        int[] kept = ids.Where((_, i) => !removed.Contains(i)).ToArray();
        return explainer.Probabilities(kept)[classIndex];
    }
}

/// <summary>Mean drops of the explained class's probability after deleting k tokens.</summary>
/// <param name="Deleted">k.</param>
/// <param name="Texts">Texts longer than k (the mean's size).</param>
/// <param name="IntegratedGradients">Deleting the k tokens most in favour of the class by integrated gradients.</param>
/// <param name="IntrinsicAttention">Deleting the k tokens of highest intrinsic attention.</param>
/// <param name="Random">Deleting k random tokens.</param>
public sealed record DeletionPoint(int Deleted, int Texts, double IntegratedGradients, double IntrinsicAttention, double Random);

/// <summary>The deletion curve and the completeness gaps of the explanations it used.</summary>
public sealed record DeletionResult(IReadOnlyList<DeletionPoint> Points, IReadOnlyList<double> CompletenessGaps, IReadOnlyList<int> Steps);
