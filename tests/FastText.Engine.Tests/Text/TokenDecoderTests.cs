using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

public sealed class TokenDecoderTests
{
    [Theory]
    [InlineData("xxbos xxmaj this is s xxrep 5 o good xxrep 3 !", "This is s ooooo good !!!")] // joined with spaces, as fastai does
    [InlineData("xxbos xxmaj the movie was xxwrep 4 very bad", "The movie was very very very very bad")]
    [InlineData("xxbos xxup i 'm xxup shouting", "I 'm SHOUTING")]
    [InlineData("xxbos xxrep 3 w .fast.ai after", "www .fast.ai after")] // fastai would repeat 'after' (and everything else) too
    [InlineData("xxbos xxrep many times", "many times")] // fastai drops 'many'
    [InlineData("xxbos a \n▁ b xxpad", "a \n  b")]
    [InlineData("xxbos xxwrep 2 la xxmaj end", "la la End")]
    public void Decodes_special_tokens_without_the_fastai_repeat_bug(string tokens, string text)
    {
        Assert.Equal(text, TokenDecoder.Decode(tokens.Split(' ')));
    }

    [Fact]
    public void Round_trip_restores_capitalisation_and_repeats()
    {
        var tokenizer = new FastaiTokenizer();
        string decoded = TokenDecoder.Decode(tokenizer.Tokenize("This is SOOOO good... Really good good good"));
        // The character repeat stays a separate token ("s" + "oooo"): fastai splits it off the same way.
        Assert.Equal("This is s oooo good … Really good good good", decoded);
    }

    [Fact]
    public void Huge_counts_are_clamped()
    {
        Assert.Equal(TokenDecoder.MaximumRepeat, TokenDecoder.Decode(["xxrep", "999999999", "a"]).Length);
    }
}
