namespace FastText.Engine.Data.Augmentation;

/// <summary>
/// Fixed alternatives per document (back-translations or other paraphrases made before training): an augmented copy is
/// one of its document's alternatives, picked at random; a document without any is seen as it is.
/// </summary>
internal sealed class ParaphraseAugmenter : IDocumentAugmenter
{
    private readonly IReadOnlyDictionary<int, int[][]> alternatives;

    /// <summary>Creates the augmenter.</summary>
    /// <param name="alternatives">Per corpus document, its paraphrases as token ids in the order the model reads.</param>
    /// <param name="description">Where they came from (the command), for the report.</param>
    public ParaphraseAugmenter(IReadOnlyDictionary<int, int[][]> alternatives, string description)
    {
        this.alternatives = alternatives ?? throw new ArgumentNullException(nameof(alternatives));
        Description = description;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>Documents with at least one alternative.</summary>
    public int Documents => alternatives.Count(a => a.Value.Length > 0);

    /// <inheritdoc />
    public void Augment(int document, ReadOnlySpan<int> tokens, List<int> output, ref DeterministicRandom random)
    {
        if (alternatives.TryGetValue(document, out int[][]? found) && found.Length > 0)
        {
            output.AddRange(found[random.Next(found.Length)]);
            return;
        }
        output.AddRange(tokens);
    }
}
