using FastText.Engine.Models.Classifier;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Training.Classification;

/// <summary>
/// Class probabilities from a trained <see cref="TextClassifier"/> for one text, a batch of texts, or a labelled
/// corpus (with metrics and top losses). Runs in eval mode without gradients; documents are batched longest first
/// (the sentence encoder's requirement, and the least padding) and answers are returned in input order.
/// </summary>
public sealed class ClassifierPredictor
{
    private readonly TextClassifier model;
    private readonly Func<string, int[]>? numericalize;

    /// <summary>Creates a predictor.</summary>
    /// <param name="model">The trained classifier.</param>
    /// <param name="classNames">Class names, indexed by class.</param>
    /// <param name="numericalize">Turns a raw text into token ids with the vocabulary the model was trained on (needed
    /// for the string overloads only).</param>
    /// <param name="batchSize">Rows per forward pass.</param>
    public ClassifierPredictor(TextClassifier model, IReadOnlyList<string> classNames, Func<string, int[]>? numericalize = null, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (classNames.Count != model.ClassCount)
        {
            throw new ArgumentException($"{classNames.Count} class names for a model with {model.ClassCount} classes.", nameof(classNames));
        }
        this.model = model;
        this.numericalize = numericalize;
        ClassNames = classNames;
        BatchSize = batchSize;
    }

    /// <summary>Class names, indexed by class.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Rows per forward pass.</summary>
    public int BatchSize { get; }

    /// <summary>
    /// The model was trained on reversed documents (fastai's <c>backwards=True</c>): every entry point still takes texts
    /// and ids in reading order, and each document is reversed just before padding, so a text reaches the model with the
    /// layout its training batches had (whole chunks of padding in front, the reversed text, the rest behind).
    /// </summary>
    public bool Backwards { get; init; }

    /// <summary>Predicts one text.</summary>
    public Prediction Predict(string text) => Predict([text])[0];

    /// <summary>Predicts a batch of texts, in order.</summary>
    public IReadOnlyList<Prediction> Predict(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (numericalize is null)
        {
            throw new InvalidOperationException("This predictor was created without a numericalizer; pass token ids instead.");
        }
        return PredictTokens(texts.Select(numericalize).ToList());
    }

    /// <summary>Predicts already numericalized documents (ids in reading order), in order.</summary>
    public IReadOnlyList<Prediction> PredictTokens(IReadOnlyList<int[]> documents)
    {
        float[][] probabilities = Probabilities(documents);
        var result = new Prediction[probabilities.Length];
        for (int i = 0; i < result.Length; i++)
        {
            int best = ArgMax(probabilities[i]);
            result[i] = new Prediction(ClassNames[best], best, probabilities[i]);
        }
        return result;
    }

    /// <summary>Evaluates a labelled corpus: metrics, per-example probabilities and the top losses.</summary>
    /// <param name="corpus">Labelled documents in reading order (a backwards predictor reverses them itself).</param>
    /// <param name="topLosses">How many top losses to keep.</param>
    public ClassifierEvaluation Evaluate(ITokenCorpus corpus, int topLosses = 10)
    {
        var (documents, labels) = ReadLabelled(corpus);
        return ClassifierEvaluation.FromProbabilities(Probabilities(documents), labels, ClassNames, topLosses);
    }

    /// <summary>Every document of a labelled corpus as ids, with its label.</summary>
    internal static (int[][] Documents, int[] Labels) ReadLabelled(ITokenCorpus corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (!corpus.HasLabels)
        {
            throw new ArgumentException("Evaluation needs a labelled corpus.", nameof(corpus));
        }
        var documents = new int[corpus.DocumentCount][];
        var labels = new int[corpus.DocumentCount];
        for (int d = 0; d < documents.Length; d++)
        {
            documents[d] = new int[corpus.DocumentLength(d)];
            corpus.CopyTokens(d, 0, documents[d]);
            labels[d] = corpus.Label(d);
        }
        return (documents, labels);
    }

