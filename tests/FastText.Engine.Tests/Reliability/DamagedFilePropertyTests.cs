using CsCheck;
using FastText.Engine.Models;
using FastText.Engine.Tests.Training;
using TorchSharp;

namespace FastText.Engine.Tests.Reliability;

/// <summary>
/// Every cut and every flipped byte of a weights file, not only the fault-injection table's few: a random offset
/// (CsCheck) must give an <see cref="InvalidDataException"/> naming the file, never another exception or a load.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class DamagedFilePropertyTests : IDisposable
{
    private readonly TemporaryFolder work = new();

    public void Dispose() => work.Dispose();

    [Fact]
    public void A_weights_file_cut_or_flipped_anywhere_is_refused_naming_it()
    {
        TorchTestSetup.Use();
        string original = work.Combine("good.weights");
        using (var a = torch.randn(7, 5))
        using (var b = torch.arange(12, dtype: torch.int64))
        {
            TensorArchive.Write(original, new { Kind = "test", Note = "a header with text" }, [new("a", a), new("b", b)]);
        }
        byte[] good = File.ReadAllBytes(original);
        int iteration = 0;
        Gen.Select(Gen.Int[0, good.Length - 1], Gen.Byte[1, 255], Gen.Bool).Sample((offset, mask, cut) =>
        {
            byte[] bad = cut ? good[..offset] : [.. good];
            if (!cut)
            {
                bad[offset] ^= mask;
            }
            string path = work.Combine($"bad-{iteration++}.weights");
            File.WriteAllBytes(path, bad);
            var error = Assert.Throws<InvalidDataException>(() =>
            {
                var (_, tensors) = TensorArchive.Read<System.Text.Json.Nodes.JsonObject>(path);
                foreach (var t in tensors.Values)
                {
                    t.Dispose();
                }
            });
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
            File.Delete(path);
        }, iter: 400, threads: 1);
    }
}
