using FastText.Engine.IO;
namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// fastai's vocabulary file: a pickled Python list of token strings, id = position (the <c>.pkl</c> next to the
/// WikiText-103 weights, or <c>pickle.dump(dls.vocab, f)</c>). Read with a data-only unpickler; written as a
/// protocol-2 pickle that every Python 3 reads.
/// </summary>
internal static class FastAiVocabularyFile
{
    /// <summary>Reads the token list.</summary>
    /// <exception cref="PretrainedWeightsException">The file is not a pickled list of strings.</exception>
    public static IReadOnlyList<string> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new PretrainedWeightsException(path, null, "file not found");
        }
        using var stream = new BufferedStream(File.OpenRead(path), 1 << 16);
        int first = stream.ReadByte();
        if (first is 'P' or -1 || first is not (0x80 or '(' or ']'))
        {
            // Binary pickles start with PROTO (0x80); protocols 0 and 1 start a list with MARK or EMPTY_LIST.
            throw new PretrainedWeightsException(path, null, first == 'P'
                ? "this is a zip archive (a torch.save checkpoint?), not a pickled vocabulary list"
                : "not a pickled vocabulary list (a fastai vocabulary .pkl is a Python pickle of a list of strings)");
        }
        stream.Position = 0;
        object? value = new PickleReader(stream, path).Load();
        if (value is not List<object?> items)
        {
            throw new PretrainedWeightsException(path, null,
                $"expected a pickled list of token strings, found {value?.GetType().Name ?? "None"}");
        }
        var tokens = new string[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            tokens[i] = items[i] as string ?? throw new PretrainedWeightsException(path, null,
                $"item {i} of the vocabulary is {items[i]?.GetType().Name ?? "None"}, not a string");
        }
        return tokens;
    }

    /// <summary>Writes the token list atomically (temporary file + rename).</summary>
    public static void Write(string path, IReadOnlyList<string> vocabulary)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(vocabulary);
        for (int i = 0; i < vocabulary.Count; i++)
        {
            if (vocabulary[i] is null)
            {
                throw new ArgumentException($"Token {i} is null.", nameof(vocabulary));
            }
        }
        AtomicFile.Write(path, stream =>
        {
            new PickleWriter(stream).WriteStringList(vocabulary); // the file stream buffers
        });
    }
}
