using System.Globalization;
using System.Text;
using FastText.Engine.IO;
using FastText.Engine.Training;

namespace FastText.Engine.Reporting;

/// <summary>
/// A markdown report of a run: settings, fastai-style epoch tables per stage (with perplexity, times, tokens/s,
/// padding waste), free sections (accuracy, confusion matrix, comparisons) and links to the PNG plots.
/// </summary>
public sealed class RunReport
{
    private readonly List<(string Name, string Value)> settings = [];
    private readonly List<EpochSummary> epochs = [];
    private readonly List<(string Heading, string Markdown)> sections = [];
    private readonly List<(string Caption, string Path)> images = [];

    /// <summary>Creates an empty report.</summary>
    public RunReport(string title)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(title);
        Title = title;
    }

    /// <summary>The report's first heading.</summary>
    public string Title { get; }

    /// <summary>Epochs recorded so far, in order.</summary>
    public IReadOnlyList<EpochSummary> Epochs => epochs;

    /// <summary>Adds a row to the settings table.</summary>
    public void AddSetting(string name, string value) => settings.Add((name, value));

    /// <summary>Records one epoch (rows are grouped by stage in the output, in the order stages first appear).</summary>
    public void AddEpoch(EpochSummary epoch)
    {
        ArgumentNullException.ThrowIfNull(epoch);
        epochs.Add(epoch);
    }

    /// <summary>Adds a free markdown section under a level-2 heading.</summary>
    public void AddSection(string heading, string markdown) => sections.Add((heading, markdown));

    /// <summary>Links a PNG (path relative to the report's folder).</summary>
    public void AddImage(string caption, string relativePath) => images.Add((caption, relativePath));

    /// <summary>Renders the report.</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("# ").AppendLine(Title).AppendLine();
        if (settings.Count > 0)
        {
            text.AppendLine("| setting | value |").AppendLine("|---|---|");
            foreach ((string name, string value) in settings)
            {
                text.Append("| ").Append(Escape(name)).Append(" | ").Append(Escape(value)).AppendLine(" |");
            }
            text.AppendLine();
        }
        if (epochs.Count > 0)
        {
            text.AppendLine("## Epochs").AppendLine();
            foreach (IGrouping<string, EpochSummary> stage in epochs.GroupBy(e => e.Stage))
            {
                bool languageModel = stage.Any(e => e.IsLanguageModel);
                bool padding = stage.Any(e => e.PaddingWaste is not null);
                text.Append("### ").AppendLine(stage.Key).AppendLine();
                text.Append("| epoch | train_loss | valid_loss | accuracy |");
                if (languageModel)
                {
                    text.Append(" perplexity |");
                }
                text.Append(" time | tokens/s |");
                if (padding)
                {
                    text.Append(" padding |");
                }
                text.AppendLine();
                text.Append("|---|---|---|---|").Append(languageModel ? "---|" : "").Append("---|---|").AppendLine(padding ? "---|" : "");
                foreach (EpochSummary e in stage)
                {
                    // Not validated (a comparison run validates once, at its end): a dash, not NaN.
                    static string Cell(double value, string format) => double.IsNaN(value) ? "–" : value.ToString(format, CultureInfo.InvariantCulture);
                    text.Append(CultureInfo.InvariantCulture, $"| {e.Epoch} | {e.TrainLoss:F6} | {Cell(e.ValidLoss, "F6")} | {Cell(e.Accuracy, "F6")} |");
                    if (languageModel)
                    {
                        text.Append(CultureInfo.InvariantCulture, $" {Cell(e.Perplexity ?? double.NaN, "F3")} |");
                    }
                    text.Append(CultureInfo.InvariantCulture, $" {Durations.Format(e.Seconds)} | {e.TokensPerSecond:N0} |");
                    if (padding)
                    {
                        text.Append(e.PaddingWaste is double waste ? string.Create(CultureInfo.InvariantCulture, $" {waste * 100:0.0}% |") : " – |");
                    }
                    text.AppendLine();
                }
                text.AppendLine();
            }
        }
        foreach ((string heading, string markdown) in sections)
        {
            text.Append("## ").AppendLine(heading).AppendLine().AppendLine(markdown.TrimEnd()).AppendLine();
        }
        if (images.Count > 0)
        {
            text.AppendLine("## Plots").AppendLine();
            foreach ((string caption, string path) in images)
            {
                text.Append("![").Append(caption).Append("](").Append(path).AppendLine(")").AppendLine();
            }
        }
        return text.ToString();
    }

    /// <summary>Writes the markdown to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToMarkdown());

    private static string Escape(string value) => value.Replace("|", "\\|", StringComparison.Ordinal);
}
