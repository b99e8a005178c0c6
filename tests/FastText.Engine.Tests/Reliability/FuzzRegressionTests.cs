using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using FastText.Engine.Models;
using FastText.Engine.Tests.Training;

namespace FastText.Engine.Tests.Reliability;

/// <summary>
/// Inputs AFL++ found (bench/FastText.Fuzz, scripts/fuzz.sh; perf-results/Fuzz.md) that crashed a reader with something
/// other than its documented refusal, kept byte for byte. Each must now be refused with an
/// <see cref="InvalidDataException"/> that names the file.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class FuzzRegressionTests : IDisposable
{
    private readonly TemporaryFolder work = new();

    public void Dispose() => work.Dispose();

    // Weights-file bodies (after magic and version, before the SHA-256) from the `weights` target, which adds the
    // framing and a matching digest so that its inputs reach the parser; here too, so the digest does not refuse them
    // first. Before the fix each escaped TensorArchive.Read as the exception in the comment.
    [Theory]
    // JsonException: the header string is not JSON ('0x00' is invalid after a property name).
    [InlineData("1e7b226b696e64220080ffff8d7a2d73656564222c22766f636162223a337d0000000000", "header that is not valid JSON")]
    [InlineData("1e7b226b696e6422f800002276f9ff6000007fff7d02000000017706000220020000007fff7d02000000017706e601000200000002000b000f", "header that is not valid JSON")]
    // FormatException: a tensor name's 7-bit length prefix longer than five bytes.
    [InlineData("1e7b226b696e64223a226c947a7a2d73656564222c22766f636162223a337d00ffed00cb", "length is not a valid 7-bit encoded integer")]
    // IOException: "BinaryReader encountered an invalid string length of -270549122 characters" (the header's).
    [InlineData("fefefefe0efefe0e", "negative length")]
    // ExternalException from libtorch: "Storage size calculation overflowed with sizes=[2, 7596202579885817858]".
    [InlineData("1e7b226b696e64223a2266757a7a4a73656564222c22766f636162223a337d00001e7b226b696e64223a2266757a7a2d91656564222c15766f636162223a337d020000000177060000000200000002000000000000000200000000226b696e64223a2266757a7a4a73656564222c22766f636162223a00000010000000000000000000803f0000803f0000803f0000803f0369647303000000", "too large")]
    // ExternalException from libtorch: "Unsupported TypeMeta in ATen" (dtype 0xf1f1f10a is no ScalarType).
    [InlineData("1e7b226b696e64223a2266757a7a2d73656564222c22766f636162223a337d00001e7b226b696e82223a2266757a7a2d73656564222c22766f8a6100007fff7d02000af1f1f1f10001770600000002000000ff00000000000000020000000000000010000000000000000000803f0040803f0000803f0369647303000000", "unknown element type")]
    // ExternalException from libtorch: "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1219770712076
    // bytes" (a shape of 2 × 152 G floats, allocated before its byte count was compared with the file).
    [InlineData("1e7b226b696e64223a2266757a7a2d73656564222c22766f636162223a337dfd000000017706000000020000000200000000000000020000000000000010000000000000000000803f0000803f0000803f0000803f03696473030000000100000003000000470000000c0000000000000001000000020000000300000000", "bytes, its shape needs")]
    public void A_weights_file_the_fuzzer_found_is_refused_naming_the_file(string bodyHex, string expected)
    {
        TorchTestSetup.Use();
        string path = work.Combine("fuzzed.ftw");
        File.WriteAllBytes(path, WeightsFile(Convert.FromHexString(bodyHex)));
        var error = Assert.Throws<InvalidDataException>(() => Read(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1L, "negative dimension")]
    [InlineData(1L << 40, "is truncated")]   // a 4 TB float tensor declared in a 60-byte file: refused, not allocated
    public void A_weights_file_declaring_an_impossible_shape_is_refused_before_libtorch_allocates(long dimension, string expected)
    {
        TorchTestSetup.Use();
        string path = work.Combine("shape.ftw");
        using (var stream = new MemoryStream())
        {
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                writer.Write("{}");
                writer.Write(1);                    // one tensor
                writer.Write("w");
                writer.Write(6);                    // float32
                writer.Write(1);                    // rank 1
                writer.Write(dimension);
                writer.Write(dimension * 4);        // its byte count, consistent with the shape
                writer.Write(false);
            }
            File.WriteAllBytes(path, WeightsFile(stream.ToArray()));
        }
        var error = Assert.Throws<InvalidDataException>(() => Read(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    // From the `sentencepiece` target: three pieces, 'xxunk' (user-defined) twice. Was an ArgumentException ("An item
    // with the same key has already been added. Key: xxunk") from the special-token map.
    [Fact]
    public void A_sentencepiece_model_defining_a_piece_twice_is_refused_naming_the_file()
    {
        string path = work.Combine("fuzzed.model");
        File.WriteAllBytes(path, Convert.FromHexString(
            "0a0e0a057878756e6b150080000018040a0e0a057878706164150000000018040a0e0a057878756e6b15000083001804"));
        var error = Assert.Throws<InvalidDataException>(() => Engine.Text.SubwordTokenizer.FromSentencePiece(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("'xxunk' is defined twice", error.Message, StringComparison.Ordinal);
    }

    // From the `sentencepiece` target's four hangs: an empty user-defined piece matched at every position of the text
    // and never advanced the encoder (EncodeToIds looped forever). SentencePiece refuses empty pieces; so does this.
    [Fact]
    public void A_sentencepiece_model_with_an_empty_piece_is_refused_instead_of_looping()
    {
        string path = work.Combine("empty-piece.model");
        File.WriteAllBytes(path, Convert.FromHexString(
            "0a0e0a057878756e6b15008000001804" + "0a090a0015000000001804" + "0a0e0a05787870616415000000001804" + "0a0e0a057878626f7315000000001804"));
        var error = Assert.Throws<InvalidDataException>(() => Engine.Text.SubwordTokenizer.FromSentencePiece(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("piece 1 is empty", error.Message, StringComparison.Ordinal);
    }

    private static void Read(string path)
    {
        var (_, tensors) = TensorArchive.Read<JsonObject>(path);
        foreach (var tensor in tensors.Values)
        {
            tensor.Dispose();
        }
    }

    // The framing the fuzz target adds: "FTXW", version 2, the body, then the SHA-256 of all of it.
    private static byte[] WeightsFile(byte[] body)
    {
        var file = new byte[8 + body.Length + SHA256.HashSizeInBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(file, 0x57545846);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(4), 2);
        body.CopyTo(file, 8);
        SHA256.HashData(file.AsSpan(0, 8 + body.Length), file.AsSpan(8 + body.Length));
        return file;
    }
}
