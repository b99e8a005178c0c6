using static TorchSharp.torch;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// A state dict read from a PyTorch checkpoint: tensors by key, in the file's order. Keys that referred to the same
/// tensor in the file (fastai's <c>0.encoder.weight</c>, <c>0.encoder_dp.emb.weight</c> and the tied
/// <c>1.decoder.weight</c>) map to the same <see cref="Tensor"/> object. Owns its tensors: dispose it when done.
/// </summary>
public sealed class PyTorchStateDictionary : IDisposable
{
    private readonly List<KeyValuePair<string, Tensor>> entries;
    private readonly Dictionary<string, Tensor> byKey;
    private bool disposed;

    internal PyTorchStateDictionary(string path, PyTorchCheckpointFormat format, bool wasWrapped,
        List<KeyValuePair<string, Tensor>> entries)
    {
        Path = path;
        Format = format;
        WasWrapped = wasWrapped;
        this.entries = entries;
        byKey = new Dictionary<string, Tensor>(entries.Count, StringComparer.Ordinal);
        foreach (var (key, tensor) in entries)
        {
            byKey[key] = tensor;
        }
    }

    /// <summary>The file the state dict was read from.</summary>
    public string Path { get; }

    /// <summary>The file's layout.</summary>
    public PyTorchCheckpointFormat Format { get; }

    /// <summary>True when the file held fastai's <c>{'model': state_dict, 'opt': …}</c> rather than a bare state dict.</summary>
    public bool WasWrapped { get; }

    /// <summary>The entries in the file's order (shared tensors appear under each of their keys).</summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> Entries => entries;

    /// <summary>The tensors by key.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => byKey;

    /// <summary>The keys in the file's order.</summary>
    public IEnumerable<string> Keys => entries.Select(e => e.Key);

    /// <summary>Whether the file stored <paramref name="first"/> and <paramref name="second"/> as one tensor.</summary>
    public bool SharesTensor(string first, string second) =>
        byKey.TryGetValue(first, out var a) && byKey.TryGetValue(second, out var b) && ReferenceEquals(a, b);

    /// <summary>Disposes every distinct tensor once.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (_, tensor) in entries)
        {
            if (seen.Add(tensor))
            {
                tensor.Dispose();
            }
        }
    }
}
