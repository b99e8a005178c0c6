namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// A checkpoint or vocabulary file could not be read, written or matched to a model: wrong file type, unsupported
/// pickle content, a missing or unexpected key, or a shape mismatch. The message names the file and, where there is
/// one, the state-dict key.
/// </summary>
public sealed class PretrainedWeightsException : Exception
{
    /// <summary>Creates the exception with a message only.</summary>
    public PretrainedWeightsException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public PretrainedWeightsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public PretrainedWeightsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception naming the file and (optionally) the key concerned.</summary>
    /// <param name="path">The file being read or written.</param>
    /// <param name="key">The state-dict key concerned, if any.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public PretrainedWeightsException(string path, string? key, string message, Exception? innerException = null)
        : base(Format(path, key, message), innerException)
    {
        FilePath = path;
        Key = key;
    }

    /// <summary>The file being read or written, when known.</summary>
    public string? FilePath { get; }

    /// <summary>The state-dict key concerned, when there is one.</summary>
    public string? Key { get; }

    private static string Format(string path, string? key, string message) =>
        key is null ? $"{path}: {message}" : $"{path}: key '{key}': {message}";
}
