using System.Globalization;
using System.Net;
using System.Text;
using FastText.Engine.IO;
using FastText.Engine.Reporting;
using FastText.Engine.Training.Classification;

namespace FastText.Engine.Interpretation;

/// <summary>
/// fastai's <c>ClassificationInterpretation</c> as files: <c>confusion.png</c> (the confusion matrix) and
/// <c>evaluate.html</c> (self-contained: accuracy, per-class precision / recall / F1, the confusion matrix as a table and
/// as the image, then the top losses with their tokens shaded by attribution for the class the model wrongly chose).
/// </summary>
public static class EvaluationReport
{
    /// <summary>The page's file name.</summary>
    public const string PageFile = "evaluate.html";

    /// <summary>The confusion matrix image's file name.</summary>
    public const string ConfusionFile = "confusion.png";

    /// <summary>Writes both files into <paramref name="folder"/> (created if needed), each atomically.</summary>
    /// <param name="folder">Output folder.</param>
    /// <param name="evaluation">The evaluation.</param>
    /// <param name="topLosses">The top losses, explained (names say actual / predicted / loss).</param>
    /// <param name="title">Page title.</param>
    public static void Write(string folder, ClassifierEvaluation evaluation, IReadOnlyList<ExplainedText> topLosses, string title)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        Directory.CreateDirectory(folder);
        string png = Path.Combine(folder, ConfusionFile);
        TrainingPlots.SaveConfusionMatrix(png, evaluation.Metrics);
        string introduction = "<section class=\"summary\">" + Summary(evaluation, File.ReadAllBytes(png))
            + "<p>Below: the " + topLosses.Count.ToString(CultureInfo.InvariantCulture) + " top losses (the documents the model got most wrong), each explained for the class it predicted.</p></section>\n";
        AtomicFile.WriteAllText(Path.Combine(folder, PageFile), AttributionPage.Render(topLosses, title, introduction));
    }

    // Metrics, the confusion matrix as a table and as the image (inline).
    internal static string Summary(ClassifierEvaluation evaluation, byte[] confusionPng)
    {
        ClassificationMetrics m = evaluation.Metrics;
        static string E(string s) => WebUtility.HtmlEncode(s);
        static string F(double v, string f = "F4") => v.ToString(f, CultureInfo.InvariantCulture);
        var html = new StringBuilder();
        html.Append("<h3>").Append(m.Count.ToString("N0", CultureInfo.InvariantCulture)).Append(" documents: accuracy ")
            .Append(F(100 * m.Accuracy, "F2")).Append(" %, macro F1 ").Append(F(m.MacroF1)).Append(", loss ").Append(F(evaluation.Loss)).Append("</h3>\n");
        html.Append("<table class=\"metrics\"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th></tr>");
        for (int c = 0; c < m.ClassNames.Count; c++)
        {
            html.Append("<tr><th>").Append(E(m.ClassNames[c])).Append("</th><td>").Append(F(m.Precision(c))).Append("</td><td>")
                .Append(F(m.Recall(c))).Append("</td><td>").Append(F(m.F1(c))).Append("</td></tr>");
        }
        html.Append("</table>\n<table class=\"metrics confusion\"><tr><th>actual \\ predicted</th>");
        foreach (string name in m.ClassNames)
        {
            html.Append("<th>").Append(E(name)).Append("</th>");
        }
        html.Append("</tr>");
        for (int a = 0; a < m.ClassNames.Count; a++)
        {
            html.Append("<tr><th>").Append(E(m.ClassNames[a])).Append("</th>");
            for (int p = 0; p < m.ClassNames.Count; p++)
            {
                html.Append("<td>").Append(m.Confusion(a, p).ToString("N0", CultureInfo.InvariantCulture)).Append("</td>");
            }
            html.Append("</tr>");
        }
        html.Append("</table>\n<img class=\"confusion\" alt=\"confusion matrix\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(confusionPng)).Append("\">\n");
        return html.ToString();
    }
}