    /// <summary>Softmax probabilities per document (ids in reading order), in input order.</summary>
    public float[][] Probabilities(IReadOnlyList<int[]> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var result = new float[documents.Count][];
        int[] order = Enumerable.Range(0, documents.Count).OrderByDescending(i => documents[i].Length).ToArray();
        int padding = model.SentenceEncoder.Encoder.PaddingId;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (int start = 0; start < order.Length; start += BatchSize)
            {
                int rows = Math.Min(BatchSize, order.Length - start);
                using var scope = NewDisposeScope();
                var batch = new int[rows][];
                for (int r = 0; r < rows; r++)
                {
                    batch[r] = Backwards ? documents[order[start + r]].Reverse().ToArray() : documents[order[start + r]];
                }
                long[] ids = PredictionPadding.PadFirst(batch, model.Options.Bptt, padding, out int width);
                Tensor input = tensor(ids, [rows, width], ScalarType.Int64);
                Tensor probabilities = nn.functional.softmax(model.call(input).to(ScalarType.Float32), 1);
                float[] flat = probabilities.data<float>().ToArray();
                int classes = model.ClassCount;
                for (int r = 0; r < rows; r++)
                {
                    result[order[start + r]] = flat.AsSpan(r * classes, classes).ToArray();
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return result;
    }

    internal static int ArgMax(IReadOnlyList<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}

/// <summary>The result of <see cref="ClassifierPredictor.Evaluate"/>.</summary>
/// <param name="Metrics">Accuracy, F1, confusion matrix.</param>
/// <param name="Loss">Mean cross-entropy.</param>
/// <param name="Probabilities">Per example, per class.</param>
/// <param name="TopLosses">The worst examples.</param>
public sealed record ClassifierEvaluation(ClassificationMetrics Metrics, double Loss, IReadOnlyList<float[]> Probabilities, IReadOnlyList<TopLoss> TopLosses)
{
    /// <summary>Metrics, mean cross-entropy and top losses of per-example class probabilities.</summary>
    /// <param name="probabilities">Per example, per class.</param>
    /// <param name="labels">True class per example.</param>
    /// <param name="classNames">Class names, indexed by class.</param>
    /// <param name="topLosses">How many top losses to keep.</param>
    public static ClassifierEvaluation FromProbabilities(IReadOnlyList<float[]> probabilities, IReadOnlyList<int> labels, IReadOnlyList<string> classNames, int topLosses = 10)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(labels);
        int[] predicted = probabilities.Select(p => ClassifierPredictor.ArgMax(p)).ToArray();
        var metrics = new ClassificationMetrics(labels.ToArray(), predicted, classNames);
        double loss = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            loss -= Math.Log(Math.Max(probabilities[i][labels[i]], 1e-12));
        }
        return new ClassifierEvaluation(metrics, labels.Count == 0 ? 0 : loss / labels.Count, probabilities,
            Classification.TopLosses.Find(probabilities, labels, topLosses));
    }
}

/// <summary>Pads classifier rows the way the sentence encoder wants them.</summary>
internal static class PredictionPadding
{
    /// <summary>
    /// Pads <paramref name="rows"/> (sorted longest first) to a width rounded up to a multiple of
    /// <paramref name="bptt"/>, with whole bptt chunks of padding in front and the rest behind, so every text starts
    /// at a chunk boundary and ends in the last chunk (fastai's <c>pad_input_chunk</c> with the fastai#3379 fix of the
    /// reference's §7.3). Empty rows get one pad token so pooling has a position to read.
    /// </summary>
    /// <returns>Row-major ids, (rows, <paramref name="width"/>).</returns>
    public static long[] PadFirst(IReadOnlyList<int[]> rows, int bptt, int paddingId, out int width)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(bptt, 1);
        int longest = Math.Max(1, rows.Count == 0 ? 1 : rows.Max(r => r.Length));
        width = (longest + bptt - 1) / bptt * bptt;
        var ids = new long[rows.Count * width];
        Array.Fill(ids, paddingId);
        for (int r = 0; r < rows.Count; r++)
        {
            int[] row = rows[r];
            int front = (width - row.Length) / bptt * bptt;
            for (int t = 0; t < row.Length; t++)
            {
                ids[(r * width) + front + t] = row[t];
            }
        }
        return ids;
    }
}
