using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

/// <summary>The worked examples of ulmfit-reference §2.1 and §3: string after the rules, and final tokens.</summary>
public sealed class TokenizerGoldenTests
{
    private readonly FastaiTokenizer tokenizer = new();

    [Theory]
    [InlineData("&copy;   Fast.ai www.fast.ai/INDEX", "xxbos © xxmaj fast.ai xxrep 3 w .fast.ai / xxup index", "xxbos|©|xxmaj|fast.ai|xxrep|3|w|.fast.ai|/|xxup|index")]
    [InlineData("I'M SHOUTING", "xxbos xxup i'm xxup shouting", "xxbos|xxup|i|'m|xxup|shouting")]
    [InlineData("I am speaking normally", "xxbos i am speaking normally", "xxbos|i|am|speaking|normally")]
    [InlineData("Jeremy Howard", "xxbos xxmaj jeremy xxmaj howard", "xxbos|xxmaj|jeremy|xxmaj|howard")]
    [InlineData("This is sooooo good!!!", "xxbos xxmaj this is s xxrep 5 o good xxrep 3 !", "xxbos|xxmaj|this|is|s|xxrep|5|o|good|xxrep|3|!")]
    [InlineData("It costs 1000 dollars", "xxbos xxmaj it costs 1 xxrep 3 0 dollars", "xxbos|xxmaj|it|costs|1|xxrep|3|0|dollars")]
    [InlineData("NOOOO!", "xxbos n xxrep 4 o !", "xxbos|n|xxrep|4|o|!")]
    [InlineData("The movie was very very very very bad", "xxbos xxmaj the movie was xxwrep 4 very bad", "xxbos|xxmaj|the|movie|was|xxwrep|4|very|bad")]
    [InlineData("bye bye", "xxbos bye bye", "xxbos|bye|bye")]
    [InlineData("Hello, World! I LOVE it.", "xxbos xxmaj hello, xxmaj world! i xxup love it.", "xxbos|xxmaj|hello|,|xxmaj|world|!|i|xxup|love|it|.")]
    [InlineData("McDonald's iPhone", "xxbos mcdonald's iphone", "xxbos|mcdonald|'s|iphone")]
    [InlineData("Mr. Costner has dragged", "xxbos xxmaj mr. xxmaj costner has dragged", "xxbos|xxmaj|mr|.|xxmaj|costner|has|dragged")]
    [InlineData("The end.<br /><br />Great movie...", "xxbos xxmaj the end.\n\nxxmaj great movie …", "xxbos|xxmaj|the|end|.|\n\n|xxmaj|great|movie|…")]
    [InlineData("it's 10/10!", "xxbos it's 10 / 10!", "xxbos|it|'s|10|/|10|!")]
    [InlineData("B-movie", "xxbos xxmaj b-movie", "xxbos|xxmaj|b|-|movie")]
    [InlineData("U.S. and U.K.", "xxbos xxup u.s. and xxup u.k.", "xxbos|xxup|u.s|.|and|xxup|u.k|.")]
    public void Worked_examples_match_the_reference(string input, string afterRules, string tokens) =>
        AssertRulesAndTokens(input, afterRules, tokens);

    private void AssertRulesAndTokens(string input, string afterRules, string tokens)
    {
        Assert.Equal(afterRules, tokenizer.ApplyRules(input));
        Assert.Equal(tokens.Split('|'), tokenizer.Tokenize(input));
    }

    // Expected values from Python 3's str.lower() (the two cases where it is not one char to one char): 'İ' becomes
    // 'i' + U+0307, and 'Σ' becomes 'ς' after a cased letter with no cased letter following (case-ignorable chars
    // such as '.', '\'', U+0301 and modifier letters are skipped on both sides), 'σ' otherwise.
    [Theory]
    [InlineData("İstanbul", "xxbos i\u0307stanbul", "xxbos|i\u0307stanbul")]
    [InlineData("ΟΔΟΣ", "xxbos οδος", "xxbos|οδος")]
    [InlineData("ΣΑ ΑΣ ΑΣΣ Σ", "xxbos σα ας ασς σ", "xxbos|σα|ας|ασς|σ")]
    [InlineData("ΑΣ.Α x.Σ ΑΣ' ΟΔΟΣ.", "xxbos ασ.α x.ς ας' οδος.", "xxbos|ασ.α|x.ς|ας|'|οδος|.")]
    [InlineData("Α\u0301Σ ΑΣ\u0301 ǅΣ ʰΣ", "xxbos α\u0301ς ας\u0301 ǆς ʰσ", "xxbos|α\u0301ς|ας\u0301|ǆς|ʰσ")]
    public void Lowercasing_follows_python_special_cases(string input, string afterRules, string tokens) =>
        AssertRulesAndTokens(input, afterRules, tokens);

