using System.Globalization;
using FastText.Engine.IO;

namespace FastText.Engine.Training;

/// <summary>
/// Shows each epoch as a progress bar (loss, tokens/s, ETA), logs fastai's epoch line, and records the loss curve and
/// epoch summaries for the report.
/// </summary>
internal sealed class ProgressCallback : LearnerCallback
{
    private readonly IProgressSink progress;
    private readonly string stage;
    private readonly int batchesPerEpoch;
    private readonly bool languageModel;
    private readonly Func<double?>? paddingWaste;
    private readonly List<double> losses = [];
    private readonly List<(int Batch, double Loss)> validLosses = [];
    private readonly List<EpochSummary> epochs = [];
    private IProgressTask? bar;
    private long tokens;
    private long batchInEpoch;
    private System.Diagnostics.Stopwatch clock = new();

    public ProgressCallback(IProgressSink progress, string stage, int batchesPerEpoch, bool languageModel, Func<double?>? paddingWaste = null)
    {
        this.progress = progress;
        this.stage = stage;
        this.batchesPerEpoch = batchesPerEpoch;
        this.languageModel = languageModel;
        this.paddingWaste = paddingWaste;
    }

    public LossCurve Curve => new(stage, losses, validLosses, languageModel);

    public IReadOnlyList<EpochSummary> Epochs => epochs;

    public override void BeforeEpoch(LearnerContext context)
    {
        tokens = 0;
        batchInEpoch = 0;
        clock = System.Diagnostics.Stopwatch.StartNew();
        bar = progress.Start($"{stage} epoch {context.Epoch + 1}/{context.Epochs}", batchesPerEpoch, "batches");
    }

    public override void AfterBatch(LearnerContext context)
    {
        tokens += context.Output?.Tokens ?? 0;
        batchInEpoch++;
        losses.Add(context.SmoothedLoss);
        double rate = tokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        bar?.Report(batchInEpoch, string.Create(CultureInfo.InvariantCulture, $"loss {context.SmoothedLoss:F4} · {rate:N0} tok/s"));
    }

    public override void AfterTrain(LearnerContext context)
    {
        bar?.Dispose();
        bar = null;
    }

    public override void AfterEpoch(LearnerContext context)
    {
        EpochResult? result = context.LastEpoch;
        if (result is null)
        {
            return;
        }
        if (!double.IsNaN(result.ValidationLoss))                        // not validated: no point to plot
        {
            validLosses.Add((losses.Count, result.ValidationLoss));
        }
        double accuracy = result.Metrics.TryGetValue("accuracy", out double a) ? a : double.NaN;
        var summary = new EpochSummary(stage, epochs.Count, result.TrainLoss, result.ValidationLoss, accuracy, result.Seconds,
            result.TrainTokensPerSecond, paddingWaste?.Invoke(), languageModel);
        epochs.Add(summary);
        progress.Log(FormattableString.Invariant($"  {stage} epoch {summary.Epoch}: train_loss {summary.TrainLoss:F4}")
            + (double.IsNaN(summary.ValidLoss) ? "" : FormattableString.Invariant($" valid_loss {summary.ValidLoss:F4} accuracy {accuracy:F4}"))
            + (languageModel ? FormattableString.Invariant($" perplexity {summary.Perplexity:F2}") : "")
            + FormattableString.Invariant($" · {Durations.Format(summary.Seconds)} · {summary.TokensPerSecond:N0} tok/s")
            + (summary.PaddingWaste is double w ? FormattableString.Invariant($" · padding {w * 100:F1}%") : ""));
    }

    public override void AfterFit(LearnerContext context)
    {
        bar?.Dispose();
        bar = null;
    }
}
