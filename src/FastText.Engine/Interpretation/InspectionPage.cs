using System.Globalization;
using System.Net;
using System.Text;
using FastText.Engine.IO;
using FastText.Engine.Training.Classification;

namespace FastText.Engine.Interpretation;

/// <summary>A token's neighbours in two models (what fine-tuning moved).</summary>
/// <param name="Token">The token.</param>
/// <param name="Before">Its nearest tokens in the first model (e.g. the pretrained one).</param>
/// <param name="After">In the second (e.g. the fine-tuned one).</param>
public sealed record MovedToken(string Token, IReadOnlyList<Neighbour> Before, IReadOnlyList<Neighbour> After)
{
    /// <summary>Share of <see cref="After"/>'s tokens that were among <see cref="Before"/>'s: 1 = nothing moved.</summary>
    public double Overlap => After.Count == 0 ? 1 : After.Count(a => Before.Any(b => b.Token == a.Token)) / (double)After.Count;
}

/// <summary>
/// One self-contained HTML page of everything the interpretation layer shows about a run: its models, what the
/// language model learned (next tokens after prompts, neighbours before and after fine-tuning, a 2-D embedding map,
/// where it is surprised, any probe tables) and why the classifier decides (its evaluation with the confusion matrix,
/// then explained texts with the attribution toggle of <see cref="AttributionPage"/>). Sections appear in the order
/// they are added; <see cref="Render"/> writes them before the explained texts.
/// </summary>
public sealed class InspectionPage
{
    private readonly StringBuilder sections = new();
    private readonly List<ExplainedText> explained = [];

    /// <summary>A page with <paramref name="title"/>.</summary>
    public InspectionPage(string title) => Title = title ?? throw new ArgumentNullException(nameof(title));

    /// <summary>Page title and heading.</summary>
    public string Title { get; }

    /// <summary>A heading and a paragraph of plain text.</summary>
    public InspectionPage AddText(string heading, string text)
    {
        sections.Append("<section class=\"part\"><h2>").Append(E(heading)).Append("</h2><p>").Append(E(text)).Append("</p></section>\n");
        return this;
    }

    /// <summary>A table of plain-text cells (escaped here); the first row is the header.</summary>
    public InspectionPage AddTable(string heading, IReadOnlyList<IReadOnlyList<string>> rows, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        sections.Append("<section class=\"part\"><h2>").Append(E(heading)).Append("</h2>");
        if (caption is not null)
        {
            sections.Append("<p class=\"summary\">").Append(E(caption)).Append("</p>");
        }
        sections.Append("<table class=\"metrics lens\">");
        for (int r = 0; r < rows.Count; r++)
        {
            string cell = r == 0 ? "th" : "td";
            sections.Append("<tr>");
            foreach (string value in rows[r])
            {
                sections.Append('<').Append(cell).Append('>').Append(E(value)).Append("</").Append(cell).Append('>');
            }
            sections.Append("</tr>");
        }
        sections.Append("</table></section>\n");
        return this;
    }

    /// <summary>The most likely next tokens after each prompt.</summary>
    public InspectionPage AddNextTokens(IReadOnlyList<(string Prompt, IReadOnlyList<NextToken> Next)> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var rows = new List<IReadOnlyList<string>> { new[] { "prompt", "most likely next tokens" } };
        rows.AddRange(prompts.Select(p => (IReadOnlyList<string>)[p.Prompt, string.Join(", ", p.Next.Select(n => $"{n.Token} {F(n.Probability, "F3")}"))]));
        return AddTable("What comes next? (the fine-tuned language model)", rows);
    }

    /// <summary>Neighbours by cosine in two models, the tokens that moved most first.</summary>
    public InspectionPage AddMovedTokens(string before, string after, IReadOnlyList<MovedToken> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var rows = new List<IReadOnlyList<string>> { new[] { "token", $"neighbours in {before}", $"neighbours in {after}", "kept" } };
        rows.AddRange(tokens.Select(t => (IReadOnlyList<string>)[t.Token, string.Join(", ", t.Before.Select(n => n.Token)), string.Join(", ", t.After.Select(n => n.Token)), F(t.Overlap, "P0")]));
        return AddTable("What did fine-tuning move? Nearest tokens by cosine of the embeddings", rows,
            "Frequent words of the task's text whose neighbourhoods changed most (kept = the share of the fine-tuned model's neighbours that were already neighbours before).");
    }

    /// <summary>An embedding map as an inline PNG.</summary>
    public InspectionPage AddMap(EmbeddingMapResult map, byte[] png)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(png);
        string how = map.Method == MapMethod.Pca
            ? FormattableString.Invariant($"PCA: the axes carry {map.ExplainedVariance.First:P1} and {map.ExplainedVariance.Second:P1} of the variance.")
            : FormattableString.Invariant($"t-SNE started from the PCA (KL divergence {map.Divergence:F3}): near tokens were near in the embedding; distances between clusters mean little.");
        sections.Append("<section class=\"part\"><h2>The embedding space: the ").Append(map.Points.Count).Append(" most frequent tokens</h2><p class=\"summary\">")
            .Append(E(how)).Append("</p><img class=\"map\" alt=\"embedding map\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(png)).Append("\"></section>\n");
        return this;
    }

    /// <summary>A text's tokens shaded by the language model's surprisal.</summary>
    public InspectionPage AddSurprisal(string name, string firstToken, IReadOnlyList<TokenSurprisal> tokens)
    {
        sections.Append("<section class=\"part\"><h2>Where is the language model surprised? ").Append(E(name)).Append("</h2>\n");
        SurprisalPage.AppendTokens(sections, firstToken, tokens);
        sections.Append("</section>\n");
        return this;
    }

    /// <summary>The classifier's evaluation: metrics, the confusion matrix as a table and <paramref name="confusionPng"/>.</summary>
    public InspectionPage AddEvaluation(ClassifierEvaluation evaluation, byte[] confusionPng, string corpus)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        sections.Append("<section class=\"part\"><h2>The classifier on the validation split of ").Append(E(corpus)).Append("</h2>\n")
            .Append(EvaluationReport.Summary(evaluation, confusionPng)).Append("</section>\n");
        return this;
    }

    /// <summary>Texts explained per token, shown after the sections with the method toggle.</summary>
    public InspectionPage AddExplained(IEnumerable<ExplainedText> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        explained.AddRange(texts);
        return this;
    }

    /// <summary>The page's HTML.</summary>
    public string Render() => AttributionPage.Render(explained, Title,
        "<style>" + SurprisalPage.TokenStyle + "img.map { width: min(1400px, 96vw); position: relative; left: 50%; transform: translateX(-50%); } section.part { border-top: 1px solid #ddd; margin-top: 1rem; } table.lens td, table.lens th { text-align: left; }</style>\n"
        + sections + (explained.Count > 0 ? "<section class=\"part\"><h2>Why the classifier decided</h2><p class=\"summary\">Each text's tokens shaded by attribution for the class named (the toggle at the top switches the method).</p></section>\n" : ""));

    /// <summary>Writes the page atomically.</summary>
    public void Write(string path) => AtomicFile.WriteAllText(path, Render());

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
}
