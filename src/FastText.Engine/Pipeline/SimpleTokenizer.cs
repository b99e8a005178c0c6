using System.Text.RegularExpressions;

namespace FastText.Engine.Pipeline;

/// <summary>
/// A compact approximation of fastai's default rules, used by the pipeline until the full rule set and spaCy-style
/// word splitting of <c>FastText.Engine.Text</c> are wired in: <c>xxbos</c> first, <c>&lt;br /&gt;</c> as a newline,
/// words split from punctuation, <c>xxmaj</c> before capitalized words, <c>xxup</c> before all-caps words, everything
/// lower-cased, runs of one character (≥ 4) as <c>xxrep n c</c>.
/// </summary>
public static partial class SimpleTokenizer
{
    /// <summary>Tokenizes one document.</summary>
    public static List<string> Tokenize(string text, int? maxTokens = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>(text.Length / 4 + 2) { "xxbos" };
        int limit = maxTokens ?? int.MaxValue;
        text = text.Replace("<br />", "\n", StringComparison.OrdinalIgnoreCase);
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0)
        {
            // Broken mails carry lone surrogates; a UTF-8 round trip turns them into U+FFFD so artifacts stay valid UTF-8.
            text = System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(text));
        }
        foreach (Match match in Pieces().Matches(text))
        {
            if (tokens.Count >= limit)
            {
                break;
            }
            string piece = match.Value;
            if (piece.Length >= 4 && !char.IsLetterOrDigit(piece[0]) && piece.AsSpan().IndexOfAnyExcept(piece[0]) < 0)
            {
                tokens.Add("xxrep");
                tokens.Add(piece.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
                tokens.Add(piece[..1]);
                continue;
            }
            if (char.IsUpper(piece[0]))
            {
                bool allCaps = piece.Length > 1 && piece.AsSpan().IndexOfAnyInRange('a', 'z') < 0 && !piece.Any(char.IsLower);
                tokens.Add(allCaps ? "xxup" : "xxmaj");
                piece = piece.ToLowerInvariant();
            }
            else if (piece.Any(char.IsUpper))
            {
                piece = piece.ToLowerInvariant();
            }
            tokens.Add(piece);
        }
        return tokens;
    }

    // Words (with inner apostrophes/hyphens), numbers, runs of one punctuation character, single other symbols, newlines.
    [GeneratedRegex(@"[\uD800-\uDBFF][\uDC00-\uDFFF]|[\p{L}\p{N}]+(?:['’\-][\p{L}\p{N}]+)*|([^\p{L}\p{N}\s])\1*|\n", RegexOptions.CultureInvariant)]
    private static partial Regex Pieces();
}
