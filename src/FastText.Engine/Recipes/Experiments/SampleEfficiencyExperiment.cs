using System.Globalization;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Models.Baselines;
using FastText.Engine.Reporting;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;

namespace FastText.Engine.Recipes.Experiments;

/// <summary>ULMFiT's sample-efficiency experiment (the paper's figure 3): how far pretraining carries few labels.</summary>
public static class SampleEfficiencyExperiment
{
    /// <summary>Arm names, as the table and plot show them.</summary>
    public const string Ulmfit = "ULMFiT", UlmfitScratchSchedule = "LM encoder, scratch schedule", Scratch = "from scratch";

    /// <summary>Name of the arm that averages the ULMFiT arm's probabilities with the fastText-style baseline's.</summary>
    public const string UlmfitWithNgrams = "ensemble of ULMFiT and fastText-style";

    /// <summary>
    /// ULMFiT's sample-efficiency experiment: classifiers with and without the fine-tuned language model on seeded,
    /// stratified subsets of <paramref name="sizes"/> labelled training mails (null = all), evaluated on the same
    /// validation split, next to the bag-of-n-grams baselines a user would try first (<see cref="TfIdfLinearSvm"/>,
    /// <see cref="HashedNgramClassifier"/>) trained on the same subsets and tokens, and the ensemble of the ULMFiT arm
    /// with the fastText-style one (<see cref="UlmfitWithNgrams"/>: the mean of their probabilities; the two err on
    /// different documents, so the pair can beat both). Smaller subsets get proportionally
    /// more epochs (at most <paramref name="maxEpochScale"/>×) so that each run takes a comparable number of optimizer
    /// steps; the recipe is otherwise the preset's. With several <paramref name="seeds"/> every point is trained once per
    /// seed (another subset, initialisation and shuffle) and the report gives the mean, each seed's accuracy and how often
    /// the ULMFiT arm won against each other arm: at 100 labels one seed's accuracy moves by several points, so a single
    /// run cannot show which arm is better.
    /// </summary>
    /// <param name="run">The run whose recipe trains the neural arms and whose report gets the table and plot.</param>
    /// <param name="labelled">Labelled corpus.</param>
    /// <param name="languageModel">The fine-tuned language model of the ULMFiT arm.</param>
    /// <param name="sizes">Training-set sizes (null = all).</param>
    /// <param name="maxEpochScale">Largest epoch multiplier for small sets.</param>
    /// <param name="gradualUnfreezing">False runs the ULMFiT arm with the from-scratch arm's schedule (ablation: only
    /// the initial weights differ between the arms).</param>
    /// <param name="seeds">Seeds to repeat every point with (null = the preset's seed only).</param>
    /// <param name="augmentations">Further ULMFiT arms, one per augmentation ("ULMFiT + EDA", …), trained on the same
    /// subsets, seeds and schedule as the ULMFiT arm. The ULMFiT and from-scratch arms are never augmented (the preset's
    /// <see cref="UlmfitPreset.Augmentation"/> is not used here).</param>
    public static IReadOnlyList<SampleEfficiencyPoint> Run(UlmfitPipeline run, TextDataset labelled, LanguageModelArtifact languageModel, IReadOnlyList<int?> sizes,
        int maxEpochScale = 8, bool gradualUnfreezing = true, IReadOnlyList<int>? seeds = null, IReadOnlyList<AugmentationSettings>? augmentations = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(labelled);
        ArgumentNullException.ThrowIfNull(sizes);
        seeds ??= [run.Preset.Seed];
        if (seeds.Count == 0 || seeds.Distinct().Count() != seeds.Count)
        {
            throw new ArgumentException("Give at least one seed, each once.", nameof(seeds));
        }
        string ulmfit = gradualUnfreezing ? Ulmfit : UlmfitScratchSchedule;
        augmentations ??= [];
        foreach (AugmentationSettings augmentation in augmentations)
        {
            augmentation.Validate();
            if (augmentation.Kind == AugmentationKind.Contextual)
            {
                ClassifierAugmentations.EnsureContextualPossible(languageModel, labelled);   // before any arm trains
            }
        }
        // (arm, language model?, augmentation): ULMFiT as the preset has it, then each augmented ULMFiT arm, then from scratch.
        var neural = new List<(string Arm, bool Pretrained, AugmentationSettings Augmentation)> { (ulmfit, true, AugmentationSettings.None) };
        neural.AddRange(augmentations.Select(a => ($"{ulmfit} + {a.Label}", true, a)));
        neural.Add((Scratch, false, AugmentationSettings.None));
        var points = new List<SampleEfficiencyPoint>();
        foreach (int? size in sizes)
        {
            foreach (int seed in seeds)
            {
                SampleEfficiencyPoint? ulmfitPoint = null;
                IReadOnlyList<float[]>? ulmfitProbabilities = null;
                foreach (var (arm, pretrained, augmentation) in neural)
                {
                    // Stage names as before augmented arms existed: "ULMFiT", "scratch", then e.g. "ULMFiT + EDA".
                    string stage = arm == Scratch ? "scratch" : augmentation.Kind == AugmentationKind.None ? "ULMFiT" : $"ULMFiT + {augmentation.Label}";
                    string name = FormattableString.Invariant(
                        $"sample-efficiency {(size is int s ? s.ToString(CultureInfo.InvariantCulture) : "all")} {stage}{(seeds.Count > 1 ? $" seed {seed}" : "")}");
                    int available = labelled.Training.Count;
                    int scale = size is int n && n < available ? Math.Clamp((int)Math.Round((double)available / n), 1, maxEpochScale) : 1;
                    using ClassifierResult result = run.TrainClassifier(labelled, pretrained ? languageModel : null, name, size, save: false, epochScale: scale,
                        gradualUnfreezing: gradualUnfreezing, seed: seed, augmentation: augmentation, validateEveryEpoch: false);
                    points.Add(new SampleEfficiencyPoint(result.TrainingExamples, arm, result.Evaluation.Metrics.Accuracy, result.Seconds) { Seed = seed });
                    if (arm == ulmfit)
                    {
                        (ulmfitPoint, ulmfitProbabilities) = (points[^1], result.Evaluation.Probabilities);
                    }
                }
                // The baselines on the very subset the classifiers of this seed trained on, the same (capped) tokens.
                IReadOnlyList<int> subset = UlmfitPipeline.TrainingSubset(labelled, size, seed);
                points.Add(Baseline(labelled, subset, seed, (corpus, training) => TfIdfLinearSvm.Train(corpus, training, seed)).Point);
                var (hashedPoint, hashed) = Baseline(labelled, subset, seed, (corpus, training) => HashedNgramClassifier.Train(corpus, training, new HashedNgramOptions(), seed));
                points.Add(hashedPoint);
                points.Add(Ensemble(labelled, ulmfitPoint!, ulmfitProbabilities!, hashedPoint, hashed));
                run.Progress.Log(FormattableString.Invariant($"sample-efficiency {subset.Count}, seed {seed}: ")
                    + string.Join(", ", points.Where(p => p.Seed == seed && p.Examples == subset.Count).Select(p => FormattableString.Invariant($"{p.Arm} {p.Accuracy:P2}"))));
            }
        }
        run.Report.AddSection("Sample efficiency (validation accuracy)", SampleEfficiencyPoint.ToMarkdown(points));
        string plot = Path.Combine(run.RunFolder, "plots", "sample-efficiency.png");
        TrainingPlots.SaveSampleEfficiency(plot, points.GroupBy(p => p.Arm).ToDictionary(
            arm => arm.Key,
            arm => (IReadOnlyList<(int, double)>)arm.GroupBy(p => p.Examples).Select(g => (g.Key, g.Average(p => p.Accuracy))).ToList()));
        run.Report.AddImage(seeds.Count > 1 ? $"Sample efficiency (mean of {seeds.Count} seeds)" : "Sample efficiency", "plots/sample-efficiency.png");
        return points;
    }

