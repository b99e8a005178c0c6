using FastText.Engine.Text;

namespace FastText.Engine.Models.Baselines;

/// <summary>
/// The bag-of-words baseline a user tries first: TF-IDF of word unigrams and bigrams and a linear SVM, the way
/// scikit-learn's <c>TfidfVectorizer(ngram_range=(1, 2))</c> + <c>LinearSVC()</c> computes them (raw counts times the
/// smoothed idf <c>ln((1 + n) / (1 + df)) + 1</c>, each document L2-normalised; squared-hinge loss, C = 1, a bias
/// feature of 1, one-vs-rest over classes, solved by LIBLINEAR's dual coordinate descent to tolerance 1e-4), on the
/// engine's own tokens. Trains in about a second on a few thousand mails.
/// </summary>
/// <remarks>bench/peers/baselines.py runs scikit-learn on the same tokens and subsets (perf-results/Baselines.md).</remarks>
public sealed class TfIdfLinearSvm : ITextBaseline
{
    private const double Cost = 1.0;
    private const double Tolerance = 1e-4;
    private const int MaxIterations = 1000;

    private readonly NgramFeatures features;
    private readonly double[][] weights;   // per one-vs-rest classifier: one weight per feature, then the bias

    private TfIdfLinearSvm(NgramFeatures features, double[][] weights, int classCount)
    {
        this.features = features;
        this.weights = weights;
        ClassCount = classCount;
    }

    /// <inheritdoc />
    public string Name => "TF-IDF + linear SVM";

    /// <inheritdoc />
    public int ClassCount { get; }

    /// <summary>Fits the vectorizer and the SVM on <paramref name="training"/> documents of <paramref name="corpus"/>.</summary>
    /// <param name="corpus">A labelled corpus (token ids, classes).</param>
    /// <param name="training">Documents to train on.</param>
    /// <param name="seed">Seed of the coordinate-descent order (the optimum does not depend on it).</param>
    public static TfIdfLinearSvm Train(ITokenCorpus corpus, IReadOnlyList<int> training, int seed)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(training);
        int classes = BaselineData.CheckLabelled(corpus, training);
        NgramFeatures features = NgramFeatures.Fit(corpus, training);
        SparseRow[] rows = training.Select(d => features.Transform(corpus, d)).ToArray();
        int[] labels = training.Select(corpus.Label).ToArray();
        // Two classes: one classifier, class 1 positive (as LIBLINEAR does); more: one per class.
        int machines = classes == 2 ? 1 : classes;
        var weights = new double[machines][];
        for (int k = 0; k < machines; k++)
        {
            int positive = classes == 2 ? 1 : k;
            weights[k] = SolveDual(rows, labels.Select(l => l == positive ? 1.0 : -1.0).ToArray(), features.Count, seed + k);
        }
        return new TfIdfLinearSvm(features, weights, classes);
    }

    /// <inheritdoc />
    public int Predict(ITokenCorpus corpus, int document)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        SparseRow row = features.Transform(corpus, document);
        if (weights.Length == 1)
        {
            return Score(weights[0], row) > 0 ? 1 : 0;
        }
        int best = 0;
        double bestScore = double.NegativeInfinity;
        for (int k = 0; k < weights.Length; k++)
        {
            double score = Score(weights[k], row);
            if (score > bestScore)
            {
                (best, bestScore) = (k, score);
            }
        }
        return best;
    }

    private static double Score(double[] w, SparseRow row)
    {
        double sum = w[^1];   // bias feature = 1
        for (int i = 0; i < row.Indices.Length; i++)
        {
            sum += w[row.Indices[i]] * row.Values[i];
        }
        return sum;
    }

    // LIBLINEAR's dual coordinate descent for L2-regularised squared-hinge SVM (Hsieh et al. 2008) with its shrinking:
    // min over α ≥ 0 of ½ αᵀ(Q + D)α − eᵀα, Q_ij = y_i y_j x_i·x_j, D_ii = 1 / (2C); w = Σ α_i y_i x_i. A variable at its
    // bound whose gradient points outwards past last pass's largest projected gradient leaves the active set; once the
    // active set converges, every variable is checked again before stopping.
    private static double[] SolveDual(SparseRow[] rows, double[] y, int featureCount, int seed)
    {
        var w = new double[featureCount + 1];
        var alpha = new double[rows.Length];
        double diagonal = 0.5 / Cost;
        double[] qii = rows.Select(r => r.SquaredNorm + 1.0 + diagonal).ToArray();   // + bias feature
        int[] index = Enumerable.Range(0, rows.Length).ToArray();
        int active = rows.Length;
        double maxOld = double.PositiveInfinity;   // α has no upper bound with the squared hinge: only α = 0 shrinks
        var random = new Random(seed);
        for (int iteration = 0; iteration < MaxIterations; iteration++)
        {
            random.Shuffle(index.AsSpan(0, active));
            double maxProjected = double.NegativeInfinity, minProjected = double.PositiveInfinity;
            for (int s = 0; s < active; s++)
            {
                int i = index[s];
                SparseRow row = rows[i];
                double gradient = (y[i] * Score(w, row)) - 1.0 + (diagonal * alpha[i]);
                double projected = 0;
                if (alpha[i] == 0)
                {
                    if (gradient > maxOld)
                    {
                        active--;
                        (index[s], index[active]) = (index[active], index[s]);
                        s--;
                        continue;
                    }
                    projected = Math.Min(gradient, 0);
                }
                else
                {
                    projected = gradient;
                }
                maxProjected = Math.Max(maxProjected, projected);
                minProjected = Math.Min(minProjected, projected);
                if (Math.Abs(projected) < 1e-12)
                {
                    continue;
                }
                double old = alpha[i];
                alpha[i] = Math.Max(old - (gradient / qii[i]), 0);
                double step = (alpha[i] - old) * y[i];
                for (int j = 0; j < row.Indices.Length; j++)
                {
                    w[row.Indices[j]] += step * row.Values[j];
                }
                w[^1] += step;
            }
            if (maxProjected - minProjected <= Tolerance)
            {
                if (active == rows.Length)
                {
                    break;
                }
                active = rows.Length;          // converged on the active set: check them all once more
                maxOld = double.PositiveInfinity;
                continue;
            }
            maxOld = maxProjected <= 0 ? double.PositiveInfinity : maxProjected;
        }
        return w;
    }
}
