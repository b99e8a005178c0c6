using System.Buffers.Binary;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

/// <summary>The corpus header's bytes are the file format: pinned here field by field, read back independently of the
/// struct that writes them, so a moved field fails here instead of silently refusing (or misreading) existing files.</summary>
public sealed class CorpusFormatTests
{
    private static CorpusFormat.Header Sample() => new()
    {
        IdWidth = 2,
        VocabularySize = 30_008,
        VocabularyHash = 0x0102_0304_0506_0708UL,
        Documents = 6_046,
        Tokens = 5_025_211,
        Classes = 2,
        Flags = CorpusFormat.Flags.HasLabelSection | CorpusFormat.Flags.AllLabeled,
        TokensOffset = 256,
        OffsetsOffset = 10_050_680,
        LabelsOffset = 10_099_056,
        SplitsOffset = 10_123_240,
        ClassNamesOffset = 10_129_288,
        ClassNamesLength = 15,
        FileLength = 10_129_304,
        BodyDigest = 0xF0E1_D2C3_B4A5_9687UL,
    };

    [Fact]
    public void Header_fields_lie_at_the_format_offsets()
    {
        var bytes = new byte[CorpusFormat.HeaderSize];
        bytes.AsSpan().Fill(0xAA);                                          // whatever was there is overwritten
        CorpusFormat.Write(bytes, Sample());

        Assert.True(bytes.AsSpan(0, 8).SequenceEqual("FTCORPUS"u8));
        Assert.Equal(CorpusFormat.Version, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(256, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(30_008, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(20)));
        Assert.Equal(0x0102_0304_0506_0708UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24)));
        Assert.Equal(6_046, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(32)));
        Assert.Equal(5_025_211, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(40)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(48)));
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(52)));
        long[] sections = [256, 10_050_680, 10_099_056, 10_123_240, 10_129_288, 15, 10_129_304];
        for (int i = 0; i < sections.Length; i++)
        {
            Assert.Equal(sections[i], BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(56 + 8 * i)));
        }
        Assert.Equal(CorpusFormat.Checksum(bytes.AsSpan(0, 112)), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(112)));
        Assert.Equal(0xF0E1_D2C3_B4A5_9687UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(120)));
        Assert.All(bytes[128..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Header_reads_back_and_a_changed_byte_is_refused_by_name()
    {
        var bytes = new byte[CorpusFormat.HeaderSize];
        CorpusFormat.Header written = Sample();
        CorpusFormat.Write(bytes, written);

        CorpusFormat.Header read = CorpusFormat.Read(bytes, written.FileLength, "x.ftc");
        Assert.Equal(written, read);

        bytes[40] ^= 1;                                                     // one bit of the token count
        var error = Assert.Throws<InvalidDataException>(() => CorpusFormat.Read(bytes, written.FileLength, "x.ftc"));
        Assert.Contains("x.ftc", error.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }
}
