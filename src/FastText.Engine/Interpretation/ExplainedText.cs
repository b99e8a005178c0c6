using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;

namespace FastText.Engine.Interpretation;

/// <summary>A raw text explained: its tokens as the model's vocabulary spells them, and their attributions.</summary>
/// <param name="Name">What the text is (an argument's number, a file's path), for pages and messages.</param>
/// <param name="Tokens">One string per token, in reading order (<c>xxmaj</c>, <c>xxbos</c> … included).</param>
/// <param name="Attribution">The scores.</param>
/// <param name="ClassNames">Class names, indexed by class.</param>
public sealed record ExplainedText(string Name, IReadOnlyList<string> Tokens, TokenAttribution Attribution, IReadOnlyList<string> ClassNames)
{
    /// <summary>Name of the explained class.</summary>
    public string ClassName => ClassNames[Attribution.ClassIndex];
}

/// <summary>Explanations of raw texts by a saved classifier.</summary>
public static class ClassifierArtifactExplainer
{
    /// <summary>An explainer for <paramref name="model"/>, reading texts in the artifact's direction.</summary>
    public static ClassifierExplainer CreateExplainer(this ClassifierArtifact artifact, TextClassifier model)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        return new ClassifierExplainer(model, artifact.Backwards);
    }

    /// <summary>Tokenizes <paramref name="text"/> like the training corpus and explains it.</summary>
    /// <param name="artifact">The saved classifier (vocabulary, tokenization, class names).</param>
    /// <param name="explainer">From <see cref="CreateExplainer"/>.</param>
    /// <param name="name">What the text is, for the page.</param>
    /// <param name="text">The raw text.</param>
    /// <param name="target">Class name to explain, or null for the predicted class.</param>
    /// <param name="steps">Integrated-gradients path points to start with.</param>
    /// <param name="maxSteps">Cap of the refinement until the completeness check passes.</param>
    public static ExplainedText ExplainText(this ClassifierArtifact artifact, ClassifierExplainer explainer, string name, string text,
        string? target = null, int steps = ClassifierExplainer.DefaultSteps, int maxSteps = ClassifierExplainer.DefaultMaxSteps)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(explainer);
        ArgumentNullException.ThrowIfNull(text);
        IReadOnlyList<string> classes = artifact.Card.ClassNames ?? throw new InvalidDataException($"'{artifact.Folder}' has no class names.");
        int? targetIndex = null;
        if (target is not null)
        {
            int index = classes.ToList().IndexOf(target);
            targetIndex = index >= 0 ? index : throw new ArgumentException(
                $"The classifier '{artifact.Folder}' has no class '{target}'; its classes are {string.Join(", ", classes)}.", nameof(target));
        }
        int[] ids = artifact.Numericalize(text);
        if (ids.Length == 0)
        {
            throw new ArgumentException($"{name} has no tokens to explain.", nameof(text));
        }
        return artifact.ExplainIds(explainer, name, ids, targetIndex, steps, maxSteps);
    }

    /// <summary>Explains token ids already numericalized with the artifact's vocabulary (a corpus document, e.g. a top
    /// loss), its tokens spelled as the vocabulary spells them.</summary>
    /// <param name="artifact">The saved classifier (vocabulary, class names).</param>
    /// <param name="explainer">From <see cref="CreateExplainer"/>.</param>
    /// <param name="name">What the text is, for the page.</param>
    /// <param name="ids">The token ids in reading order (at least one).</param>
    /// <param name="target">Class index to explain, or null for the predicted class.</param>
    /// <param name="steps">Integrated-gradients path points to start with.</param>
    /// <param name="maxSteps">Cap of the refinement until the completeness check passes.</param>
    public static ExplainedText ExplainIds(this ClassifierArtifact artifact, ClassifierExplainer explainer, string name, int[] ids,
        int? target = null, int steps = ClassifierExplainer.DefaultSteps, int maxSteps = ClassifierExplainer.DefaultMaxSteps)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(explainer);
        ArgumentNullException.ThrowIfNull(ids);
        IReadOnlyList<string> classes = artifact.Card.ClassNames ?? throw new InvalidDataException($"'{artifact.Folder}' has no class names.");
        TokenAttribution attribution = explainer.Explain(ids, target, steps, maxSteps);
        return new ExplainedText(name, ids.Select(id => artifact.Vocabulary[id]).ToArray(), attribution, classes);
    }
}
