using System.Globalization;
using FastText.Engine.Data;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;

namespace FastText.Engine.Recipes.Experiments;

/// <summary>What fastai's length bucketing (SortedDL) saves per classifier epoch, measured in this process.</summary>
public static class BatchingExperiment
{
    /// <summary>
    /// Times one classifier training epoch with fastai's length bucketing (SortedDL) and with random batches, on fresh
    /// models in the same process (same data, sizes and seeds), twice: with this engine's sentence encoder (fastai v2: only
    /// rows whose text has started are fed) and with one that feeds every row (fastai v1,
    /// <see cref="SentenceEncoder.FeedEveryRow"/>), so the report shows what bucketing saves each of them.
    /// </summary>
    /// <param name="run">The run whose preset, progress and report are used.</param>
    /// <param name="labelled">Labelled corpus (its training split is timed).</param>
    public static BatchingComparison Run(UlmfitPipeline run, TextDataset labelled)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(labelled);
        UlmfitPreset preset = run.Preset;
        BatchingEpoch Time(ClassifierOrder order, bool feedEveryRow)
        {
            torch.manual_seed(preset.Seed + UlmfitPipeline.BatchingSeedOffset);
            using TextClassifier model = run.NewClassifier(labelled);
            model.SentenceEncoder.FeedEveryRow = feedEveryRow;
            var options = ClassifierLoaderOptions.Training with
            {
                BatchSize = preset.ClassifierBatchSize,
                SequenceLength = preset.ClassifierSequenceLength,
                Seed = preset.Seed,
                Order = order,
            };
            using var loader = new ClassifierLoader(run.Documents(labelled), options, labelled.Training);
            using var learner = new Learner<ClassifierBatch>(new ClassifierTask(model), loader);
            var callback = new ProgressCallback(run.Progress, $"batching: {order}{(feedEveryRow ? ", every row fed" : "")}", loader.BatchCount, languageModel: false);
            learner.Callbacks.Add(callback);
            EpochResult result = learner.FitOneCycle(1, LearningRates.Uniform(1e-3), null, run.Cancellation)[0];
            return new BatchingEpoch(order, feedEveryRow, result.Seconds, loader.LastEpochPadding.Share, result.TrainTokensPerSecond);
        }
        var comparison = new BatchingComparison(
        [
            Time(ClassifierOrder.Sorted, feedEveryRow: false), Time(ClassifierOrder.Random, feedEveryRow: false),
            Time(ClassifierOrder.Sorted, feedEveryRow: true), Time(ClassifierOrder.Random, feedEveryRow: true),
        ]);
        run.Report.AddSection("Classifier epoch: length bucketing vs random batches", comparison.ToMarkdown());
        run.Progress.Log(FormattableString.Invariant(
            $"bucketing vs random per classifier epoch: {comparison.Speedup(feedEveryRow: false):F2}× (started rows fed), {comparison.Speedup(feedEveryRow: true):F2}× (every row fed)"));
        return comparison;
    }
}

/// <summary>One timed classifier epoch of <see cref="BatchingExperiment.Run"/>.</summary>
/// <param name="Order">Batch order.</param>
/// <param name="FeedEveryRow">Whether the sentence encoder fed every row (fastai v1) or only rows whose text has started.</param>
/// <param name="Seconds">Epoch time.</param>
/// <param name="Padding">Share of padded batch cells.</param>
/// <param name="TokensPerSecond">Training tokens per second, padding included.</param>
public sealed record BatchingEpoch(ClassifierOrder Order, bool FeedEveryRow, double Seconds, double Padding, double TokensPerSecond);

/// <summary>
/// Classifier epoch times with length bucketing and random batches (<see cref="BatchingExperiment.Run"/>), for
/// each sentence-encoder mode measured.
/// </summary>
/// <param name="Epochs">The timed epochs: a bucketed and a random one per encoder mode.</param>
public sealed record BatchingComparison(IReadOnlyList<BatchingEpoch> Epochs)
{
    /// <summary>Torch intra-op threads the epochs ran with (the speed-up depends on it, see perf-results/ClassifierBucketing.md).</summary>
    public int Threads { get; init; } = torch.get_num_threads();

    /// <summary>Random-batch epoch time ÷ bucketed epoch time with the given encoder mode.</summary>
    public double Speedup(bool feedEveryRow) => Epoch(ClassifierOrder.Random, feedEveryRow).Seconds / Math.Max(Epoch(ClassifierOrder.Sorted, feedEveryRow).Seconds, 1e-9);

    /// <summary>The epoch of <paramref name="order"/> with the given encoder mode.</summary>
    /// <exception cref="InvalidOperationException">That epoch was not measured.</exception>
    public BatchingEpoch Epoch(ClassifierOrder order, bool feedEveryRow) =>
        Epochs.FirstOrDefault(e => e.Order == order && e.FeedEveryRow == feedEveryRow)
        ?? throw new InvalidOperationException($"No {order} epoch with {(feedEveryRow ? "every row" : "started rows")} fed was measured.");

    /// <summary>Markdown table.</summary>
    public string ToMarkdown()
    {
        var table = new System.Text.StringBuilder("| batching | sentence encoder feeds | epoch time | padding | tokens/s (padding included) |\n|---|---|---|---|---|\n");
        foreach (BatchingEpoch e in Epochs)
        {
            table.Append(CultureInfo.InvariantCulture,
                $"| {(e.Order == ClassifierOrder.Sorted ? "length buckets (SortedDL)" : "random")} | {(e.FeedEveryRow ? "every row (fastai v1)" : "started rows (fastai v2, default)")} | {e.Seconds:F1} s | {e.Padding * 100:F1}% | {e.TokensPerSecond:N0} |\n");
        }
        table.Append('\n');
        foreach (bool every in Epochs.Select(e => e.FeedEveryRow).Distinct())
        {
            table.Append(CultureInfo.InvariantCulture,
                $"Speed-up of bucketing, {(every ? "every row fed" : "started rows fed")}: **{Speedup(every):F2}×** (target ≥ 1.5×). ");
        }
        table.Append(CultureInfo.InvariantCulture,
            $"{Threads} torch thread(s). Random = the same loader with documents shuffled into batches regardless of length (rows still longest first, same chunk-safe padding), same model code and settings. Fed only the rows whose text has started, the encoder never computes leading padding, so both orders do nearly the same encoder work and bucketing saves serial steps; an encoder that feeds every row computes the random batches' padding, which is what bucketing removes.");
        return table.ToString();
    }
}
