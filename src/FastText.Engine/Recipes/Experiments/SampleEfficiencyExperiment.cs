using System.Globalization;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Reporting;
using FastText.Engine.Text;

namespace FastText.Engine.Recipes.Experiments;

/// <summary>ULMFiT's sample-efficiency experiment (the paper's figure 3): how far pretraining carries few labels.</summary>
public static class SampleEfficiencyExperiment
{
    /// <summary>
    /// ULMFiT's sample-efficiency experiment: classifiers with and without the fine-tuned language model on seeded,
    /// stratified subsets of <paramref name="sizes"/> labelled training mails (null = all), evaluated on the same
    /// validation split. Smaller subsets get proportionally more epochs (at most <paramref name="maxEpochScale"/>×) so
    /// that each run takes a comparable number of optimizer steps; the recipe is otherwise the preset's. With several
    /// <paramref name="seeds"/> every point is trained once per seed (another subset, initialisation and shuffle) and the
    /// report gives the mean, each seed's accuracy and how often the ULMFiT arm won: at 100 labels one seed's accuracy
    /// moves by several points, so a single run cannot show which arm is better.
    /// </summary>
    /// <param name="run">The run whose recipe trains both arms and whose report gets the table and plot.</param>
    /// <param name="labelled">Labelled corpus.</param>
    /// <param name="languageModel">The fine-tuned language model of the ULMFiT arm.</param>
    /// <param name="sizes">Training-set sizes (null = all).</param>
    /// <param name="maxEpochScale">Largest epoch multiplier for small sets.</param>
    /// <param name="gradualUnfreezing">False runs the ULMFiT arm with the from-scratch arm's schedule (ablation: only
    /// the initial weights differ between the arms).</param>
    /// <param name="seeds">Seeds to repeat every point with (null = the preset's seed only).</param>
    public static IReadOnlyList<SampleEfficiencyPoint> Run(UlmfitPipeline run, TextDataset labelled, LanguageModelArtifact languageModel, IReadOnlyList<int?> sizes,
        int maxEpochScale = 8, bool gradualUnfreezing = true, IReadOnlyList<int>? seeds = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(labelled);
        ArgumentNullException.ThrowIfNull(sizes);
        seeds ??= [run.Preset.Seed];
        if (seeds.Count == 0 || seeds.Distinct().Count() != seeds.Count)
        {
            throw new ArgumentException("Give at least one seed, each once.", nameof(seeds));
        }
        var points = new List<SampleEfficiencyPoint>();
        foreach (int? size in sizes)
        {
            foreach (int seed in seeds)
            {
                foreach (bool pretrained in new[] { true, false })
                {
                    string name = FormattableString.Invariant(
                        $"sample-efficiency {(size is int s ? s.ToString(CultureInfo.InvariantCulture) : "all")} {(pretrained ? "ULMFiT" : "scratch")}{(seeds.Count > 1 ? $" seed {seed}" : "")}");
                    int available = labelled.Training.Count;
                    int scale = size is int n && n < available ? Math.Clamp((int)Math.Round((double)available / n), 1, maxEpochScale) : 1;
                    using ClassifierResult result = run.TrainClassifier(labelled, pretrained ? languageModel : null, name, size, save: false, epochScale: scale,
                        gradualUnfreezing: gradualUnfreezing, seed: seed);
                    points.Add(new SampleEfficiencyPoint(result.TrainingExamples, pretrained, result.Evaluation.Metrics.Accuracy, result.Seconds) { Seed = seed });
                }
            }
        }
        string arm = gradualUnfreezing ? "ULMFiT (pretrained + fine-tuned LM)" : "fine-tuned LM encoder, scratch schedule";
        run.Report.AddSection("Sample efficiency (validation accuracy)", SampleEfficiencyPoint.ToMarkdown(points, arm));
        string plot = Path.Combine(run.RunFolder, "plots", "sample-efficiency.png");
        IReadOnlyList<(int, double)> Means(bool pretrained) =>
            points.Where(p => p.Pretrained == pretrained).GroupBy(p => p.Examples).Select(g => (g.Key, g.Average(p => p.Accuracy))).ToList();
        TrainingPlots.SaveSampleEfficiency(plot, new Dictionary<string, IReadOnlyList<(int, double)>>
        {
            ["ULMFiT"] = Means(pretrained: true),
            ["from scratch"] = Means(pretrained: false),
        });
        run.Report.AddImage(seeds.Count > 1 ? $"Sample efficiency (mean of {seeds.Count} seeds)" : "Sample efficiency", "plots/sample-efficiency.png");
        return points;
    }
}

/// <summary>One point of the sample-efficiency comparison.</summary>
/// <param name="Examples">Labelled training documents.</param>
/// <param name="Pretrained">Whether the classifier started from the fine-tuned language model.</param>
/// <param name="Accuracy">Validation accuracy.</param>
/// <param name="Seconds">Training time.</param>
public sealed record SampleEfficiencyPoint(int Examples, bool Pretrained, double Accuracy, double Seconds)
{
    /// <summary>Seed of the subset, initialisation and shuffles.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Markdown table, one row per training-set size: each arm's mean accuracy over the seeds (and each seed's, when there
    /// are several), how many seeds the pretrained arm won, and the mean training times.
    /// </summary>
    /// <param name="points">Both arms' points, every size and seed.</param>
    /// <param name="arm">Heading of the pretrained arm's column.</param>
    public static string ToMarkdown(IReadOnlyList<SampleEfficiencyPoint> points, string arm)
    {
        ArgumentNullException.ThrowIfNull(points);
        bool severalSeeds = points.Select(p => p.Seed).Distinct().Count() > 1;
        var table = new System.Text.StringBuilder(severalSeeds
            ? $"| labelled mails | {arm}: mean (per seed) | from scratch: mean (per seed) | pretrained arm better | training time (ULMFiT / scratch) |\n|---|---|---|---|---|\n"
            : $"| labelled mails | {arm} | from scratch | training time (ULMFiT / scratch) |\n|---|---|---|---|\n");
        foreach (var group in points.GroupBy(p => p.Examples))
        {
            var with = group.Where(p => p.Pretrained).OrderBy(p => p.Seed).ToList();
            var without = group.Where(p => !p.Pretrained).OrderBy(p => p.Seed).ToList();
            string Cell(List<SampleEfficiencyPoint> runs) => severalSeeds
                ? FormattableString.Invariant($"{runs.Average(p => p.Accuracy) * 100:F2}% ({string.Join(", ", runs.Select(p => FormattableString.Invariant($"{p.Accuracy * 100:F1}")))})")
                : FormattableString.Invariant($"{runs[0].Accuracy * 100:F2}%");
            string times = $"{Durations.Format(with.Average(p => p.Seconds))} / {Durations.Format(without.Average(p => p.Seconds))}";
            if (severalSeeds)
            {
                int wins = with.Count(w => without.Any(o => o.Seed == w.Seed && w.Accuracy > o.Accuracy));
                table.Append(CultureInfo.InvariantCulture, $"| {group.Key:N0} | {Cell(with)} | {Cell(without)} | {wins} of {with.Count} seeds | {times} |\n");
            }
            else
            {
                table.Append(CultureInfo.InvariantCulture, $"| {group.Key:N0} | {Cell(with)} | {Cell(without)} | {times} |\n");
            }
        }
        if (severalSeeds)
        {
            table.Append(CultureInfo.InvariantCulture, $"\nSeeds {string.Join(", ", points.Select(p => p.Seed).Distinct().Order())}, each with its own stratified subset, initialisation and shuffles; per-seed accuracies in seed order.\n");
        }
        return table.ToString();
    }
}
