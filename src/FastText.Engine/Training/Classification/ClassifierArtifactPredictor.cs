using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;

namespace FastText.Engine.Training.Classification;

/// <summary>Predictors for saved classifiers (here, not on the artifact, so that models never depend on training).</summary>
public static class ClassifierArtifactPredictor
{
    /// <summary>
    /// A predictor for raw texts, tokenized like the training corpus (same tokenization, vocabulary and cap); a backwards
    /// classifier's predictor reverses every text's ids after the cap, as its training documents were
    /// (<see cref="ClassifierPredictor.Backwards"/>).
    /// </summary>
    /// <param name="artifact">The saved classifier.</param>
    /// <param name="model">Its model, from <see cref="ClassifierArtifact.LoadModel"/>.</param>
    public static ClassifierPredictor CreatePredictor(this ClassifierArtifact artifact, TextClassifier model)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        return new ClassifierPredictor(model, artifact.Card.ClassNames!, artifact.Numericalize)
        {
            Backwards = artifact.Backwards,
        };
    }
}
