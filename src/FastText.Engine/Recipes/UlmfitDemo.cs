using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastText.Engine.Recipes.Experiments;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Reporting;
using FastText.Engine.Text;
using FastText.Engine.Training.Classification;

namespace FastText.Engine.Recipes;

/// <summary>
/// The README's main job: fastbook chapter 10 on the shipped samples — pretrain on Brown, fine-tune on SpamAssassin
/// bodies, train the ham/spam classifier with gradual unfreezing, predict, and write <c>report.md</c> with plots.
/// </summary>
public static class UlmfitDemo
{
    /// <summary>Runs the demo; returns the report's path.</summary>
    /// <param name="brown">Brown documents (e.g. <c>samples/brown.tar.gz</c>).</param>
    /// <param name="spamAssassin">SpamAssassin mail bodies labelled ham/spam with their train/test split.</param>
    /// <param name="runFolder">Where artifacts, plots and the report go.</param>
    /// <param name="preset">Sizes and schedules.</param>
    /// <param name="progress">Progress sink.</param>
    /// <param name="sampleEfficiency">Also run the 100/300/1000/all comparison with and without the language model.</param>
    /// <param name="compareBatching">Also time a classifier epoch with bucketing vs random batches.</param>
    /// <param name="subwordModel">A SentencePiece <c>.model</c> for subword mode (<see cref="UlmfitPipeline.SubwordModel"/>), or null for words.</param>
    /// <param name="cancellation">Stops training; the phase running is checkpointed first (<see cref="UlmfitPipeline.Cancellation"/>).</param>
    /// <param name="resume">Continue an interrupted demo in <paramref name="runFolder"/> (<see cref="UlmfitPipeline.Resume"/>).</param>
    /// <param name="inspection">What the closing <c>inspect.html</c> computes (default: everything).</param>
    /// <param name="pretrained">A language-model folder to start from instead of pretraining on Brown (e.g.
    /// <c>samples/english-lm</c>, the shipped general-English model: fastai's <c>AWD_LSTM</c> pretrained weights' role);
    /// its sizes must be the preset's.</param>
    /// <param name="unlabelledMails">Fine-tune the language model on the text of every training-split mail, also those
    /// outside the preset's subset, labels unused (ULMFiT's semi-supervised setting: the paper fine-tunes its IMDb LM on
    /// 50k unlabelled reviews); the subset's validation mails are its validation text (trained on as well only with
    /// <see cref="UlmfitPreset.FineTuneOnAllText"/>). The classifier still sees the subset's labels only.</param>
    public static string Run(ITextDocumentSource brown, ITextDocumentSource spamAssassin, string runFolder, UlmfitPreset preset, IProgressSink progress,
        bool sampleEfficiency = false, bool compareBatching = true, string? subwordModel = null, CancellationToken cancellation = default, bool resume = false,
        InspectionOptions? inspection = null, string? pretrained = null, bool unlabelledMails = false)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(progress);
        var total = Stopwatch.StartNew();
        var run = new UlmfitPipeline(runFolder, preset, progress) { SubwordModel = subwordModel, Cancellation = cancellation, Resume = resume };

        // The recipe itself: about a dozen lines.
        IReadOnlyList<LabelledText> all = SampleReaders.Read(spamAssassin);
        IReadOnlyList<LabelledText> subset = SampleReaders.Subset(all, preset.Mails, preset.Seed);
        IReadOnlyList<LabelledText>? unlabelled = unlabelledMails ? LanguageModelMails(spamAssassin.Description, all, subset) : null;   // refused before any training
        using TextDataset mails = run.Tokenize("spam-assassin", subset);
        LanguageModelArtifact general = pretrained is not null ? LanguageModelArtifact.Open(pretrained) : PretrainOnBrown(run, brown, preset);
        // Each mail cut as the classifier's corpus cuts it, in the classifier's vocabulary.
        using TextDataset? mailText = unlabelled is null ? null : run.Tokenize("mail-text", unlabelled, mails.Vocabulary, mails.MaxTokens);
        LanguageModelArtifact tuned = run.FineTune(general, mailText ?? mails);
        using ClassifierResult classifier = run.TrainClassifier(mails, tuned);

        ClassifierEvaluation evaluation = classifier.Evaluation;
        run.Report.AddSection("Classifier on the SpamAssassin validation split", evaluation.Metrics.ToMarkdown());
        run.Report.AddSection("Top losses", TopLossTable(evaluation, mails));
        run.Report.AddSection("Predictions", PredictionTable(classifier.Predictor));
        progress.Log(FormattableString.Invariant($"classifier accuracy {evaluation.Metrics.Accuracy * 100:F2}% on {evaluation.Metrics.Count:N0} validation mails (macro F1 {evaluation.Metrics.MacroF1:F4})"));

