using FastText.Engine.Data;
using FastText.Engine.Models;

namespace FastText.Engine.Training;

/// <summary>fastai <c>language_model_learner</c>: a <see cref="Learner{TBatch}"/> over an <see cref="AwdLstmLanguageModel"/>
/// with accuracy and perplexity.</summary>
public static class LanguageModelLearner
{
    /// <summary>Creates the learner. After <see cref="ModelWeights.LoadPretrained(AwdLstmLanguageModel, string, IReadOnlyList{string})"/>
    /// call <see cref="Learner{TBatch}.Freeze"/> as fastai does (only the embedding/decoder group trains first).</summary>
    public static Learner<LanguageModelBatch> Create(AwdLstmLanguageModel model, IBatchSource<LanguageModelBatch> training,
        IBatchSource<LanguageModelBatch>? validation, LearnerOptions? options = null, LanguageModelTaskOptions? taskOptions = null) =>
        new(new LanguageModelTask(model, taskOptions), training, validation, options, Metrics.LanguageModel);
}
