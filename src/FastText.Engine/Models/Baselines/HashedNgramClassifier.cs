using System.Numerics.Tensors;
using FastText.Engine.Text;

namespace FastText.Engine.Models.Baselines;

/// <summary>
/// A fastText-style classifier (Joulin et al. 2016, <c>fasttext supervised -wordNgrams 2</c>): each document is the
/// average of the embeddings of its words and of its word bigrams (hashed into buckets), followed by one linear layer
/// and a softmax; trained by SGD one document at a time with a learning rate decaying linearly to zero, as fastText
/// does (its update: the output row moves by α·(target − p)·h, every input row by the hidden gradient divided by the
/// number of inputs). Single-threaded and seeded, so a run is repeatable; seconds on a few thousand mails.
/// </summary>
public sealed class HashedNgramClassifier : ITextBaseline
{
    private readonly HashedNgramOptions options;
    private readonly float[] input;    // (vocabulary + buckets) × dimension
    private readonly float[] output;   // classes × dimension
    private readonly int wordRows;

    private HashedNgramClassifier(HashedNgramOptions options, int wordRows, int classes)
    {
        this.options = options;
        this.wordRows = wordRows;
        ClassCount = classes;
        long size = (long)(wordRows + options.Buckets) * options.Dimension;
        input = size <= Array.MaxLength ? new float[size]
            : throw new ArgumentException($"{wordRows + options.Buckets} rows of {options.Dimension} do not fit in one array; use fewer buckets.", nameof(options));
        output = new float[classes * options.Dimension];
    }

    /// <inheritdoc />
    public string Name => "fastText-style (hashed bigrams)";

    /// <inheritdoc />
    public int ClassCount { get; }

