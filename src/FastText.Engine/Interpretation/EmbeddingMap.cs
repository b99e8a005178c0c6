using FastText.Engine.Models;
using FastText.Engine.Reporting;
using FastText.Engine.Text;
using static TorchSharp.torch;

namespace FastText.Engine.Interpretation;

/// <summary>How <see cref="EmbeddingMap"/> lays tokens out in two dimensions.</summary>
public enum MapMethod
{
    /// <summary>The first two principal components: distances along them are the embeddings' own (a linear view).</summary>
    Pca,

    /// <summary>Exact t-SNE (van der Maaten and Hinton, 2008): neighbourhoods kept, global distances not.</summary>
    TSne,
}

/// <summary>One token on a 2-D map.</summary>
/// <param name="Token">The token.</param>
/// <param name="X">First coordinate.</param>
/// <param name="Y">Second coordinate.</param>
public sealed record MapPoint(string Token, double X, double Y);

/// <summary>A 2-D map of tokens' embeddings.</summary>
/// <param name="Points">The tokens, most frequent first.</param>
/// <param name="Method">How the map was made.</param>
/// <param name="ExplainedVariance">PCA: the share of the selected embeddings' variance along each of the two axes; t-SNE:
/// the shares of the PCA it started from.</param>
/// <param name="Divergence">t-SNE: the final KL divergence of the map from the embeddings' neighbourhoods; PCA: NaN.</param>
/// <param name="Perplexity">t-SNE: the perplexity of its Gaussian neighbourhoods; PCA: NaN.</param>
public sealed record EmbeddingMapResult(IReadOnlyList<MapPoint> Points, MapMethod Method, (double First, double Second) ExplainedVariance, double Divergence,
    double Perplexity);