    [Fact]
    public void First_imdb_review_starts_like_the_book()
    {
        string review = "Once again Mr. Costner has dragged out a movie for far longer than necessary.";
        Assert.Equal(
            "xxbos xxmaj once again xxmaj mr . xxmaj costner has dragged out a movie for far longer than necessary .".Split(' '),
            tokenizer.Tokenize(review));
    }

    [Fact]
    public void Raw_word_splitting_without_rules_matches_the_book()
    {
        // fastai's WordTokenizer alone (no rules, case kept): "The U.S. dollar $1 is $1.00."
        var splitter = new WordSplitter();
        var sink = new CollectingSink();
        splitter.Split("The U.S. dollar $1 is $1.00.", ref sink, applyCaseRules: false, addBeginningOfStream: false);
        Assert.Equal("The U.S. dollar $ 1 is $ 1.00 .".Split(' '), sink.Tokens);
    }

    [Theory]
    [InlineData("(great)", "(|great|)")]
    [InlineData("\"no\"", "\"|no|\"")]
    [InlineData("$1.00", "$|1.00")]
    [InlineData("10%", "10|%")]
    [InlineData("5km", "5|km")]
    [InlineData("fast.ai", "fast.ai")]
    [InlineData(".fast.ai", ".fast.ai")]
    [InlineData("20-year-old", "20|-|year|-|old")]
    [InlineData("don't", "do|n't")]
    [InlineData("it's", "it|'s")]
    [InlineData("can't", "ca|n't")]
    [InlineData("won't", "wo|n't")]
    [InlineData("cannot", "can|not")]
    [InlineData("gonna", "gon|na")]
    [InlineData("y'all", "y'|all")]
    [InlineData("ill", "ill")]
    [InlineData("its", "its")]
    [InlineData("well", "well")]
    [InlineData("(don't)", "(|do|n't|)")]
    [InlineData("don't.", "do|n't|.")]
    [InlineData("e.g.,", "e.g.|,")]
    [InlineData("a.", "a.")]
    [InlineData("end...", "end|...")]
    [InlineData("wait..what", "wait|..|what")]
    [InlineData("hello,world", "hello|,|world")]
    [InlineData("1+1", "1|+|1")]
    [InlineData("costner's", "costner|'s")]
    [InlineData("james'", "james|'")]
    [InlineData("bob@example.com", "bob@example.com")]
    [InlineData("my-site.com", "my-site.com")]
    [InlineData(":)", ":)")]
    [InlineData("<3", "<3")]
    [InlineData("5pm", "5|pm")]
    [InlineData("don’t", "do|n’t")]
    [InlineData("(10%).", "(|10|%|)|.")]
    [InlineData("sci-fi", "sci|-|fi")]
    [InlineData("well--done", "well|--|done")]
    [InlineData("a©b", "a|©|b")]
    [InlineData("3kg", "3|kg")]
    [InlineData("2.5mm.", "2.5|mm|.")]
    [InlineData("10km²", "10|km²")]
    [InlineData("1990s", "1990s")]
    public void Word_splitting_follows_spacy_english(string word, string tokens)
    {
        var splitter = new WordSplitter();
        var sink = new CollectingSink();
        splitter.Split(word, ref sink, applyCaseRules: false, addBeginningOfStream: false);
        Assert.Equal(tokens.Split('|'), sink.Tokens);
    }

    [Theory]
    [InlineData("a \n b", "xxbos|a|\n▁|b")]
    [InlineData("a\n\nb", "xxbos|a|\n\n|b")]
    [InlineData("a\tb", "xxbos|a|\t|b")]
    [InlineData("  padded  ", "xxbos|padded")]
    [InlineData("", "xxbos")]
    public void Whitespace_runs_become_tokens_like_spacy(string input, string tokens)
    {
        Assert.Equal(tokens.Split('|'), tokenizer.Tokenize(input));
    }

    internal sealed class CollectingSink : ITokenSink
    {
        public List<string> Tokens { get; } = [];

        public void Add(ReadOnlySpan<char> token) => Tokens.Add(token.ToString());
    }
}
