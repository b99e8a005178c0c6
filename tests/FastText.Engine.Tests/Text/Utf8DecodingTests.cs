using System.Text;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

public sealed class Utf8DecodingTests
{
    private static (List<string> Tokens, DecodeReport Report) Run(byte[] bytes)
    {
        var sink = new TokenizerGoldenTests.CollectingSink();
        DecodeReport report = new FastaiTokenizer().TokenizeUtf8(bytes, ref sink);
        return (sink.Tokens, report);
    }

    [Fact]
    public void Invalid_sequences_are_replaced_and_counted()
    {
        byte[] bytes = [.. "bad "u8, 0xFF, 0xFE, (byte)' ', .. "caf"u8, 0xC3, (byte)' ', .. "ok"u8];
        (List<string> tokens, DecodeReport report) = Run(bytes);
        Assert.Equal(3, report.InvalidSequences);
        // U+FFFD is a symbol (So), which spaCy splits off like an emoji.
        Assert.Equal(["xxbos", "bad", "\uFFFD", "\uFFFD", "caf", "\uFFFD", "ok"], tokens);
    }

    [Fact]
    public void Nul_characters_become_spaces_and_are_counted()
    {
        (List<string> tokens, DecodeReport report) = Run(Encoding.UTF8.GetBytes("a\0b\0\0c"));
        Assert.Equal(3, report.NulCharacters);
        Assert.Equal(["xxbos", "a", "b", "c"], tokens);
    }

    [Fact]
    public void Byte_order_mark_is_dropped_and_non_ascii_survives()
    {
        (List<string> tokens, _) = Run([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("Élan naïve 😀😀😀")]);
        Assert.Equal(["xxbos", "élan", "naïve", "xxrep", "3", "😀"], tokens);
    }
}
