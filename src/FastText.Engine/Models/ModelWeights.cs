using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>What a weights file says about itself (checked before any tensor is copied).</summary>
/// <param name="Kind">"encoder" or "language-model".</param>
/// <param name="Architecture">The <see cref="AwdLstmConfig.ArchitectureSignature"/> it was saved with.</param>
/// <param name="VocabularySize">Embedding rows.</param>
/// <param name="Vocabulary">The token strings, when saved with them (needed to start from it with another vocabulary).</param>
internal sealed record WeightsHeader(string Kind, string Architecture, int VocabularySize, IReadOnlyList<string>? Vocabulary);

/// <summary>Counts from <see cref="ModelWeights.LoadPretrained(AwdLstmLanguageModel, string, IReadOnlyList{string})"/>.</summary>
/// <param name="Matched">New tokens whose rows came from the pretrained vocabulary.</param>
/// <param name="New">New tokens given the mean pretrained row and bias.</param>
public sealed record VocabularyMatch(int Matched, int New);

/// <summary>
/// Saving and loading AWD-LSTM weights: the encoder alone for the classifier (fastai <c>save_encoder</c> /
/// <c>load_encoder</c>), a whole language model with its vocabulary, and starting a language model from pretrained weights
/// with another vocabulary (fastai <c>match_embeds</c>, but matched by key name rather than by position).
/// </summary>
public static class ModelWeights
{
    private const string EncoderKind = "encoder";
    private const string LanguageModelKind = "language-model";