    /// <summary>Trains on <paramref name="training"/> documents of <paramref name="corpus"/>.</summary>
    /// <param name="corpus">A labelled corpus.</param>
    /// <param name="training">Documents to train on.</param>
    /// <param name="options">Sizes and schedule (fastText's flags).</param>
    /// <param name="seed">Seed of the initialisation and of each epoch's document order.</param>
    public static HashedNgramClassifier Train(ITokenCorpus corpus, IReadOnlyList<int> training, HashedNgramOptions options, int seed)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(training);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int classes = BaselineData.CheckLabelled(corpus, training);
        int[][] documents = training.Select(d => BaselineData.Tokens(corpus, d)).ToArray();
        int wordRows = 1 + documents.Max(d => d.DefaultIfEmpty(0).Max());
        var model = new HashedNgramClassifier(options, wordRows, classes);
        var random = new Random(seed);
        float bound = 1f / options.Dimension;     // fastText's uniform(−1/dim, 1/dim) input rows, zero output rows
        for (int i = 0; i < model.input.Length; i++)
        {
            model.input[i] = (float)((random.NextDouble() * 2) - 1) * bound;
        }
        int[] labels = training.Select(corpus.Label).ToArray();
        int[] order = Enumerable.Range(0, documents.Length).ToArray();
        long total = (long)options.Epochs * documents.Sum(d => (long)Math.Max(1, d.Length)), done = 0;
        var hidden = new float[options.Dimension];
        var gradient = new float[options.Dimension];
        var rows = new List<int>();
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            random.Shuffle(order);
            foreach (int i in order)
            {
                float rate = (float)(options.LearningRate * (1.0 - ((double)done / total)));
                done += Math.Max(1, documents[i].Length);
                model.Rows(documents[i], rows);
                if (rows.Count == 0)
                {
                    continue;
                }
                model.Hidden(rows, hidden);
                Array.Clear(gradient);
                model.SoftmaxStep(hidden, labels[i], rate, gradient);
                TensorPrimitives.Multiply(gradient, 1f / rows.Count, gradient);
                foreach (int row in rows)
                {
                    Span<float> target = model.input.AsSpan(row * options.Dimension, options.Dimension);
                    TensorPrimitives.Add(target, gradient, target);
                }
            }
        }
        return model;
    }

    /// <inheritdoc />
    public int Predict(ITokenCorpus corpus, int document)
    {
        float[]? scores = Scores(corpus, document);
        if (scores is null)
        {
            return 0;
        }
        int best = 0;
        for (int c = 1; c < scores.Length; c++)
        {
            if (scores[c] > scores[best])
            {
                best = c;
            }
        }
        return best;
    }

    /// <summary>
    /// Class probabilities of <paramref name="document"/> of <paramref name="corpus"/> (the softmax fastText's
    /// <c>predict-prob</c> gives), so the model can join an ensemble of classifiers; a document without inputs gets the
    /// same probability for every class (the model knows nothing about it, and in an ensemble it should not outvote the
    /// other members), although <see cref="Predict"/> has to name one and names class 0.
    /// </summary>
    public float[] Probabilities(ITokenCorpus corpus, int document)
    {
        float[]? scores = Scores(corpus, document);
        if (scores is null)
        {
            var uniform = new float[ClassCount];
            Array.Fill(uniform, 1f / ClassCount);
            return uniform;
        }
        // Shifted by the largest score first: exp of a score above ~88 would overflow to ∞ and the softmax to NaN.
        TensorPrimitives.Subtract(scores, TensorPrimitives.Max(scores), scores);
        TensorPrimitives.SoftMax(scores, scores);
        return scores;
    }

    // The output layer's score per class, or null for a document without inputs.
    private float[]? Scores(ITokenCorpus corpus, int document)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var rows = new List<int>();
        Rows(BaselineData.Tokens(corpus, document), rows);
        if (rows.Count == 0)
        {
            return null;
        }
        var hidden = new float[options.Dimension];
        Hidden(rows, hidden);
        var scores = new float[ClassCount];
        for (int c = 0; c < ClassCount; c++)
        {
            scores[c] = TensorPrimitives.Dot(output.AsSpan(c * options.Dimension, options.Dimension), hidden);
        }
        return scores;
    }

    // Input rows of a document: its words (ids beyond the training vocabulary are skipped) and its hashed bigrams.
    private void Rows(int[] tokens, List<int> rows)
    {
        rows.Clear();
        for (int i = 0; i < tokens.Length; i++)
        {
            if (tokens[i] < wordRows)
            {
                rows.Add(tokens[i]);
            }
            if (options.Bigrams && i + 1 < tokens.Length)
            {
                ulong hash = (((ulong)(uint)tokens[i] * 116_049_371UL) + (uint)tokens[i + 1]) * 0x9E3779B97F4A7C15UL;
                rows.Add(wordRows + (int)((hash >> 33) % (ulong)options.Buckets));
            }
        }
    }

    private void Hidden(List<int> rows, float[] hidden)
    {
        Array.Clear(hidden);
        foreach (int row in rows)
        {
            TensorPrimitives.Add(hidden, input.AsSpan(row * options.Dimension, options.Dimension), hidden);
        }
        TensorPrimitives.Multiply(hidden, 1f / rows.Count, hidden);
    }

    // Softmax over the classes; moves the output rows and accumulates the hidden gradient.
    private void SoftmaxStep(float[] hidden, int label, float rate, float[] gradient)
    {
        int d = options.Dimension;
        Span<float> scores = stackalloc float[ClassCount];
        for (int c = 0; c < ClassCount; c++)
        {
            scores[c] = TensorPrimitives.Dot(output.AsSpan(c * d, d), hidden);
        }
        TensorPrimitives.SoftMax(scores, scores);
        for (int c = 0; c < ClassCount; c++)
        {
            float alpha = rate * ((c == label ? 1f : 0f) - scores[c]);
            Span<float> row = output.AsSpan(c * d, d);
            TensorPrimitives.MultiplyAdd(row, alpha, gradient, gradient);   // gradient += α·w_c (before w_c moves)
            TensorPrimitives.MultiplyAdd(hidden, alpha, row, row);          // w_c += α·h
        }
    }
}

/// <summary>Settings of <see cref="HashedNgramClassifier"/>, named after fastText's flags.</summary>
/// <param name="Dimension">Embedding size (<c>-dim</c>; fastText 100).</param>
/// <param name="Epochs">Passes over the training documents (<c>-epoch</c>).</param>
/// <param name="LearningRate">Starting rate, decayed linearly to 0 (<c>-lr</c>).</param>
/// <param name="Bigrams">Add word bigrams (<c>-wordNgrams 2</c>).</param>
/// <param name="Buckets">Hash buckets of the bigrams (<c>-bucket</c>; fastText 2,000,000).</param>
public sealed record HashedNgramOptions(int Dimension = 50, int Epochs = 25, double LearningRate = 0.5, bool Bigrams = true, int Buckets = 1 << 18)
{
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Dimension, 1, nameof(Dimension));
        ArgumentOutOfRangeException.ThrowIfLessThan(Epochs, 1, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfLessThan(Buckets, 1, nameof(Buckets));
        if (!(LearningRate > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive.");
        }
    }
}
