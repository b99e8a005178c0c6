using System.Globalization;
using System.Text;

namespace FastText.Engine.Text;

/// <summary>
/// Turns tokens back into readable text (fastai <c>decode_spec_tokens</c> + the join in <c>LMLearner.predict</c>):
/// <c>xxmaj w</c> → <c>W</c>, <c>xxup w</c> → <c>W</c> in capitals, <c>xxrep n c</c> → c repeated n times,
/// <c>xxwrep n w</c> → w n times; <c>xxbos</c>, <c>xxpad</c>, <c>xxfake</c> are dropped; tokens joined by single spaces.
/// </summary>
/// <remarks>
/// Fixes fastai's bug: fastai never clears the pending repeat after <c>xxrep</c>/<c>xxwrep</c>, so every later token
/// is repeated too, and it silently drops a token when the count is not an integer. Here the rule is reset after
/// the repeated item, and a non-integer count is emitted unchanged (the marker is dropped). Counts are clamped to
/// <see cref="MaximumRepeat"/> so a generated <c>xxrep 999999999 a</c> cannot exhaust memory. The <c>▁</c> that
/// fastai puts inside whitespace tokens is turned back into a space.
/// </remarks>
internal static class TokenDecoder
{
    /// <summary>Largest repeat count honoured by <c>xxrep</c>/<c>xxwrep</c>.</summary>
    public const int MaximumRepeat = 1000;

    /// <summary>Decodes ids with <paramref name="vocabulary"/>.</summary>
    public static string Decode(ReadOnlySpan<int> ids, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var tokens = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            tokens[i] = vocabulary[ids[i]];
        }
        return Decode(tokens);
    }

    /// <summary>Decodes the special tokens in <paramref name="tokens"/> and joins the result with spaces.</summary>
    public static string Decode(IEnumerable<string> tokens) => string.Join(' ', DecodeSpecialTokens(tokens));

    /// <summary>fastai <c>decode_spec_tokens</c> without its repeat-forever bug (see remarks of the class).</summary>
    public static IReadOnlyList<string> DecodeSpecialTokens(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var result = new List<string>();
        string? rule = null;
        int count = -1;
        foreach (string raw in tokens)
        {
            if (raw is SpecialTokens.BeginningOfStream or SpecialTokens.Padding or SpecialTokens.Fake)
            {
                continue;
            }
            string token = raw.Replace('▁', ' ');
            if (raw is SpecialTokens.Capitalized or SpecialTokens.AllCaps or SpecialTokens.Repeat or SpecialTokens.WordRepeat)
            {
                rule = raw;
                count = -1;
                continue;
            }
            switch (rule)
            {
                case null:
                    result.Add(token);
                    break;
                case SpecialTokens.Capitalized:
                    result.Add(token.Length == 0 ? token : char.ToUpperInvariant(token[0]) + token[1..].ToLowerInvariant());
                    rule = null;
                    break;
                case SpecialTokens.AllCaps:
                    result.Add(token.ToUpperInvariant());
                    rule = null;
                    break;
                default:
                    if (count < 0)
                    {
                        if (int.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed) && parsed >= 0)
                        {
                            count = Math.Min(parsed, MaximumRepeat);
                        }
                        else
                        {
                            result.Add(token); // not a count: keep the token, forget the rule
                            rule = null;
                        }
                        break;
                    }
                    if (rule == SpecialTokens.Repeat)
                    {
                        var repeated = new StringBuilder(token.Length * count);
                        for (int i = 0; i < count; i++)
                        {
                            repeated.Append(token);
                        }
                        result.Add(repeated.ToString());
                    }
                    else
                    {
                        for (int i = 0; i < count; i++)
                        {
                            result.Add(token);
                        }
                    }
                    rule = null;
                    count = -1;
                    break;
            }
        }
        return result;
    }
}