        // Inside the models (fasttext inspect): one page, linked from the report.
        if (pretrained is not null)
        {
            run.Report.AddSetting("pretrained", $"{general.Folder} (not pretrained in this run)");
            inspection = (inspection ?? new InspectionOptions()) with { Pretrained = inspection?.Pretrained ?? general.Folder };
        }
        RunInspection.Write(run.RunFolder, progress, inspection, cancellation: cancellation);
        run.Report.AddSection("Inside the models", $"[{RunInspection.PageFile}]({RunInspection.PageFile}) (`fasttext inspect {run.RunFolder}` rewrites it): "
            + "what the language model learned (next tokens after prompts, where it is surprised, the neighbours fine-tuning moved, a t-SNE map of "
            + "its embeddings, part-of-speech probes per layer, subject–verb agreement) and why the classifier decides (its evaluation and confusion matrix, the example mails and the top losses explained per token).");

        if (compareBatching)
        {
            BatchingExperiment.Run(run, mails);
        }
        if (sampleEfficiency)
        {
            SampleEfficiencyExperiment.Run(run, mails, tuned, [100, 300, 1000, null]);
        }
        run.Report.AddSetting("total time", Durations.Format(total.Elapsed.TotalSeconds));
        string report = run.SaveReport();
        progress.Log($"report: {report}");
        return report;
    }

    // The language model's text in the semi-supervised setting, labels dropped: the subset's validation mails (the LM's
    // validation text), then every training-split mail of the source, in the source's order. Test-split mails outside
    // the subset are not used.
    internal static IReadOnlyList<LabelledText> LanguageModelMails(string source, IReadOnlyList<LabelledText> all, IReadOnlyList<LabelledText> subset)
    {
        if (all.Any(t => t.IsValidation is null))
        {
            throw new InvalidDataException($"--unlabelled-mails: {source} has no train/test split of its own; the unlabelled mails for the language model are its training-split mails (run without the option).");
        }
        if (!subset.Any(t => t.IsValidation == true))
        {
            throw new InvalidDataException($"--unlabelled-mails: the {subset.Count:N0} mails chosen hold no test-split mail, so the classifier would be validated on mails the language model trained on; use more mails (--mails).");
        }
        var chosen = subset.Select(t => t.Source).ToHashSet(StringComparer.Ordinal);
        return all.Where(t => t.IsValidation == true && chosen.Contains(t.Source))
            .Concat(all.Where(t => t.IsValidation == false))
            .Select(t => t with { ClassName = null })
            .ToList();
    }

    private static LanguageModelArtifact PretrainOnBrown(UlmfitPipeline run, ITextDocumentSource brown, UlmfitPreset preset)
    {
        using TextDataset english = run.Tokenize("brown", SampleReaders.Read(brown, preset.PretrainDocuments, preset.Seed).Select(t => t with { ClassName = null }).ToList());
        return run.Pretrain(english);
    }

    /// <summary>Sample mails to show in the report.</summary>
    public static IReadOnlyList<string> ExampleTexts { get; } =
    [
        "Dear friend, you have been selected to receive a FREE vacation! Click here now to claim your prize before it expires!!!",
        "Hi all, the meeting about the release schedule moved to Thursday at 10am. Please review the attached patch before then.",
        "MAKE MONEY FAST working from home. No experience needed. Reply with your bank details to get started today.",
        "I tried the new kernel build last night and the sound driver still crashes on resume. Has anyone seen this on the list?",
    ];

    private static string PredictionTable(ClassifierPredictor predictor)
    {
        var table = new StringBuilder("| text | prediction | probability |\n|---|---|---|\n");
        foreach (var (text, prediction) in ExampleTexts.Zip(predictor.Predict(ExampleTexts)))
        {
            table.Append(CultureInfo.InvariantCulture, $"| {text} | {prediction.ClassName} | {prediction.Confidence:F3} |\n");
        }
        return table.ToString();
    }

    private static string TopLossTable(ClassifierEvaluation evaluation, TextDataset mails)
    {
        var table = new StringBuilder("| validation mail | actual | predicted | probability | loss | first tokens |\n|---|---|---|---|---|---|\n");
        foreach (TopLoss loss in evaluation.TopLosses.Take(5))
        {
            int document = mails.Validation[loss.Index];
            string start = string.Join(' ', mails.Document(document).Take(24).Select(id => mails.Vocabulary[id]))
                .Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
            table.Append(CultureInfo.InvariantCulture,
                $"| {document} | {mails.ClassNames[loss.Actual]} | {mails.ClassNames[loss.Predicted]} | {loss.Probability:F3} | {loss.Loss:F3} | {start} |\n");
        }
        return table.ToString();
    }

}
