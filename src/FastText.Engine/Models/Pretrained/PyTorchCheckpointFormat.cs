namespace FastText.Engine.Models.Pretrained;

/// <summary>The on-disk layout of a <c>torch.save</c> file.</summary>
public enum PyTorchCheckpointFormat
{
    /// <summary>The zip archive <c>torch.save</c> writes since PyTorch 1.6 (<c>&lt;name&gt;/data.pkl</c> + <c>&lt;name&gt;/data/N</c>).</summary>
    Zip,

    /// <summary>The older stream of pickles followed by raw storages (<c>_use_new_zipfile_serialization=False</c>).</summary>
    Legacy,
}
