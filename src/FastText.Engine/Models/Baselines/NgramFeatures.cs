using FastText.Engine.Text;

namespace FastText.Engine.Models.Baselines;

/// <summary>A classifier of whole documents that needs no language model: the comparison ULMFiT has to win.</summary>
public interface ITextBaseline
{
    /// <summary>Name as reports show it.</summary>
    string Name { get; }

    /// <summary>Number of classes.</summary>
    int ClassCount { get; }

    /// <summary>Predicted class of <paramref name="document"/> of <paramref name="corpus"/> (its token ids).</summary>
    int Predict(ITokenCorpus corpus, int document);
}

/// <summary>Helpers shared by the baselines.</summary>
internal static class BaselineData
{
    /// <summary>Accuracy of <paramref name="model"/> on <paramref name="documents"/> of <paramref name="corpus"/>.</summary>
    public static double Accuracy(ITextBaseline model, ITokenCorpus corpus, IReadOnlyList<int> documents)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(documents);
        if (documents.Count == 0)
        {
            throw new ArgumentException("No documents to evaluate on.", nameof(documents));
        }
        return documents.Count(d => model.Predict(corpus, d) == corpus.Label(d)) / (double)documents.Count;
    }

    // The number of classes, after checking the corpus is labelled and the training set non-empty.
    internal static int CheckLabelled(ITokenCorpus corpus, IReadOnlyList<int> training)
    {
        if (!corpus.HasLabels || corpus.ClassNames.Count < 2)
        {
            throw new ArgumentException("A baseline classifier needs a corpus with labels of at least two classes.", nameof(corpus));
        }
        if (training.Count == 0)
        {
            throw new ArgumentException("No training documents.", nameof(training));
        }
        return corpus.ClassNames.Count;
    }

    // The document's token ids (a pooled buffer would save little: baselines read each document once per epoch).
    internal static int[] Tokens(ITokenCorpus corpus, int document)
    {
        var tokens = new int[corpus.DocumentLength(document)];
        corpus.CopyTokens(document, 0, tokens);
        return tokens;
    }
}

/// <summary>A sparse feature vector: sorted feature indices and their values.</summary>
internal readonly record struct SparseRow(int[] Indices, double[] Values, double SquaredNorm);

/// <summary>
/// Word unigram and bigram counts of token-id documents, weighted by scikit-learn's smoothed idf and L2-normalised
/// (<c>TfidfVectorizer(ngram_range=(1, 2))</c> with the defaults, on tokens as given): the vocabulary is every n-gram of
/// the training documents; n-grams never seen in training are dropped at prediction.
/// </summary>
internal sealed class NgramFeatures
{
    private readonly Dictionary<long, int> index;
    private readonly double[] idf;

    private NgramFeatures(Dictionary<long, int> index, double[] idf)
    {
        this.index = index;
        this.idf = idf;
    }

    /// <summary>Number of features.</summary>
    public int Count => idf.Length;

    public static NgramFeatures Fit(ITokenCorpus corpus, IReadOnlyList<int> training)
    {
        var index = new Dictionary<long, int>();
        var documentFrequency = new List<int>();
        var seen = new HashSet<long>();
        foreach (int document in training)
        {
            seen.Clear();
            foreach (long key in Keys(BaselineData.Tokens(corpus, document)))
            {
                if (!seen.Add(key))
                {
                    continue;
                }
                if (index.TryGetValue(key, out int feature))
                {
                    documentFrequency[feature]++;
                }
                else
                {
                    index[key] = documentFrequency.Count;
                    documentFrequency.Add(1);
                }
            }
        }
        int n = training.Count;
        double[] idf = documentFrequency.Select(df => Math.Log((1.0 + n) / (1.0 + df)) + 1.0).ToArray();
        return new NgramFeatures(index, idf);
    }

    public SparseRow Transform(ITokenCorpus corpus, int document)
    {
        var counts = new Dictionary<int, int>();
        foreach (long key in Keys(BaselineData.Tokens(corpus, document)))
        {
            if (index.TryGetValue(key, out int feature))
            {
                counts[feature] = counts.GetValueOrDefault(feature) + 1;
            }
        }
        int[] indices = counts.Keys.Order().ToArray();
        double[] values = indices.Select(f => counts[f] * idf[f]).ToArray();
        double norm = Math.Sqrt(values.Sum(v => v * v));
        if (norm > 0)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] /= norm;
            }
        }
        return new SparseRow(indices, values, norm > 0 ? 1.0 : 0.0);
    }

    // Unigram a → a; bigram (a, b) → (a + 1)·2³² + b: distinct for all non-negative int ids.
    private static IEnumerable<long> Keys(int[] tokens)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            yield return tokens[i];
            if (i + 1 < tokens.Length)
            {
                yield return ((tokens[i] + 1L) << 32) | (uint)tokens[i + 1];
            }
        }
    }
}
