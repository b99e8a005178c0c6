using FastText.Engine.Text;

namespace FastText.Engine.Data;

/// <summary>Which documents of a corpus a loader uses: train/validation splits, "the first N labelled documents", etc.</summary>
internal static class DocumentSelection
{
    /// <summary>Indices 0 … count−1.</summary>
    public static int[] All(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var indices = new int[count];
        for (int i = 0; i < count; i++)
        {
            indices[i] = i;
        }
        return indices;
    }

    /// <summary>
    /// Splits documents 0 … count−1 into a training and a validation set, the validation share drawn at random with
    /// <paramref name="seed"/> (fastai <c>RandomSplitter(valid_pct, seed)</c>); both sets are returned in ascending order.
    /// </summary>
    public static (int[] Training, int[] Validation) RandomSplit(int count, double validationShare, int seed)
    {
        if (validationShare is < 0 or > 1 || double.IsNaN(validationShare))
        {
            throw new ArgumentOutOfRangeException(nameof(validationShare), validationShare, "The validation share must lie in [0, 1].");
        }
        int[] shuffled = All(count);
        var random = new DeterministicRandom(seed, epoch: 0, stream: 2);
        random.Shuffle(shuffled);
        int validationCount = (int)(count * validationShare);
        int[] validation = shuffled[..validationCount];
        int[] training = shuffled[validationCount..];
        Array.Sort(validation);
        Array.Sort(training);
        return (training, validation);
    }

    /// <summary>The first <paramref name="take"/> documents of <paramref name="corpus"/> whose label is in
    /// <paramref name="labels"/> (all labelled documents when null), in corpus order.</summary>
    public static int[] FirstLabelled(ITokenCorpus corpus, int take, IReadOnlyCollection<int>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfNegative(take);
        if (!corpus.HasLabels)
        {
            throw new ArgumentException("The corpus has no labels.", nameof(corpus));
        }
        var chosen = new List<int>(Math.Min(take, corpus.DocumentCount));
        for (int d = 0; d < corpus.DocumentCount && chosen.Count < take; d++)
        {
            if (labels is null || labels.Contains(corpus.Label(d)))
            {
                chosen.Add(d);
            }
        }
        return chosen.ToArray();
    }

    /// <summary>A validated copy of <paramref name="documents"/> (all of the corpus when null).</summary>
    internal static int[] Resolve(ITokenCorpus corpus, IReadOnlyList<int>? documents, string argument)
    {
        if (documents is null)
        {
            return All(corpus.DocumentCount);
        }
        var copy = new int[documents.Count];
        for (int i = 0; i < copy.Length; i++)
        {
            int d = documents[i];
            if ((uint)d >= (uint)corpus.DocumentCount)
            {
                throw new ArgumentOutOfRangeException(argument, $"Entry {i} selects document {d}, but the corpus has {corpus.DocumentCount} documents.");
            }
            copy[i] = d;
        }
        return copy;
    }
}