    private static (SampleEfficiencyPoint Point, T Model) Baseline<T>(TextDataset labelled, IReadOnlyList<int> training, int seed,
        Func<ITokenCorpus, IReadOnlyList<int>, T> train)
        where T : ITextBaseline
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        T model = train(labelled.Corpus, training);
        double accuracy = BaselineData.Accuracy(model, labelled.Corpus, labelled.Validation);
        return (new SampleEfficiencyPoint(training.Count, model.Name, accuracy, clock.Elapsed.TotalSeconds) { Seed = seed }, model);
    }

    // The ULMFiT arm's validation probabilities (validation order) averaged with the fastText-style model's; its training
    // time is both members' (nothing else is trained).
    private static SampleEfficiencyPoint Ensemble(TextDataset labelled, SampleEfficiencyPoint ulmfit, IReadOnlyList<float[]> ulmfitProbabilities,
        SampleEfficiencyPoint hashedPoint, HashedNgramClassifier hashed)
    {
        float[][] baseline = labelled.Validation.Select(d => hashed.Probabilities(labelled.Corpus, d)).ToArray();
        int[] labels = labelled.Validation.Select(labelled.Corpus.Label).ToArray();
        EnsembleEvaluation mean = ClassifierEnsemble.Average([ulmfitProbabilities, baseline], labels, labelled.ClassNames, topLosses: 0);
        return new SampleEfficiencyPoint(ulmfit.Examples, UlmfitWithNgrams, mean.Ensemble.Metrics.Accuracy, ulmfit.Seconds + hashedPoint.Seconds) { Seed = ulmfit.Seed };
    }
}

