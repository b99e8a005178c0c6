using FastText.Engine.Text;

namespace FastText.Engine.Training.Classification;

/// <summary>
/// Several classifiers over the same classes answering together: the class probabilities of the members are averaged
/// (ULMFiT's forward + backward ensemble, fastai's <c>(preds_fwd + preds_bwd) / 2</c>; the paper's IMDb error drops from
/// 5.30 to 4.58 %). Each member tokenizes and orients texts itself (<see cref="ClassifierPredictor.Backwards"/>), so
/// forward and backward models, or models with their own vocabularies, combine as they are.
/// </summary>
public sealed class ClassifierEnsemble
{
    /// <summary>Combines <paramref name="members"/>.</summary>
    /// <exception cref="ArgumentException">No members, or their class names differ (in name or order); the message names both lists.</exception>
    public ClassifierEnsemble(IReadOnlyList<ClassifierPredictor> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
        {
            throw new ArgumentException("An ensemble needs at least one classifier.", nameof(members));
        }
        IReadOnlyList<string> classes = members[0].ClassNames;
        for (int m = 1; m < members.Count; m++)
        {
            // Averaging is index by index: the same names in another order would mix classes silently.
            if (!members[m].ClassNames.SequenceEqual(classes, StringComparer.Ordinal))
            {
                throw new ArgumentException(
                    $"Class mismatch: classifier 1 predicts [{string.Join(", ", classes)}] but classifier {m + 1} predicts [{string.Join(", ", members[m].ClassNames)}]; an ensemble averages the probabilities of the same classes in the same order.",
                    nameof(members));
            }
        }
        Members = members.ToArray();
        ClassNames = classes;
    }

    /// <summary>The combined classifiers.</summary>
    public IReadOnlyList<ClassifierPredictor> Members { get; }

    /// <summary>Class names, indexed by class (every member's).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Predicts raw texts: every member's answer and the ensemble's (mean probabilities), in input order.</summary>
    public IReadOnlyList<EnsemblePrediction> Predict(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        IReadOnlyList<Prediction>[] members = Members.Select(m => m.Predict(texts)).ToArray();
        var result = new EnsemblePrediction[texts.Count];
        for (int i = 0; i < result.Length; i++)
        {
            Prediction[] answers = members.Select(m => m[i]).ToArray();
            result[i] = new EnsemblePrediction(ToPrediction(Mean(answers.Select(a => a.Probabilities).ToList())), answers);
        }
        return result;
    }

    /// <summary>
    /// Evaluates a labelled corpus (ids in reading order, in the vocabulary of every member): each member's metrics and
    /// the ensemble's, whose probabilities are the members' means. Each member runs once.
    /// </summary>
    /// <param name="corpus">Labelled documents.</param>
    /// <param name="topLosses">How many top losses to keep per evaluation.</param>
    public EnsembleEvaluation Evaluate(ITokenCorpus corpus, int topLosses = 10)
    {
        var (documents, labels) = ClassifierPredictor.ReadLabelled(corpus);
        return Average(Members.Select(m => (IReadOnlyList<float[]>)m.Probabilities(documents)).ToArray(), labels, ClassNames, topLosses);
    }

    /// <summary>
    /// The ensemble of probabilities that any classifiers gave to the same labelled documents (for example ULMFiT's and a
    /// bag-of-n-grams baseline's, <see cref="Models.Baselines.HashedNgramClassifier.Probabilities"/>): each member's
    /// metrics and those of the members' mean, as <see cref="Evaluate"/> computes them.
    /// </summary>
    /// <param name="members">Per member, per document, per class, documents in the order of <paramref name="labels"/>.</param>
    /// <param name="labels">True class per document.</param>
    /// <param name="classNames">Class names, indexed by class (every member's).</param>
    /// <param name="topLosses">How many top losses to keep per evaluation.</param>
    /// <exception cref="ArgumentException">No members, or a member with another number of documents or classes; the message names it.</exception>
    public static EnsembleEvaluation Average(IReadOnlyList<IReadOnlyList<float[]>> members, IReadOnlyList<int> labels, IReadOnlyList<string> classNames, int topLosses = 10)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (members.Count == 0)
        {
            throw new ArgumentException("An ensemble needs at least one classifier.", nameof(members));
        }
        for (int m = 0; m < members.Count; m++)
        {
            if (members[m].Count != labels.Count)
            {
                throw new ArgumentException($"Member {m + 1} gives probabilities for {members[m].Count} documents; the ensemble averages {labels.Count}.", nameof(members));
            }
            if (members[m].FirstOrDefault(p => p.Length != classNames.Count) is { } wrong)
            {
                throw new ArgumentException($"Member {m + 1} gives {wrong.Length} class probabilities for a document; the ensemble's classes are {classNames.Count} ({string.Join(", ", classNames)}).", nameof(members));
            }
        }
        var evaluations = members.Select(p => ClassifierEvaluation.FromProbabilities(p, labels, classNames, topLosses)).ToArray();
        float[][] mean = Enumerable.Range(0, labels.Count).Select(d => Mean(members.Select(p => (IReadOnlyList<float>)p[d]).ToList())).ToArray();
        return new EnsembleEvaluation(ClassifierEvaluation.FromProbabilities(mean, labels, classNames, topLosses), evaluations);
    }

    private Prediction ToPrediction(float[] probabilities)
    {
        int best = ClassifierPredictor.ArgMax(probabilities);
        return new Prediction(ClassNames[best], best, probabilities);
    }

    // Class by class, summed in double: for the usual two members (forward + backward) the mean is the exact one, rounded once.
    private static float[] Mean(IReadOnlyList<IReadOnlyList<float>> probabilities)
    {
        var mean = new float[probabilities[0].Count];
        for (int c = 0; c < mean.Length; c++)
        {
            double sum = 0;
            foreach (IReadOnlyList<float> member in probabilities)
            {
                sum += member[c];
            }
            mean[c] = (float)(sum / probabilities.Count);
        }
        return mean;
    }
}

/// <summary>The answer of a <see cref="ClassifierEnsemble"/> for one text.</summary>
/// <param name="Ensemble">The averaged answer (mean probabilities, their most probable class).</param>
/// <param name="Members">Each member's own answer, in member order.</param>
public sealed record EnsemblePrediction(Prediction Ensemble, IReadOnlyList<Prediction> Members);

/// <summary>The result of <see cref="ClassifierEnsemble.Evaluate"/>.</summary>
/// <param name="Ensemble">Metrics of the averaged probabilities.</param>
/// <param name="Members">Each member's metrics, in member order.</param>
public sealed record EnsembleEvaluation(ClassifierEvaluation Ensemble, IReadOnlyList<ClassifierEvaluation> Members);
