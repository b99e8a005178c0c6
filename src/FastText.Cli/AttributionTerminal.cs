using System.Globalization;
using System.Text;
using FastText.Engine.Interpretation;

namespace FastText.Cli;

/// <summary>
/// An explanation on the terminal: the answer, the tokens that counted most by each method, the completeness check of
/// integrated gradients, and, on a colour terminal, the whole text shaded by each method (24-bit ANSI backgrounds: green
/// for / red against the class for integrated gradients, orange for intrinsic attention; the page's colours).
/// </summary>
internal static class AttributionTerminal
{
    private const int Top = 8;

    /// <summary>Colour when writing to a terminal, unless NO_COLOR is set (no-color.org) or TERM is dumb.</summary>
    public static bool UseColour(bool interactive) =>
        interactive && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    public static IEnumerable<string> Lines(ExplainedText text, bool colour)
    {
        TokenAttribution a = text.Attribution;
        IntegratedGradients ig = a.IntegratedGradients;
        yield return $"{text.Name}: {text.ClassName} ({string.Join(", ", text.ClassNames.Select((c, i) => $"{c} {F(a.Probabilities[i], "F4")}"))})";
        int[] byIg = a.Ranking(AttributionMethod.IntegratedGradients);
        yield return $"  integrated gradients, for {text.ClassName}: {List(text, byIg.Where(i => ig.Scores[i] > 0).Take(Top), ig.Scores, "+0.000;-0.000")}";
        yield return $"  integrated gradients, against: {List(text, byIg.Reverse().Where(i => ig.Scores[i] < 0).Take(Top), ig.Scores, "+0.000;-0.000")}";
        yield return $"  intrinsic attention: {List(text, a.Ranking(AttributionMethod.IntrinsicAttention).Take(Top), a.IntrinsicAttention, "0.000")}";
        yield return $"  completeness: Σ IG {F(ig.Sum, "F4")} vs f(text) − f(baseline) {F(ig.AtText - ig.AtBaseline, "F4")}: gap {F(100 * ig.CompletenessGap, "F2")} % with {ig.Steps} path points"
            + (ig.IsComplete ? " (within 1 %)" : " — NOT within 1 %: raise --steps");
        if (colour)
        {
            yield return "  IG: " + Shaded(text, t => Signed(ig.Scores[t] / Scale(ig.Scores)));
            yield return "  IA: " + Shaded(text, t => Blend((255, 140, 0), a.IntrinsicAttention[t]));
        }
    }

    private static string List(ExplainedText text, IEnumerable<int> positions, float[] scores, string format)
    {
        string joined = string.Join(", ", positions.Select(i => $"{text.Tokens[i]} ({F(scores[i], format)})"));
        return joined.Length == 0 ? "(none)" : joined;
    }

    private static string Shaded(ExplainedText text, Func<int, (int R, int G, int B)> colourOf)
    {
        var line = new StringBuilder();
        for (int t = 0; t < text.Tokens.Count; t++)
        {
            var (r, g, b) = colourOf(t);
            line.Append(CultureInfo.InvariantCulture, $"\u001b[48;2;{r};{g};{b}m\u001b[38;2;20;20;20m{text.Tokens[t]}\u001b[0m ");
        }
        return line.ToString();
    }

    private static float Scale(float[] scores) => Math.Max(scores.Length == 0 ? 0 : scores.Max(Math.Abs), 1e-12f);

    private static (int, int, int) Signed(float relative) =>
        relative >= 0 ? Blend((0, 150, 60), relative) : Blend((210, 40, 40), -relative);

    // The colour at opacity a over a white background.
    private static (int, int, int) Blend((int R, int G, int B) c, float a)
    {
        a = Math.Clamp(a, 0, 1);
        return ((int)(255 + (c.R - 255) * a), (int)(255 + (c.G - 255) * a), (int)(255 + (c.B - 255) * a));
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