/// <summary>One point of the sample-efficiency comparison.</summary>
/// <param name="Examples">Labelled training documents.</param>
/// <param name="Arm">What was trained: <see cref="SampleEfficiencyExperiment.Ulmfit"/>, <see cref="SampleEfficiencyExperiment.Scratch"/>, a baseline's <see cref="ITextBaseline.Name"/>, or <see cref="SampleEfficiencyExperiment.UlmfitWithNgrams"/> (the mean of the first ULMFiT arm's and the fastText-style model's probabilities).</param>
/// <param name="Accuracy">Validation accuracy.</param>
/// <param name="Seconds">Training time.</param>
public sealed record SampleEfficiencyPoint(int Examples, string Arm, double Accuracy, double Seconds)
{
    /// <summary>Seed of the subset, initialisation and shuffles.</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Markdown table, one row per training-set size: each arm's mean accuracy over the seeds (and each seed's, when there
    /// are several), in the order the arms first appear; with several seeds, how many seeds the first arm (ULMFiT) beat
    /// each other arm on; and the mean training times.
    /// </summary>
    /// <param name="points">Every arm's points, every size and seed.</param>
    public static string ToMarkdown(IReadOnlyList<SampleEfficiencyPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        bool severalSeeds = points.Select(p => p.Seed).Distinct().Count() > 1;
        string[] arms = points.Select(p => p.Arm).Distinct().ToArray();
        var table = new System.Text.StringBuilder("| labelled mails | ");
        table.Append(string.Join(" | ", arms.Select(a => severalSeeds ? $"{a}: mean (per seed)" : a)));
        table.Append(severalSeeds ? $" | {arms[0]} better, of seeds | training time ({string.Join(" / ", arms)}) |\n" : $" | training time ({string.Join(" / ", arms)}) |\n");
        table.Append('|').Append(string.Concat(Enumerable.Repeat("---|", arms.Length + (severalSeeds ? 3 : 2)))).Append('\n');
        foreach (var group in points.GroupBy(p => p.Examples))
        {
            List<SampleEfficiencyPoint> Of(string arm) => group.Where(p => p.Arm == arm).OrderBy(p => p.Seed).ToList();
            string Cell(List<SampleEfficiencyPoint> runs) => runs.Count == 0 ? "–" : severalSeeds
                ? FormattableString.Invariant($"{runs.Average(p => p.Accuracy) * 100:F2}% ({string.Join(", ", runs.Select(p => FormattableString.Invariant($"{p.Accuracy * 100:F1}")))})")
                : FormattableString.Invariant($"{runs[0].Accuracy * 100:F2}%");
            table.Append(CultureInfo.InvariantCulture, $"| {group.Key:N0} | ").Append(string.Join(" | ", arms.Select(a => Cell(Of(a)))));
            if (severalSeeds)
            {
                var first = Of(arms[0]);
                table.Append(" | ").Append(string.Join(", ", arms.Skip(1).Select(other =>
                {
                    var theirs = Of(other);
                    int wins = first.Count(w => theirs.Any(o => o.Seed == w.Seed && w.Accuracy > o.Accuracy));
                    return $"{wins} of {first.Count} against {other}";
                })));
            }
            table.Append(" | ").Append(string.Join(" / ", arms.Select(a => Of(a) is { Count: > 0 } runs ? Durations.Format(runs.Average(p => p.Seconds)) : "–"))).Append(" |\n");
        }
        if (severalSeeds)
        {
            table.Append(CultureInfo.InvariantCulture, $"\nSeeds {string.Join(", ", points.Select(p => p.Seed).Distinct().Order())}, each with its own stratified subset, initialisation and shuffles (the baselines train on the same subset and tokens); per-seed accuracies in seed order.\n");
        }
        return table.ToString();
    }
}
