using System.Text;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

/// <summary>
/// Compares the rule passes with Python's own <c>re</c>/<c>html</c> on ~4.5k inputs (edge cases, seeded random
/// strings, real corpus lines): Data/rules-golden.tsv is produced by scripts/dev/gen-rule-goldens.py.
/// </summary>
public sealed class RulesDifferentialTests
{
    private static IEnumerable<(string Input, string Expected)> Golden()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Text", "Data", "rules-golden.tsv");
        foreach (string line in File.ReadLines(path, Encoding.UTF8))
        {
            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            yield return (Unescape(line[..tab]), Unescape(line[(tab + 1)..]));
        }
    }

    [Fact]
    public void Rules_match_python_on_every_golden_input()
    {
        var tokenizer = new FastaiTokenizer();
        var failures = new List<string>();
        int count = 0;
        foreach ((string input, string expected) in Golden())
        {
            count++;
            string actual = tokenizer.ApplyRules(input);
            if (actual != expected && failures.Count < 10)
            {
                failures.Add($"input [{Escape(input)}]\n  python [{Escape(expected)}]\n  ours   [{Escape(actual)}]");
            }
        }
        Assert.True(count > 4000, $"only {count} golden lines");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Fused_tokenization_equals_splitting_the_rules_output()
    {
        // Rules 6–8 are fused into the splitter on the hot path; splitting the string form must give the same tokens.
        var tokenizer = new FastaiTokenizer();
        var splitter = new WordSplitter();
        foreach ((string input, _) in Golden())
        {
            var sink = new TokenizerGoldenTests.CollectingSink();
            splitter.Split(tokenizer.ApplyRules(input), ref sink, applyCaseRules: false, addBeginningOfStream: false);
            Assert.Equal(sink.Tokens, tokenizer.Tokenize(input));
        }
    }

    private static string Escape(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);

    private static string Unescape(string text)
    {
        var builder = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                i++;
                builder.Append(text[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => text[i] });
            }
            else
            {
                builder.Append(text[i]);
            }
        }
        return builder.ToString();
    }
}
