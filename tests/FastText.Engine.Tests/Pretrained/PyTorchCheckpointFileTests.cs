using FastText.Engine.Models.Pretrained;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Pretrained;

public sealed class PyTorchCheckpointFileTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public void Dispose() => temporary.Dispose();

    [Theory]
    [InlineData("fastai_lm.pth", PyTorchCheckpointFormat.Zip, false)]
    [InlineData("fastai_lm_legacy.pth", PyTorchCheckpointFormat.Legacy, false)]
    [InlineData("fastai_lm_wrapped.pth", PyTorchCheckpointFormat.Zip, true)]
    public void Reads_every_tensor_pytorch_wrote_with_its_exact_values(string file, PyTorchCheckpointFormat format, bool wrapped)
    {
        TorchTestSetup.Use();
        var expected = Fixture.Expected.Value;
        using var state = PyTorchCheckpointFile.Read(Fixture.File(file));

        Assert.Equal(format, state.Format);
        Assert.Equal(wrapped, state.WasWrapped);
        var expectedKeys = Fixture.Strings(expected.GetProperty("keys"));
        var keys = state.Keys.ToArray();
        // The wrapped file adds fastai's legacy duplicate, which the reader must keep (dropping it is the importer's job).
        Assert.Equal(wrapped ? [.. expectedKeys, "0.rnns.0.module.weight_hh_l0"] : expectedKeys, keys);
        foreach (var property in expected.GetProperty("tensors").EnumerateObject())
        {
            var tensor = state.Tensors[property.Name];
            var description = property.Value;
            Assert.Equal(Fixture.Longs(description.GetProperty("shape")), tensor.shape);
            Assert.Equal(ScalarType.Float32, tensor.dtype);
            float[] values = Fixture.Values(tensor);
            // float32 values survive the JSON round trip through double exactly.
            Assert.Equal(Fixture.Floats(description.GetProperty("first")), values.Take(4).ToArray());
            Assert.Equal((float)description.GetProperty("last").GetDouble(), values[^1]);
            Assert.Equal(description.GetProperty("sum").GetDouble(), values.Sum(v => (double)v), 9);
        }
        Assert.Equal(Fixture.Floats(expected.GetProperty("encoder_row_10")), Fixture.Values(state.Tensors["0.encoder.weight"][10]));
        Assert.Equal((float)expected.GetProperty("rnn1_weight_ih_0_3").GetDouble(),
            state.Tensors["0.rnns.1.module.weight_ih_l0"][0, 3].item<float>());
    }

    [Theory]
    [InlineData("fastai_lm.pth")]
    [InlineData("fastai_lm_legacy.pth")]
    public void Entries_pytorch_stored_as_one_tensor_come_back_as_one_tensor(string file)
    {
        TorchTestSetup.Use();
        using var state = PyTorchCheckpointFile.Read(Fixture.File(file));
        Assert.True(state.SharesTensor("0.encoder.weight", "0.encoder_dp.emb.weight"));
        Assert.True(state.SharesTensor("0.encoder.weight", "1.decoder.weight"));
        Assert.False(state.SharesTensor("0.encoder.weight", "1.decoder.bias"));
    }

    [Fact]
    public void Written_state_dicts_read_back_equal_with_shared_tensors_and_byte_identical_on_rewrite()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(7);
        var shared = torch.randn(5, 3);
        var entries = new List<KeyValuePair<string, Tensor>>
        {
            new("a.weight", shared),
            new("a.alias", shared),
            new("transposed", torch.arange(12, dtype: ScalarType.Float32).view(3, 4).t()), // non-contiguous
            new("counts", torch.tensor(new long[] { -3, 0, 1L << 40 })),
            new("half", torch.randn(4).to(ScalarType.BFloat16)),
            new("flags", torch.tensor(new[] { true, false, true })),
            new("scalar", torch.tensor(2.5)),
            new("empty", torch.zeros(0, 4)),
        };
        string path = Path.Combine(folder, "out.pth");
        PyTorchCheckpointFile.Write(path, entries);
        using var read = PyTorchCheckpointFile.Read(path);

        Assert.Equal(entries.Select(e => e.Key), read.Keys);
        foreach (var (key, tensor) in entries)
        {
            var back = read.Tensors[key];
            Assert.Equal(tensor.dtype, back.dtype);
            Assert.Equal(tensor.shape, back.shape);
            Assert.True(Fixture.AllEqual(tensor, back), key);
        }
        Assert.True(read.SharesTensor("a.weight", "a.alias"));
        Assert.False(read.SharesTensor("a.weight", "transposed"));

        string again = Path.Combine(folder, "again.pth");
        PyTorchCheckpointFile.Write(again, entries);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
    }

    [Fact]
    public void Storages_are_aligned_to_64_bytes_like_torch_save_writes_them()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        string path = Path.Combine(folder, "aligned.pth");
        PyTorchCheckpointFile.Write(path, [new("x", torch.ones(3)), new("y", torch.ones(5, 7))]);
        byte[] bytes = File.ReadAllBytes(path);
        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(bytes));
        foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith("archive/data/", StringComparison.Ordinal)))
        {
            // Local header: name length @26, extra length @28; data follows name + extra.
            int headerOffset = FindLocalHeader(bytes, entry.FullName);
            int dataOffset = headerOffset + 30 + BitConverter.ToUInt16(bytes, headerOffset + 26) + BitConverter.ToUInt16(bytes, headerOffset + 28);
            Assert.Equal(0, dataOffset % 64);
        }
    }

    [Fact]
    public void Files_that_are_not_torch_checkpoints_fail_with_the_file_name_and_the_reason()
    {
        TorchTestSetup.Use();
        string text = Path.Combine(folder, "notes.pth");
        File.WriteAllText(text, "hello");
        var error = Assert.Throws<PretrainedWeightsException>(() => PyTorchCheckpointFile.Read(text));
        Assert.Contains(text, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a PyTorch checkpoint", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<PretrainedWeightsException>(() => PyTorchCheckpointFile.Read(Fixture.Vocabulary));
        Assert.Contains("plain Python pickle", error.Message, StringComparison.Ordinal);

        string zip = Path.Combine(folder, "other.zip");
        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Create))
        {
            archive.CreateEntry("readme.txt");
        }
        error = Assert.Throws<PretrainedWeightsException>(() => PyTorchCheckpointFile.Read(zip));
        Assert.Contains("data.pkl", error.Message, StringComparison.Ordinal);

        string truncated = Path.Combine(folder, "truncated.pth");
        byte[] legacy = File.ReadAllBytes(Fixture.LegacyCheckpoint);
        File.WriteAllBytes(truncated, legacy[..(legacy.Length / 2)]);
        error = Assert.Throws<PretrainedWeightsException>(() => PyTorchCheckpointFile.Read(truncated));
        Assert.Contains(truncated, error.Message, StringComparison.Ordinal);

        error = Assert.Throws<PretrainedWeightsException>(() => PyTorchCheckpointFile.Read(Path.Combine(folder, "absent.pth")));
        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("fastai_lm.pth")]
    [InlineData("fastai_lm_legacy.pth")]
    [InlineData("fastai_lm_wrapped.pth")]
    [InlineData("fastai_vocab.pkl")]
    public void Every_truncation_of_a_fixture_fails_with_a_pretrained_weights_error(string file)
    {
        TorchTestSetup.Use();
        byte[] bytes = File.ReadAllBytes(Fixture.File(file));
        string path = Path.Combine(folder, "cut_" + file);
        for (int length = 0; length < bytes.Length; length += Math.Max(1, bytes.Length / 97))
        {
            File.WriteAllBytes(path, bytes[..length]);
            var error = Record.Exception(() =>
            {
                if (file.EndsWith(".pkl", StringComparison.Ordinal))
                {
                    FastAiVocabularyFile.Read(path);
                }
                else
                {
                    PyTorchCheckpointFile.Read(path).Dispose();
                }
            });
            Assert.True(error is PretrainedWeightsException, $"{length} bytes: {error?.GetType().Name ?? "no error"}: {error?.Message}");
        }
    }

    [Theory]
    [InlineData("fastai_lm.pth")]
    [InlineData("fastai_lm_legacy.pth")]
    [InlineData("fastai_vocab.pkl")]
    public void A_corrupted_byte_anywhere_gives_either_a_result_or_a_pretrained_weights_error(string file)
    {
        TorchTestSetup.Use();
        byte[] original = File.ReadAllBytes(Fixture.File(file));
        string path = Path.Combine(folder, "bad_" + file);
        var random = new Random(5);
        for (int trial = 0; trial < 300; trial++)
        {
            byte[] bytes = (byte[])original.Clone();
            int position = random.Next(bytes.Length);
            bytes[position] ^= (byte)random.Next(1, 256);
            File.WriteAllBytes(path, bytes);
            var error = Record.Exception(() =>
            {
                if (file.EndsWith(".pkl", StringComparison.Ordinal))
                {
                    FastAiVocabularyFile.Read(path);
                }
                else
                {
                    PyTorchCheckpointFile.Read(path).Dispose();
                }
            });
            Assert.True(error is null or PretrainedWeightsException,
                $"byte {position}: {error?.GetType().Name}: {error?.Message}\n{error?.StackTrace}");
        }
    }

    [Fact]
    public void Crc32_matches_the_zip_standard_check_values_at_every_length()
    {
        // The standard check value of CRC-32/ISO-HDLC; then lengths around the 8-byte stride against a bitwise reference.
        Assert.Equal(0xCBF43926u, FastText.Engine.Models.Pretrained.StoredZipWriter.Crc32.Compute("123456789"u8));
        var random = new Random(3);
        for (int length = 0; length < 40; length++)
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            uint reference = 0xFFFFFFFF;
            foreach (byte value in data)
            {
                reference ^= value;
                for (int k = 0; k < 8; k++)
                {
                    reference = (reference & 1) != 0 ? 0xEDB88320 ^ (reference >> 1) : reference >> 1;
                }
            }
            Assert.Equal(~reference, FastText.Engine.Models.Pretrained.StoredZipWriter.Crc32.Compute(data));
        }
    }

    [Fact]
    public void A_flipped_bit_inside_a_stored_weight_is_detected_by_its_checksum()
    {
        TorchTestSetup.Use();
        byte[] bytes = File.ReadAllBytes(Fixture.Checkpoint);
        int header = FindLocalHeader(bytes, "fastai_lm/data/0");
        int data = header + 30 + BitConverter.ToUInt16(bytes, header + 26) + BitConverter.ToUInt16(bytes, header + 28);
        bytes[data + 5] ^= 0x40;
        string path = Path.Combine(folder, "flipped.pth");
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<PretrainedWeightsException>(() => PyTorchCheckpointFile.Read(path));
        Assert.Contains("fastai_lm/data/0", error.Message, StringComparison.Ordinal);
        Assert.Contains("CRC-32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_that_is_not_a_tensor_is_reported_with_its_key()
    {
        TorchTestSetup.Use();
        // {'w': [1, 2]} pickled by hand in the zip layout.
        byte[] pickle = [0x80, 2, (byte)'}', (byte)'X', 1, 0, 0, 0, (byte)'w', (byte)']', (byte)'(', (byte)'K', 1, (byte)'K', 2, (byte)'e', (byte)'s', (byte)'.'];
        string path = Path.Combine(folder, "list.pth");
        using (var archive = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
        {
            using var stream = archive.CreateEntry("list/data.pkl").Open();
            stream.Write(pickle);
        }
        var error = Assert.Throws<PretrainedWeightsException>(() => PyTorchCheckpointFile.Read(path));
        Assert.Equal("w", error.Key);
        Assert.Contains("not a tensor", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_python_globals_are_never_executed_and_a_non_state_dict_is_refused()
    {
        TorchTestSetup.Use();
        // os.system('echo pwned') as a pickle: REDUCE on a global the reader must not resolve to code.
        byte[] pickle = [0x80, 2, (byte)'c', .. "os\nsystem\n"u8, (byte)'X', 10, 0, 0, 0, .. "echo pwned"u8, 0x85, (byte)'R', (byte)'.'];
        string path = Path.Combine(folder, "evil.pth");
        using (var archive = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
        {
            using var stream = archive.CreateEntry("evil/data.pkl").Open();
            stream.Write(pickle);
        }
        var error = Assert.Throws<PretrainedWeightsException>(() => PyTorchCheckpointFile.Read(path));
        Assert.Contains("os.system", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a state dict", error.Message, StringComparison.Ordinal);
    }

    private static int FindLocalHeader(byte[] bytes, string name)
    {
        byte[] nameBytes = System.Text.Encoding.UTF8.GetBytes(name);
        for (int i = 0; i + 30 + nameBytes.Length <= bytes.Length; i++)
        {
            if (BitConverter.ToUInt32(bytes, i) == 0x04034b50 && bytes.AsSpan(i + 30, nameBytes.Length).SequenceEqual(nameBytes))
            {
                return i;
            }
        }
        throw new InvalidOperationException(name + " not found");
    }
}