/// <summary>
/// The most frequent tokens of a language model's (tied) embedding, laid out in two dimensions: by PCA, or by exact
/// t-SNE started from the PCA (as scikit-learn's <c>init="pca"</c>, so the same model always gives the same map).
/// Exact t-SNE is O(n²) per iteration: a few hundred tokens take about a second, which is what a labelled picture can
/// show anyway; for thousands use PCA.
/// </summary>
public static class EmbeddingMap
{
    /// <summary>Maps the <paramref name="count"/> most frequent ordinary tokens of <paramref name="model"/> (fastai's
    /// special <c>xx…</c> tokens left out; the vocabulary is in frequency order after them).</summary>
    public static EmbeddingMapResult Create(AwdLstmLanguageModel model, Vocabulary vocabulary, int count = 300, MapMethod method = MapMethod.Pca, double? perplexity = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 3);
        var ids = new List<int>(count);
        for (int id = 0; id < vocabulary.Count && ids.Count < count; id++)
        {
            if (!SpecialTokens.All.Contains(vocabulary[id]) && vocabulary[id] != SpecialTokens.Fake)
            {
                ids.Add(id);
            }
        }
        if (ids.Count < 3)
        {
            throw new ArgumentException($"The vocabulary has {ids.Count} ordinary tokens; a map needs at least 3.", nameof(vocabulary));
        }
        double[,] rows;
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
        {
            Tensor weight = model.Encoder.EmbeddingWeight.detach().to(ScalarType.Float64);
            rows = ToArray(weight.index_select(0, tensor(ids.Select(i => (long)i).ToArray())));
        }
        return Layout(rows, ids.Select(i => vocabulary[i]).ToList(), method, perplexity);
    }

    /// <summary>Lays out arbitrary rows (one per label): what <see cref="Create"/> does after picking the tokens. The
    /// t-SNE perplexity defaults to scikit-learn's 30, or a third of the points when there are fewer than 90.</summary>
    public static EmbeddingMapResult Layout(double[,] rows, IReadOnlyList<string> labels, MapMethod method = MapMethod.Pca, double? perplexity = null, int iterations = 1000)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(labels);
        int n = rows.GetLength(0);
        if (labels.Count != n)
        {
            throw new ArgumentException($"{labels.Count} labels for {n} rows.", nameof(labels));
        }
        var (pca, variance) = Pca(rows);
        if (method == MapMethod.Pca)
        {
            return new EmbeddingMapResult(Points(pca, labels), method, variance, double.NaN, double.NaN);
        }
        double neighbourhood = perplexity ?? Math.Min(30, n / 3.0);
        if (!(neighbourhood > 0) || neighbourhood >= n)
        {
            throw new ArgumentOutOfRangeException(nameof(perplexity), neighbourhood, $"The t-SNE perplexity must be above 0 and below the number of points ({n}).");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        double divergence = TSne(rows, pca, neighbourhood, iterations);
        return new EmbeddingMapResult(Points(pca, labels), method, variance, divergence, neighbourhood);
    }

    // Centred rows → their first two principal coordinates (n × 2) and the share of variance of each. Signs are fixed
    // so that each axis's largest-magnitude coordinate is positive: the same rows always give the same picture.
    private static (double[,] Coordinates, (double, double) Variance) Pca(double[,] rows)
    {
        using var scope = NewDisposeScope();
        Tensor x = from_array(rows);
        x = x - x.mean([0], keepdim: true);
        var (u, s, _) = linalg.svd(x, fullMatrices: false);
        Tensor coordinates = u[.., ..2] * s[..2];
        Tensor peak = coordinates.abs().argmax(0);
        for (int axis = 0; axis < 2; axis++)
        {
            if (coordinates[peak[axis].item<long>(), axis].item<double>() < 0)
            {
                coordinates[.., axis].neg_();
            }
        }
        double total = s.square().sum().item<double>();
        double first = s[0].square().item<double>() / total, second = s.shape[0] > 1 ? s[1].square().item<double>() / total : 0;
        return (ToArray(coordinates), (first, second));
    }

    // Exact t-SNE in place on y (n × 2, the PCA start, rescaled to sd 1e-4 as scikit-learn does): Gaussian affinities
    // with each point's bandwidth found by bisection to the perplexity, symmetrised; Student-t affinities in the map;
    // gradient descent with momentum 0.5 → 0.8, early exaggeration 12 for the first 250 iterations, per-coordinate
    // gains and scikit-learn's automatic learning rate. Returns KL(P ‖ Q) at the end.
    private static double TSne(double[,] rows, double[,] y, double perplexity, int iterations)
    {
        int n = rows.GetLength(0), d = rows.GetLength(1);
        var distances = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                double sum = 0;
                for (int k = 0; k < d; k++)
                {
                    double diff = rows[i, k] - rows[j, k];
                    sum += diff * diff;
                }
                distances[i, j] = distances[j, i] = sum;
            }
        }
        double[,] p = Affinities(distances, perplexity);
        double sd = 0;
        for (int i = 0; i < n; i++)
        {
            sd += y[i, 0] * y[i, 0];
        }
        sd = Math.Sqrt(sd / n);
        double scale = sd > 0 ? 1e-4 / sd : 1;
        for (int i = 0; i < n; i++)
        {
            y[i, 0] *= scale;
            y[i, 1] *= scale;
        }
        const double Exaggeration = 12;
        double learningRate = Math.Max(n / Exaggeration / 4, 50);      // scikit-learn's "auto"
        const int ExaggeratedIterations = 250;
        var velocity = new double[n, 2];
        var gains = new double[n, 2];
        for (int i = 0; i < n; i++)
        {
            gains[i, 0] = gains[i, 1] = 1;
        }
        var q = new double[n, n];
        for (int iteration = 0; iteration < iterations; iteration++)
        {
            double exaggeration = iteration < ExaggeratedIterations ? Exaggeration : 1;
            double momentum = iteration < ExaggeratedIterations ? 0.5 : 0.8;
            double qSum = StudentT(y, q);
            for (int i = 0; i < n; i++)
            {
                double g0 = 0, g1 = 0;
                for (int j = 0; j < n; j++)
                {
                    // dC/dy_i = 4 Σ_j (p_ij − q_ij) (y_i − y_j) / (1 + |y_i − y_j|²); q[i, j] holds the unnormalised kernel.
                    double w = (exaggeration * p[i, j] - q[i, j] / qSum) * q[i, j];
                    g0 += w * (y[i, 0] - y[j, 0]);
                    g1 += w * (y[i, 1] - y[j, 1]);
                }
                Step(i, 0, 4 * g0);
                Step(i, 1, 4 * g1);
            }
            for (int i = 0; i < n; i++)
            {
                y[i, 0] += velocity[i, 0];
                y[i, 1] += velocity[i, 1];
            }

            void Step(int i, int axis, double gradient)
            {
                // A coordinate's gain grows while the gradient opposes its velocity (the step keeps going the right
                // way) and shrinks otherwise.
                gains[i, axis] = velocity[i, axis] * gradient < 0 ? gains[i, axis] + 0.2 : Math.Max(0.01, gains[i, axis] * 0.8);
                velocity[i, axis] = momentum * velocity[i, axis] - learningRate * gains[i, axis] * gradient;
            }
        }
        double sumQ = StudentT(y, q), divergence = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                if (i != j && p[i, j] > 0)
                {
                    divergence += p[i, j] * Math.Log(p[i, j] / Math.Max(q[i, j] / sumQ, 1e-300));
                }
            }
        }
        return divergence;
    }

    // q[i, j] = 1 / (1 + |y_i − y_j|²) (0 on the diagonal); returns their sum.
    private static double StudentT(double[,] y, double[,] q)
    {
        int n = y.GetLength(0);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            q[i, i] = 0;
            for (int j = i + 1; j < n; j++)
            {
                double dx = y[i, 0] - y[j, 0], dy = y[i, 1] - y[j, 1];
                double kernel = 1 / (1 + dx * dx + dy * dy);
                q[i, j] = q[j, i] = kernel;
                sum += 2 * kernel;
            }
        }
        return sum;
    }

    // Row-wise Gaussian conditionals p_{j|i} whose entropy is log(perplexity) (bisection on the precision β), then
    // p_ij = (p_{j|i} + p_{i|j}) / 2n.
    private static double[,] Affinities(double[,] distances, double perplexity)
    {
        int n = distances.GetLength(0);
        var p = new double[n, n];
        double target = Math.Log(perplexity);
        var row = new double[n];
        for (int i = 0; i < n; i++)
        {
            double beta = 1, low = double.NegativeInfinity, high = double.PositiveInfinity;
            double nearest = double.PositiveInfinity;
            for (int j = 0; j < n; j++)
            {
                if (j != i)
                {
                    nearest = Math.Min(nearest, distances[i, j]);
                }
            }
            for (int attempt = 0; attempt < 100; attempt++)
            {
                double sum = 0, weighted = 0;
                for (int j = 0; j < n; j++)
                {
                    // Shifted by the nearest distance so the largest term is 1: no underflow for far-apart rows.
                    row[j] = j == i ? 0 : Math.Exp(-beta * (distances[i, j] - nearest));
                    sum += row[j];
                    weighted += row[j] * (distances[i, j] - nearest);
                }
                double entropy = Math.Log(sum) + beta * weighted / sum;
                if (Math.Abs(entropy - target) < 1e-5)
                {
                    break;
                }
                if (entropy > target)
                {
                    low = beta;
                    beta = double.IsPositiveInfinity(high) ? beta * 2 : (beta + high) / 2;
                }
                else
                {
                    high = beta;
                    beta = double.IsNegativeInfinity(low) ? beta / 2 : (beta + low) / 2;
                }
            }
            double total = 0;
            for (int j = 0; j < n; j++)
            {
                total += row[j];
            }
            for (int j = 0; j < n; j++)
            {
                p[i, j] = row[j] / total;
            }
        }
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                double symmetric = (p[i, j] + p[j, i]) / (2 * n);
                p[i, j] = p[j, i] = Math.Max(symmetric, 1e-12);
            }
        }
        return p;
    }

    /// <summary>Writes <paramref name="map"/> as a labelled PNG (axes named by its method), atomically.</summary>
    public static void SavePng(EmbeddingMapResult map, string path, string title)
    {
        ArgumentNullException.ThrowIfNull(map);
        bool pca = map.Method == MapMethod.Pca;
        TrainingPlots.SaveLabelledPoints(path, map.Points.Select(p => (p.Token, p.X, p.Y)).ToList(), title, pca ? "PC 1" : "t-SNE 1", pca ? "PC 2" : "t-SNE 2");
    }

    private static List<MapPoint> Points(double[,] coordinates, IReadOnlyList<string> labels) =>
        labels.Select((label, i) => new MapPoint(label, coordinates[i, 0], coordinates[i, 1])).ToList();

    private static double[,] ToArray(Tensor matrix)
    {
        using Tensor contiguous = matrix.to(ScalarType.Float64).contiguous();
        int n = (int)contiguous.shape[0], d = (int)contiguous.shape[1];
        double[] flat = contiguous.data<double>().ToArray();
        var result = new double[n, d];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }
}