    /// <summary>Saves the encoder's weights (keys <c>encoder.weight</c>, <c>rnns.0.weight_hh_l0_raw</c>, …) atomically.</summary>
    /// <param name="encoder">The encoder.</param>
    /// <param name="path">Target file.</param>
    /// <param name="vocabulary">Token strings; stored so a classifier built on another vocabulary fails clearly.</param>
    /// <param name="compact">Store the weights in bf16 (half the size; read back as fp32): a model to ship, not to resume.</param>
    public static void SaveEncoder(AwdLstmEncoder encoder, string path, IReadOnlyList<string>? vocabulary = null, bool compact = false)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        Save(encoder, path, EncoderKind, encoder.Config, encoder.VocabularySize, vocabulary, compact);
    }

    /// <summary>Loads an encoder file into <paramref name="encoder"/> by name (strict) and resets its state.</summary>
    /// <param name="encoder">Target encoder (same sizes and vocabulary size).</param>
    /// <param name="path">File written by <see cref="SaveEncoder"/>.</param>
    /// <param name="vocabulary">When both this and the file have token lists they must be identical.</param>
    public static void LoadEncoder(AwdLstmEncoder encoder, string path, IReadOnlyList<string>? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        LoadStrict(encoder, path, EncoderKind, encoder.Config, encoder.VocabularySize, vocabulary);
        encoder.Reset();
    }

    /// <summary>Saves a whole language model with its vocabulary (what <see cref="LoadPretrained(AwdLstmLanguageModel, string, IReadOnlyList{string})"/> reads).</summary>
    /// <param name="model">The model.</param>
    /// <param name="path">Target file.</param>
    /// <param name="vocabulary">Its token strings.</param>
    /// <param name="compact">Store the weights in bf16 (see <see cref="SaveEncoder"/>).</param>
    public static void SaveLanguageModel(AwdLstmLanguageModel model, string path, IReadOnlyList<string> vocabulary, bool compact = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        Save(model, path, LanguageModelKind, model.Config, model.VocabularySize, vocabulary, compact);
    }

    /// <summary>Loads a language-model file saved with the same vocabulary (strict by name).</summary>
    public static void LoadLanguageModel(AwdLstmLanguageModel model, string path, IReadOnlyList<string>? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        LoadStrict(model, path, LanguageModelKind, model.Config, model.VocabularySize, vocabulary);
        model.Reset();
    }

    // Writes every tensor of the module's state under a header that LoadStrict checks.
    private static void Save(torch.nn.Module module, string path, string kind, AwdLstmConfig config, int vocabularySize, IReadOnlyList<string>? vocabulary, bool compact)
    {
        CheckVocabulary(vocabulary, vocabularySize, nameof(vocabulary));
        var header = new WeightsHeader(kind, config.ArchitectureSignature(), vocabularySize, vocabulary);
        Dictionary<string, torch.Tensor> state = module.state_dict();
        using var scope = torch.NewDisposeScope();     // the bf16 copies only
        TensorArchive.Write(path, header, TensorArchive.Stored(state, compact));
    }

    // Reads a weights file, checks its header against the target and loads every tensor by name (strict).
    private static void LoadStrict(torch.nn.Module module, string path, string kind, AwdLstmConfig config, int vocabularySize, IReadOnlyList<string>? vocabulary)
    {
        var (header, tensors) = TensorArchive.Read<WeightsHeader>(path);
        try
        {
            CheckHeader(header, path, kind, config, vocabularySize, vocabulary);
            TensorArchive.LoadInto(module, tensors, path);
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    /// <summary>
    /// Starts <paramref name="model"/> from a pretrained language model whose vocabulary differs (fastai <c>match_embeds</c>):
    /// each new token takes its pretrained embedding row and decoder-bias entry when the pretrained vocabulary has it,
    /// otherwise the mean pretrained row and mean bias. Every other tensor is copied by key name (fastai zips by position).
    /// </summary>
    public static VocabularyMatch LoadPretrained(AwdLstmLanguageModel model, string path, IReadOnlyList<string> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (header, tensors) = TensorArchive.Read<WeightsHeader>(path);
        try
        {
            if (header.Kind != LanguageModelKind)
            {
                throw new InvalidDataException($"'{path}' holds an {header.Kind}, not a language model.");
            }
            if (header.Vocabulary is null)
            {
                throw new InvalidDataException($"'{path}' was saved without its vocabulary, so rows cannot be matched by token.");
            }
            if (header.Architecture != model.Config.ArchitectureSignature())
            {
                throw new InvalidDataException($"'{path}' was saved for '{header.Architecture}'; the model is '{model.Config.ArchitectureSignature()}'.");
            }
            return LoadPretrained(model, tensors, header.Vocabulary, vocabulary, path);
        }
        finally
        {
            DisposeAll(tensors);
        }
    }

    /// <summary>
    /// The core of <see cref="LoadPretrained(AwdLstmLanguageModel, string, IReadOnlyList{string})"/> on an in-memory state
    /// dictionary with fastai-style keys (<c>0.encoder.weight</c>, <c>0.rnns.…</c>, <c>1.decoder.bias</c>; aliases
    /// <c>0.encoder_dp.emb.weight</c>/<c>1.decoder.weight</c> and stale <c>…module.weight_hh_l0</c> are ignored).
    /// </summary>
    public static VocabularyMatch LoadPretrained(AwdLstmLanguageModel model, IReadOnlyDictionary<string, Tensor> state,
        IReadOnlyList<string> pretrainedVocabulary, IReadOnlyList<string> vocabulary, string origin = "pretrained weights")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(pretrainedVocabulary);
        CheckVocabulary(vocabulary, model.VocabularySize, nameof(vocabulary));
        const string embeddingKey = "0.encoder.weight";
        const string biasKey = "1.decoder.bias";
        if (!state.TryGetValue(embeddingKey, out Tensor? oldEmbedding))
        {
            throw new InvalidDataException($"{origin} has no '{embeddingKey}'.");
        }
        if (oldEmbedding.shape[0] != pretrainedVocabulary.Count)
        {
            throw new InvalidDataException($"{origin}: '{embeddingKey}' has {oldEmbedding.shape[0]} rows but its vocabulary {pretrainedVocabulary.Count} tokens.");
        }
        state.TryGetValue(biasKey, out Tensor? oldBias);
        if (model.Decoder.Bias is null)
        {
            oldBias = null;
        }

        var remapped = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var matchedRows = EmbeddingMatcher.MatchEmbeddings(oldEmbedding, oldBias, pretrainedVocabulary, vocabulary);
        using var scope = torch.NewDisposeScope();
        using (torch.no_grad())
        {
            remapped[embeddingKey] = matchedRows.Weights;
            if (matchedRows.Bias is not null)
            {
                remapped[biasKey] = matchedRows.Bias;
            }
            foreach (var (key, value) in state)
            {
                if (key is embeddingKey or biasKey || IsIgnorable(key, state))
                {
                    continue;
                }
                remapped[key] = value;
            }
            if (!model.Decoder.IsTied && !remapped.ContainsKey("1.decoder.weight"))
            {
                remapped["1.decoder.weight"] = remapped[embeddingKey];
            }
            if (model.Decoder.Bias is not null && !remapped.ContainsKey(biasKey))
            {
                remapped[biasKey] = torch.zeros(vocabulary.Count);
            }
            TensorArchive.LoadInto(model, remapped, origin);
        }
        model.Reset();
        return new VocabularyMatch(matchedRows.Matched, matchedRows.New);
    }

    private static bool IsIgnorable(string key, IReadOnlyDictionary<string, Tensor> state)
    {
        // fastai keeps the embedding matrix under three keys (encoder, encoder_dp.emb, tied decoder): one is enough.
        if (key is "0.encoder_dp.emb.weight" or "1.decoder.weight")
        {
            return true;
        }
        // fastai clean_raw_keys: a stale module.weight_hh_l0 whose _raw twin exists.
        const string stale = ".module.weight_hh_l0";
        return key.EndsWith(stale, StringComparison.Ordinal)
            && state.ContainsKey(key[..^stale.Length] + ".weight_hh_l0_raw");
    }

    private static void CheckHeader(WeightsHeader header, string path, string kind, AwdLstmConfig config, int vocabularySize, IReadOnlyList<string>? vocabulary)
    {
        if (header.Kind != kind)
        {
            throw new InvalidDataException($"'{path}' holds an {header.Kind}, not an {kind}.");
        }
        if (header.Architecture != config.ArchitectureSignature())
        {
            throw new InvalidDataException($"'{path}' was saved for '{header.Architecture}'; the model is '{config.ArchitectureSignature()}'.");
        }
        if (header.VocabularySize != vocabularySize)
        {
            throw new InvalidDataException($"'{path}' has a vocabulary of {header.VocabularySize} tokens; the model has {vocabularySize}. "
                + "Use the language model's vocabulary for the classifier, or LoadPretrained to match rows by token.");
        }
        if (vocabulary is not null && header.Vocabulary is not null)
        {
            for (int i = 0; i < vocabulary.Count; i++)
            {
                if (!string.Equals(vocabulary[i], header.Vocabulary[i], StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"'{path}' was saved with another vocabulary: id {i} is '{header.Vocabulary[i]}' there and '{vocabulary[i]}' here.");
                }
            }
        }
    }

    private static void CheckVocabulary(IReadOnlyList<string>? vocabulary, int size, string argument)
    {
        if (vocabulary is not null && vocabulary.Count != size)
        {
            throw new ArgumentException($"The vocabulary has {vocabulary.Count} tokens but the model {size} rows.", argument);
        }
    }

    private static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (Tensor t in tensors.Values)
        {
            t.Dispose();
        }
    }
}
