using System.Globalization;
using System.Net;
using System.Text;
using FastText.Engine.IO;

namespace FastText.Engine.Interpretation;

/// <summary>
/// Explanations as one self-contained HTML page (styles and script inline, no external asset, opens from disk): per
/// text its class probabilities, the completeness check of integrated gradients, and the tokens shaded by attribution,
/// with a toggle between the two methods (also chosen by the address: <c>page.html#ia</c> or <c>#ig</c>).
/// </summary>
/// <remarks>Shading: integrated gradients are signed, green for tokens that push towards the explained class and red
/// for those against, opacity = |score| over the text's largest |score|; intrinsic attention is unsigned, orange with
/// opacity = its score (already over the text's largest). fastai v1 coloured intrinsic attention with one diverging
/// map (RdYlGn); an unsigned importance reads more plainly on a one-colour scale, so the page keeps the diverging one
/// for the signed method only. Each token's tooltip shows both scores.</remarks>
public static class AttributionPage
{
    /// <summary>Writes the page atomically.</summary>
    public static void Write(string path, IReadOnlyList<ExplainedText> texts, string title = "Why the classifier decided")
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.WriteAllText(path, Render(texts, title));
    }

    /// <summary>The page's HTML.</summary>
    /// <param name="texts">The explained texts, in order.</param>
    /// <param name="title">Page title and heading.</param>
    /// <param name="introduction">HTML placed before the texts (the evaluation page's metrics), already escaped.</param>
    public static string Render(IReadOnlyList<ExplainedText> texts, string title = "Why the classifier decided", string? introduction = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var html = new StringBuilder(4096 + texts.Sum(t => t.Tokens.Count * 80));
        html.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(Escape(title)).Append("</title>\n<style>\n")
            .Append(Style).Append("</style>\n</head>\n<body data-method=\"ig\">\n<header>\n<h1>").Append(Escape(title)).Append("</h1>\n")
            .Append("<fieldset class=\"methods\"><legend>Attribution</legend>")
            .Append("<label><input type=\"radio\" name=\"method\" value=\"ig\" checked> integrated gradients <span class=\"key pos\">for</span><span class=\"key neg\">against</span></label>")
            .Append("<label><input type=\"radio\" name=\"method\" value=\"ia\"> intrinsic attention <span class=\"key ia\">important</span></label>")
            .Append("</fieldset>\n</header>\n<main>\n").Append(introduction ?? "");
        for (int i = 0; i < texts.Count; i++)
        {
            AppendText(html, texts[i], i);
        }
        html.Append("</main>\n<script>\n").Append(Script).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendText(StringBuilder html, ExplainedText text, int index)
    {
        TokenAttribution a = text.Attribution;
        IntegratedGradients ig = a.IntegratedGradients;
        html.Append("<section class=\"text\" id=\"text-").Append(index).Append("\">\n<h2>").Append(Escape(text.Name)).Append("</h2>\n<div class=\"probabilities\">");
        for (int c = 0; c < text.ClassNames.Count; c++)
        {
            string share = Number(100 * a.Probabilities[c], "F1");
            html.Append("<div class=\"class").Append(c == a.ClassIndex ? " explained" : "").Append("\"><span class=\"name\">").Append(Escape(text.ClassNames[c]))
                .Append("</span><span class=\"bar\"><span style=\"width:").Append(share).Append("%\"></span></span><span class=\"p\">")
                .Append(Number(a.Probabilities[c], "F4")).Append("</span></div>");
        }
        html.Append("</div>\n<p class=\"check").Append(ig.IsComplete ? "" : " failed").Append("\">Explaining <b>").Append(Escape(text.ClassName))
            .Append("</b>. Integrated gradients: Σ = ").Append(Number(ig.Sum, "F4")).Append(", f(text) − f(baseline) = ")
            .Append(Number(ig.AtText - ig.AtBaseline, "F4")).Append(", gap ").Append(Number(100 * ig.CompletenessGap, "F2")).Append(" % with ")
            .Append(ig.Steps).Append(" path points").Append(ig.IsComplete ? " (complete within 1 %)" : " (NOT complete within 1 %: raise --steps)")
            .Append(". ").Append(text.Tokens.Count).Append(" tokens.</p>\n<p class=\"tokens\">");
        float scale = ig.Scores.Length == 0 ? 0 : ig.Scores.Max(Math.Abs);
        for (int t = 0; t < text.Tokens.Count; t++)
        {
            float relative = scale > 0 ? ig.Scores[t] / scale : 0;
            html.Append("<span class=\"t\" data-ig=\"").Append(Number(relative, "F4")).Append("\" data-ia=\"").Append(Number(a.IntrinsicAttention[t], "F4"))
                .Append("\" title=\"IG ").Append(Number(ig.Scores[t], "+0.0000;-0.0000")).Append(" · IA ").Append(Number(a.IntrinsicAttention[t], "F3")).Append("\">")
                .Append(Escape(text.Tokens[t])).Append("</span> ");
        }
        html.Append("</p>\n</section>\n");
    }

    private static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private const string Style = """
        body { font: 15px/1.6 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem; color: #222; }
        h1 { font-size: 1.4rem; } h2 { font-size: 1.05rem; margin-bottom: .3rem; word-break: break-all; }
        fieldset.methods { border: 1px solid #ccc; border-radius: 6px; display: inline-flex; gap: 1.5rem; }
        .key { display: inline-block; padding: 0 .35rem; margin-left: .3rem; border-radius: 3px; font-size: .85em; }
        .key.pos { background: rgba(0, 150, 60, .6); } .key.neg { background: rgba(210, 40, 40, .6); } .key.ia { background: rgba(255, 140, 0, .7); }
        section.text { border-top: 1px solid #ddd; margin-top: 1rem; }
        .probabilities { display: grid; gap: .15rem; max-width: 30rem; }
        .class { display: grid; grid-template-columns: 8rem 1fr 4rem; align-items: center; gap: .5rem; }
        .class.explained .name { font-weight: bold; }
        .bar { background: #eee; height: .7rem; border-radius: 3px; overflow: hidden; } .bar span { display: block; height: 100%; background: #4a78c2; }
        .p { font-variant-numeric: tabular-nums; text-align: right; }
        .check { color: #555; font-size: .9rem; } .check.failed { color: #b00; }
        .tokens { line-height: 2; } .t { padding: .1rem .15rem; border-radius: 3px; }
        table.metrics { border-collapse: collapse; margin: .5rem 0; } table.metrics td, table.metrics th { border: 1px solid #ccc; padding: .2rem .6rem; text-align: right; }
        img.confusion { max-width: 24rem; display: block; }

        """;

    private const string Script = """
        (function () {
          function shade(method) {
            document.body.dataset.method = method;
            document.querySelectorAll('.t').forEach(function (token) {
              var v = parseFloat(token.dataset[method]);
              if (method === 'ia') {
                token.style.backgroundColor = 'rgba(255, 140, 0, ' + v.toFixed(3) + ')';
              } else {
                var a = Math.abs(v).toFixed(3);
                token.style.backgroundColor = v >= 0 ? 'rgba(0, 150, 60, ' + a + ')' : 'rgba(210, 40, 40, ' + a + ')';
              }
            });
            document.querySelectorAll('input[name=method]').forEach(function (r) { r.checked = r.value === method; });
          }
          document.querySelectorAll('input[name=method]').forEach(function (r) {
            r.addEventListener('change', function () { if (r.checked) { shade(r.value); } });
          });
          shade(location.hash === '#ia' ? 'ia' : 'ig');
        })();

        """;
}
