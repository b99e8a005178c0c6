using System.Text.RegularExpressions;
using FastText.Engine.Interpretation;
using SkiaSharp;

namespace FastText.Engine.Tests.Interpretation;

/// <summary>The explanation page, opened in a real headless browser (Debian's chromium; scripts/test.sh installs it).</summary>
public sealed partial class AttributionPageTests : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    // Two texts; tokens that must be escaped; signed IG scores and IA scores that order the tokens differently.
    private static IReadOnlyList<ExplainedText> Texts()
    {
        static ExplainedText Text(string name, string[] tokens, float[] ig, float[] ia, float pSpam) => new(name, tokens,
            new TokenAttribution(Enumerable.Range(2, tokens.Length).ToArray(), [1 - pSpam, pSpam], 1, ia,
                new IntegratedGradients(ig, 50, ig.Sum(), 0.5 + ig.Sum(), 0.5)), ["ham", "spam"]);
        return
        [
            Text("mail <1> & \"more\"", ["xxbos", "free", "<b>cash</b>", "now", "&amp;", "meeting"], [0.05f, 0.4f, 0.3f, 0.1f, 0f, -0.2f],
                [0.2f, 1f, 0.1f, 0.6f, 0f, 0.3f], 0.97f),
            Text("text 2", ["hi", "bob", ",", "notes", "?"], [-0.3f, -0.1f, 0f, -0.2f, 0.05f], [1f, 0.4f, 0.05f, 0.5f, 0.1f], 0.2f),
        ];
    }

    // The browser's serialisation of the colour the script set: rgba(r, g, b, a), or rgb(r, g, b) when a = 1.
    [GeneratedRegex("<span class=\"t\"[^>]*style=\"background-color: rgba?\\((\\d+), (\\d+), (\\d+)(?:, ([0-9.]+))?\\);?\"[^>]*>([^<]*)</span>")]
    private static partial Regex ShadedToken();

    [Fact]
    public void The_page_is_self_contained_and_escapes_what_it_shows()
    {
        string html = AttributionPage.Render(Texts(), "Why <it> decided");
        Assert.DoesNotContain("http", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>cash", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;cash&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("mail &lt;1&gt; &amp; &quot;more&quot;", html, StringComparison.Ordinal);
        Assert.Contains("Why &lt;it&gt; decided", html, StringComparison.Ordinal);
    }

    [Fact]
    public void In_a_headless_browser_every_token_is_shaded_and_the_toggle_switches_the_method()
    {
        string page = folder.Combine("explain.html");
        IReadOnlyList<ExplainedText> texts = Texts();
        AttributionPage.Write(page, texts);
        int tokenCount = texts.Sum(t => t.Tokens.Count);

        // Default (integrated gradients): every token shaded green (for) or red (against) in proportion to |score|.
        var ig = ShadedToken().Matches(Chromium("--dump-dom", new Uri(page).AbsoluteUri));
        Assert.Equal(tokenCount, ig.Count);
        Assert.Equal("&lt;b&gt;cash&lt;/b&gt;", ig[2].Groups[5].Value);
        var flat = texts.SelectMany(t => t.Attribution.IntegratedGradients.Scores.Select(s => s / t.Attribution.IntegratedGradients.Scores.Max(Math.Abs))).ToArray();
        for (int i = 0; i < tokenCount; i++)
        {
            (int r, int g) = (int.Parse(ig[i].Groups[1].Value), int.Parse(ig[i].Groups[2].Value));
            Assert.True(flat[i] >= 0 ? g > r : r > g, $"token {i}: score {flat[i]}, colour {ig[i].Value}");
            Assert.InRange(Alpha(ig[i]), Math.Abs(flat[i]) - 0.01, Math.Abs(flat[i]) + 0.01);   // alpha is kept in 8 bits
        }

        // The address chooses intrinsic attention (what the radio toggle's change handler calls): orange, alpha = score.
        var ia = ShadedToken().Matches(Chromium("--dump-dom", new Uri(page).AbsoluteUri + "#ia"));
        Assert.Equal(tokenCount, ia.Count);
        float[] attention = texts.SelectMany(t => t.Attribution.IntrinsicAttention).ToArray();
        for (int i = 0; i < tokenCount; i++)
        {
            Assert.Equal("255,140,0", $"{ia[i].Groups[1].Value},{ia[i].Groups[2].Value},{ia[i].Groups[3].Value}");
            Assert.InRange(Alpha(ia[i]), attention[i] - 0.01, attention[i] + 0.01);
        }
        Assert.Contains("data-method=\"ia\"", Chromium("--dump-dom", new Uri(page).AbsoluteUri + "#ia"), StringComparison.Ordinal);

        // A screenshot, kept as the test's artefact: it has the page's green and orange (not a blank or error page).
        string screenshot = Path.Combine(Artefacts(), "explain-page.png");
        Chromium($"--screenshot={screenshot}", "--window-size=1100,700", new Uri(page).AbsoluteUri);
        using SKBitmap image = SKBitmap.Decode(screenshot) ?? throw new Xunit.Sdk.XunitException($"{screenshot} is not an image");
        Assert.Equal(1100, image.Width);
        int green = 0;
        for (int y = 0; y < image.Height; y += 2)
        {
            for (int x = 0; x < image.Width; x += 2)
            {
                SKColor c = image.GetPixel(x, y);
                green += c.Green > c.Red + 40 && c.Green > c.Blue + 20 ? 1 : 0;
            }
        }
        Assert.True(green > 200, $"only {green} green pixels in {screenshot}");
    }

    private static double Alpha(Match m) =>
        m.Groups[4].Success ? double.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture) : 1;

    private string Chromium(params string[] arguments) => HeadlessChromium.Run(folder.Combine("profile"), arguments);

    private static string Artefacts() => HeadlessChromium.Artefacts();
}
