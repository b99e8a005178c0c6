using FastText.Engine.Text;

namespace FastText.Engine.Data.Augmentation;

/// <summary>
/// Alters one training document for one epoch (EDA, a language model's resampling, a paraphrase). The classifier loader
/// calls it with a generator seeded by (seed, epoch, the document's position in the training set), so an epoch's
/// documents are a function of its number and a resumed run sees the same ones. Not thread-safe (one loader, one
/// thread).
/// </summary>
internal interface IDocumentAugmenter
{
    /// <summary>What it does with which settings: part of the loader's signature and of the report.</summary>
    string Description { get; }

    /// <summary>Appends an altered copy of <paramref name="tokens"/> (corpus document <paramref name="document"/>, in the
    /// order the model reads it) to <paramref name="output"/>.</summary>
    void Augment(int document, ReadOnlySpan<int> tokens, List<int> output, ref DeterministicRandom random);
}

/// <summary>A classifier loader's augmentation: each epoch, each training document is replaced by
/// <see cref="Augmenter"/>'s copy with probability <see cref="Share"/> (the others are seen as they are).</summary>
internal sealed record ClassifierAugmentation(IDocumentAugmenter Augmenter, double Share)
{
    /// <summary>For the loader's signature.</summary>
    public override string ToString() => FormattableString.Invariant($"{Augmenter.Description} share {Share}");
}

/// <summary>Which vocabulary tokens augmentation treats as words: lowercase ASCII letters only (the tokenizer writes
/// words lowercase, <c>xxmaj</c>/<c>xxup</c> carry the case), not the special tokens. Punctuation, numbers, markers and
/// subword pieces are never changed or inserted.</summary>
internal static class WordTokens
{
    /// <summary>Per vocabulary id, whether it is a word.</summary>
    public static bool[] Of(Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var words = new bool[vocabulary.Count];
        for (int id = SpecialTokens.CapitalizedId + 1; id < words.Length; id++)
        {
            string token = vocabulary[id];
            words[id] = token != SpecialTokens.Fake && token.Length > 0 && token.All(c => c is >= 'a' and <= 'z');
        }
        return words;
    }
}
