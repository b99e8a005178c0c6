using System.Globalization;
using System.Text;

namespace FastText.Engine.Text;

/// <summary>
/// Turns tokens back into readable text (fastai <c>decode_spec_tokens</c> + join): <c>xxmaj w</c> → "W",
/// <c>xxup w</c> → "W" upper-cased, <c>xxrep n c</c> → c repeated n times, <c>xxwrep n w</c> → w n times; xxbos/xxpad dropped.
/// </summary>
/// <remarks>fastai never clears the pending rule after an <c>xxrep</c>/<c>xxwrep</c> (every later token is repeated too)
/// and drops a non-integer count; here the rule applies to one item only and a bad count leaves the token unchanged.</remarks>
internal static class TextDecoding
{
    /// <summary>Decodes <paramref name="tokens"/> and joins them with single spaces.</summary>
    public static string Decode(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var words = new List<string>();
        string? rule = null;
        int? count = null;
        foreach (string token in tokens)
        {
            switch (token)
            {
                case "xxbos" or "xxpad" or "xxeos" or "xxfake":
                    continue;
                case "xxmaj" or "xxup" or "xxrep" or "xxwrep":
                    rule = token;
                    count = null;
                    continue;
            }
            string word = token;
            if (rule is "xxrep" or "xxwrep" && count is null)
            {
                if (int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                {
                    count = n;
                    continue;
                }
                rule = null; // not a count: emit the token unchanged
            }
            switch (rule)
            {
                case "xxmaj" when word.Length > 0:
                    word = char.ToUpperInvariant(word[0]) + word[1..].ToLowerInvariant();
                    break;
                case "xxup":
                    word = word.ToUpperInvariant();
                    break;
                case "xxrep":
                    word = new StringBuilder().Insert(0, word, count ?? 1).ToString();
                    break;
                case "xxwrep":
                    word = string.Join(' ', Enumerable.Repeat(word, count ?? 1));
                    break;
            }
            rule = null;
            count = null;
            words.Add(word);
        }
        return string.Join(' ', words);
    }
}
