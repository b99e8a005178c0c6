using System.Globalization;
using System.Net;
using System.Text;
using FastText.Engine.IO;

namespace FastText.Engine.Interpretation;

/// <summary>
/// Where is the language model surprised? One self-contained HTML page per call: each text's tokens shaded by their
/// surprisal (orange, full at <see cref="FullShadeBits"/> bits or more), the tooltip giving the probability and what the
/// model expected instead, and the text's perplexity (2^(mean bits)).
/// </summary>
public static class SurprisalPage
{
    /// <summary>Surprisal (bits) shaded at full strength; 16 bits ≈ a 1-in-65,536 token.</summary>
    public const double FullShadeBits = 16;

    /// <summary>Writes the page atomically.</summary>
    /// <param name="path">The HTML file.</param>
    /// <param name="texts">Per text: its name, its first token (not scored: nothing precedes it) and the rest's surprisal.</param>
    /// <param name="title">Page title.</param>
    public static void Write(string path, IReadOnlyList<(string Name, string FirstToken, IReadOnlyList<TokenSurprisal> Tokens)> texts, string title)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var html = new StringBuilder();
        html.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(title)).Append("</title>\n<style>\n")
            .Append("body { font: 15px/1.6 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem; color: #222; }\n")
            .Append("h1 { font-size: 1.4rem; } h2 { font-size: 1.05rem; } .tokens { line-height: 2; }\n")
            .Append(TokenStyle).Append("</style>\n</head>\n<body>\n<h1>").Append(E(title)).Append("</h1>\n")
            .Append("<p class=\"summary\">Each token shaded by its surprisal −log₂ p(token | the tokens before it); full orange at ")
            .Append(F(FullShadeBits, "F0")).Append(" bits. Hover a token for its probability and what the model expected.</p>\n");
        foreach (var (name, first, tokens) in texts)
        {
            html.Append("<section>\n<h2>").Append(E(name)).Append("</h2>\n");
            AppendTokens(html, first, tokens);
            html.Append("</section>\n");
        }
        html.Append("</body>\n</html>\n");
        AtomicFile.WriteAllText(path, html.ToString());
    }

    /// <summary>Styles for <see cref="AppendTokens"/>'s markup on another page.</summary>
    internal const string TokenStyle = ".surprisal .s { padding: .1rem .15rem; border-radius: 3px; } .surprisal .first { color: #888; } .summary { color: #555; font-size: .9rem; }\n";

    /// <summary>One text's summary line and shaded tokens (class <c>s</c>, so another page's token scripts leave them alone).</summary>
    internal static void AppendTokens(StringBuilder html, string first, IReadOnlyList<TokenSurprisal> tokens)
    {
        double meanBits = tokens.Count == 0 ? 0 : tokens.Average(t => t.Bits);
        html.Append("<p class=\"summary\">").Append(tokens.Count).Append(" tokens scored, mean ")
            .Append(F(meanBits, "F2")).Append(" bits per token, perplexity ").Append(F(Math.Pow(2, meanBits), "F1")).Append("</p>\n<p class=\"tokens surprisal\"><span class=\"s first\">")
            .Append(E(first)).Append("</span> ");
        foreach (TokenSurprisal t in tokens)
        {
            double alpha = Math.Clamp(t.Bits / FullShadeBits, 0, 1);
            string expected = string.Join(", ", t.Expected.Select(x => $"{x.Token} {F(x.Probability, "F3")}"));
            html.Append("<span class=\"s\" style=\"background-color: rgba(255, 140, 0, ").Append(F(alpha, "F3")).Append(")\" data-bits=\"").Append(F(t.Bits, "F3"))
                .Append("\" title=\"p ").Append(F(t.Probability, "G3")).Append(" · ").Append(F(t.Bits, "F1")).Append(" bits · expected: ").Append(E(expected)).Append("\">")
                .Append(E(t.Token)).Append("</span> ");
        }
        html.Append("</p>\n");
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
}
