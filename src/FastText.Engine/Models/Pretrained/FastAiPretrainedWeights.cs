using static TorchSharp.torch;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// A fastai checkpoint ready to load: canonical fastai keys (aliases and stale copies removed), embedding and decoder
/// bias already matched to the new vocabulary. Owns its tensors.
/// </summary>
public sealed class FastAiPretrainedWeights : IDisposable
{
    private readonly PyTorchStateDictionary file;
    private readonly List<Tensor> owned;

    internal FastAiPretrainedWeights(PyTorchStateDictionary file, Dictionary<string, Tensor> tensors,
        List<Tensor> owned, IReadOnlyList<string>? pretrainedVocabulary, int matched, int added,
        IReadOnlyList<string> droppedStaleKeys)
    {
        this.file = file;
        this.owned = owned;
        Tensors = tensors;
        PretrainedVocabulary = pretrainedVocabulary;
        Matched = matched;
        New = added;
        DroppedStaleKeys = droppedStaleKeys;
    }

    /// <summary>The checkpoint file.</summary>
    public string Path => file.Path;

    /// <summary>Tensors by canonical fastai key (see <see cref="FastAiKeyMap"/>), in the file's order.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The vocabulary the checkpoint was trained with, when a vocabulary file was given.</summary>
    public IReadOnlyList<string>? PretrainedVocabulary { get; }

    /// <summary>New tokens found in the pretrained vocabulary.</summary>
    public int Matched { get; }

    /// <summary>New tokens given the mean pretrained row and bias.</summary>
    public int New { get; }

    /// <summary>Keys fastai's <c>clean_raw_keys</c> would drop.</summary>
    public IReadOnlyList<string> DroppedStaleKeys { get; }

    /// <summary>Disposes the tensors read from the file and the matched ones.</summary>
    public void Dispose()
    {
        foreach (var tensor in owned)
        {
            tensor.Dispose();
        }
        file.Dispose();
    }
}
