namespace FastText.Engine.Training;

/// <summary>What one epoch of one stage measured: the row of fastai's progress table plus timing.</summary>
/// <param name="Stage">Stage name, e.g. "pretrain", "fine-tune", "classifier (freeze_to -2)".</param>
/// <param name="Epoch">Epoch index within the stage, from 0.</param>
/// <param name="TrainLoss">fastai's smoothed training loss at the end of the epoch.</param>
/// <param name="ValidLoss">Mean validation loss.</param>
/// <param name="Accuracy">Validation accuracy (token accuracy for a language model).</param>
/// <param name="Seconds">Wall-clock seconds of the epoch (training and validation).</param>
/// <param name="TokensPerSecond">Training tokens (padding included) processed per second of training.</param>
/// <param name="PaddingWaste">Share of padding tokens in the training batches (classifier only), else null.</param>
/// <param name="IsLanguageModel">Whether perplexity (exp of the validation loss) is meaningful.</param>
public sealed record EpochSummary(
    string Stage,
    int Epoch,
    double TrainLoss,
    double ValidLoss,
    double Accuracy,
    double Seconds,
    double TokensPerSecond,
    double? PaddingWaste,
    bool IsLanguageModel)
{
    /// <summary>exp(validation loss) for language models (fastai's <c>Perplexity</c> metric), else null.</summary>
    public double? Perplexity => IsLanguageModel ? Math.Exp(ValidLoss) : null;
}

/// <summary>Training losses recorded batch by batch, for the loss-curve plot.</summary>
/// <param name="Name">Legend text (the stage).</param>
/// <param name="Losses">Smoothed training loss after each batch.</param>
/// <param name="ValidLosses">Validation loss at the end of each epoch, placed at that epoch's last batch.</param>
/// <param name="IsLanguageModel">A language-model stage (plotted apart from classifier stages, whose losses are ~10× smaller).</param>
public sealed record LossCurve(string Name, IReadOnlyList<double> Losses, IReadOnlyList<(int Batch, double Loss)> ValidLosses, bool IsLanguageModel = false);
