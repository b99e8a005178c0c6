using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// Import of fastai / PyTorch AWD-LSTM language-model checkpoints (the WikiText-103 <c>.pth</c> + <c>.pkl</c> pair,
/// <c>learn.save</c> files, <c>save_encoder</c> files) into the engine's state dict by name, with vocabulary
/// matching, and export of the engine's weights back to that format for <c>torch.load</c> / fastai's
/// <c>learn.load</c> / <c>language_model_learner(pretrained_fnames=…)</c>.
/// </summary>
/// <remarks>
/// fastai loads pretrained tensors by position (zipping key orders); this loads them by name through
/// <see cref="FastAiKeyMap"/>, so a layout mismatch is an error naming the key instead of silently wrong weights.
/// </remarks>
internal static class FastAiCheckpoint
{
    /// <summary>
    /// Reads a fastai checkpoint and, when <paramref name="vocabularyPath"/> and <paramref name="vocabulary"/> are
    /// given, re-indexes the embedding (and its aliases) and the decoder bias for <paramref name="vocabulary"/>
    /// (fastai <c>match_embeds</c>). Accepts a bare state dict or <c>{'model': …, 'opt': …}</c>.
    /// </summary>
    /// <param name="weightsPath">The <c>.pth</c> file.</param>
    /// <param name="vocabularyPath">fastai's pickled vocabulary list for those weights, or null to skip matching.</param>
    /// <param name="vocabulary">The vocabulary of the model being initialised, or null to skip matching.</param>
    /// <param name="keyMap">The key layout; default <see cref="FastAiKeyMap.LanguageModel"/> with 3 layers.</param>
    public static FastAiPretrainedWeights Read(string weightsPath, string? vocabularyPath = null,
        IReadOnlyList<string>? vocabulary = null, FastAiKeyMap? keyMap = null)
    {
        if ((vocabularyPath is null) != (vocabulary is null))
        {
            throw new ArgumentException("Vocabulary matching needs both the pretrained vocabulary file and the new vocabulary.",
                vocabularyPath is null ? nameof(vocabularyPath) : nameof(vocabulary));
        }
        keyMap ??= FastAiKeyMap.LanguageModel();
        var pretrainedVocabulary = vocabularyPath is null ? null : FastAiVocabularyFile.Read(vocabularyPath);
        var file = PyTorchCheckpointFile.Read(weightsPath);
        var owned = new List<Tensor>();
        try
        {
            var source = file.Tensors;
            var dropped = new List<string>();
            var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (key, tensor) in file.Entries)
            {
                if (FastAiKeyMap.IsStaleRawCopy(key, source.ContainsKey))
                {
                    dropped.Add(key);
                }
                else if (!keyMap.Aliases.ContainsKey(key))
                {
                    tensors[key] = tensor;
                }
            }
            int matched = 0, added = 0;
            if (pretrainedVocabulary is not null && vocabulary is not null)
            {
                var embedding = tensors.GetValueOrDefault(keyMap.EmbeddingKey) ?? throw new PretrainedWeightsException(
                    weightsPath, keyMap.EmbeddingKey, "missing: the embedding matrix is needed to match vocabularies");
                if (embedding.dim() != 2 || embedding.shape[0] != pretrainedVocabulary.Count)
                {
                    throw new PretrainedWeightsException(weightsPath, keyMap.EmbeddingKey,
                        $"shape [{string.Join(", ", embedding.shape)}] does not fit the {pretrainedVocabulary.Count} tokens of " +
                        $"{vocabularyPath}");
                }
                Tensor? bias = keyMap.DecoderBiasKey is { } biasKey ? tensors.GetValueOrDefault(biasKey) : null;
                var match = EmbeddingMatcher.MatchEmbeddings(embedding, bias, pretrainedVocabulary, vocabulary);
                owned.Add(match.Weights);
                // fastai writes the matched matrix to the embedding and to the tied decoder weight (and to
                // encoder_dp.emb, which is an alias here); the decoder weight of an untied source is replaced too.
                tensors[keyMap.EmbeddingKey] = match.Weights;
                if (tensors.ContainsKey("1.decoder.weight"))
                {
                    tensors["1.decoder.weight"] = match.Weights;
                }
                if (match.Bias is not null)
                {
                    owned.Add(match.Bias);
                    tensors[keyMap.DecoderBiasKey!] = match.Bias;
                }
                matched = match.Matched;
                added = match.New;
            }
            return new FastAiPretrainedWeights(file, tensors, owned, pretrainedVocabulary, matched, added, dropped);
        }
        catch
        {
            foreach (var tensor in owned)
            {
                tensor.Dispose();
            }
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies <paramref name="weights"/> into <paramref name="target"/> (an engine state dict, e.g.
    /// <c>model.state_dict()</c>) by name through <paramref name="keyMap"/>, in place and without gradient.
    /// </summary>
    /// <param name="weights">From <see cref="Read"/>.</param>
    /// <param name="target">Engine key → the model's own tensor (parameters and buffers), written in place.</param>
    /// <param name="keyMap">The key layout; default <see cref="FastAiKeyMap.LanguageModel"/> with 3 layers.</param>
    /// <param name="strict">When true (fastai <c>load_encoder</c>'s behaviour), a target key without a source
    /// tensor or a source tensor without a target key is an error; when false they are reported instead (e.g. to
    /// load a language model's encoder part into a classifier).</param>
    /// <exception cref="PretrainedWeightsException">Missing/unexpected key (strict) or a shape mismatch.</exception>
    public static PretrainedImportReport LoadInto(FastAiPretrainedWeights weights, IReadOnlyDictionary<string, Tensor> target,
        FastAiKeyMap? keyMap = null, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(target);
        keyMap ??= FastAiKeyMap.LanguageModel();
        string path = weights.Path;
        var plan = new List<(string EngineKey, Tensor Destination, Tensor Source)>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var (engineKey, destination) in target)
        {
            string? fastAiKey = keyMap.ToFastAi(engineKey);
            if (fastAiKey is null)
            {
                fastAiKey = keyMap.Aliases.GetValueOrDefault(engineKey);
            }
            if (fastAiKey is null || !weights.Tensors.TryGetValue(fastAiKey, out Tensor? source))
            {
                missing.Add(engineKey);
                continue;
            }
            if (!destination.shape.SequenceEqual(source.shape))
            {
                throw new PretrainedWeightsException(path, fastAiKey,
                    $"shape [{string.Join(", ", source.shape)}] in the checkpoint, [{string.Join(", ", destination.shape)}] " +
                    $"in the model (engine key '{engineKey}')");
            }
            used.Add(fastAiKey);
            plan.Add((engineKey, destination, source));
        }
        var ignored = weights.Tensors.Keys.Where(k => !used.Contains(k) && !IsTiedDecoderCopy(k, weights, used, keyMap))
            .ToList();
        if (strict && missing.Count > 0)
        {
            throw new PretrainedWeightsException(path, missing[0],
                $"the model has {missing.Count} key(s) the checkpoint lacks: {string.Join(", ", missing)}");
        }
        if (strict && ignored.Count > 0)
        {
            throw new PretrainedWeightsException(path, ignored[0],
                $"the checkpoint has {ignored.Count} key(s) the model lacks: {string.Join(", ", ignored)}");
        }
        using (torch.no_grad())
        {
            foreach (var (_, destination, source) in plan)
            {
                destination.copy_(source);
            }
        }
        return new PretrainedImportReport(weights.Matched, weights.New, weights.DroppedStaleKeys, ignored,
            plan.Select(p => p.EngineKey).ToList());
    }

    /// <summary>
    /// Writes <paramref name="stateDictionary"/> (engine keys) as a fastai language-model checkpoint: fastai's keys
    /// in fastai's order, <c>0.encoder_dp.emb.weight</c> and (when tied) <c>1.decoder.weight</c> as entries sharing the
    /// embedding's storage, exactly like <c>torch.save(learn.model.state_dict())</c>; plus the pickled vocabulary list.
    /// Both files are written atomically.
    /// </summary>
    /// <param name="stateDictionary">Engine key → tensor (e.g. <c>model.state_dict()</c>).</param>
    /// <param name="vocabulary">The model's vocabulary (id = position); its size must equal the embedding rows.</param>
    /// <param name="weightsPath">Target <c>.pth</c>.</param>
    /// <param name="vocabularyPath">Target <c>.pkl</c>, or null to skip it.</param>
    /// <param name="keyMap">The key layout; default <see cref="FastAiKeyMap.LanguageModel"/> with 3 layers.</param>
    /// <exception cref="PretrainedWeightsException">A key outside the layout, a missing key, or a vocabulary size mismatch.</exception>
    public static void Write(IEnumerable<KeyValuePair<string, Tensor>> stateDictionary, IReadOnlyList<string> vocabulary,
        string weightsPath, string? vocabularyPath = null, FastAiKeyMap? keyMap = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        WriteCore(stateDictionary, vocabulary, weightsPath, vocabularyPath, keyMap ?? FastAiKeyMap.LanguageModel());
    }

    private static void WriteCore(IEnumerable<KeyValuePair<string, Tensor>> stateDictionary, IReadOnlyList<string>? vocabulary,
        string weightsPath, string? vocabularyPath, FastAiKeyMap keyMap)
    {
        ArgumentNullException.ThrowIfNull(stateDictionary);
        ArgumentException.ThrowIfNullOrEmpty(weightsPath);
        var byFastAiKey = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (engineKey, tensor) in stateDictionary)
        {
            string fastAiKey = keyMap.ToFastAi(engineKey) ?? (keyMap.Aliases.ContainsKey(engineKey) ? engineKey : null)
                ?? throw new PretrainedWeightsException(weightsPath, engineKey,
                    "the engine key has no fastai equivalent in the key map (wrong layer count or not a language model?)");
            byFastAiKey[fastAiKey] = tensor;
        }
        var embedding = byFastAiKey.GetValueOrDefault(keyMap.EmbeddingKey);
        if (vocabulary is not null)
        {
            if (embedding is null)
            {
                throw new PretrainedWeightsException(weightsPath, keyMap.EmbeddingKey, "missing from the state dict to export");
            }
            if (embedding.dim() != 2 || embedding.shape[0] != vocabulary.Count)
            {
                throw new PretrainedWeightsException(weightsPath, keyMap.EmbeddingKey,
                    $"shape [{string.Join(", ", embedding.shape)}] does not fit the vocabulary of {vocabulary.Count} tokens");
            }
        }
        var ordered = new List<KeyValuePair<string, Tensor>>();
        foreach (var (fastAiKey, _) in keyMap.Entries)
        {
            var tensor = byFastAiKey.GetValueOrDefault(fastAiKey);
            if (tensor is null && fastAiKey == "1.decoder.weight")
            {
                tensor = embedding; // tied decoder not listed separately by the engine
            }
            if (tensor is null)
            {
                throw new PretrainedWeightsException(weightsPath, fastAiKey, "missing from the state dict to export");
            }
            ordered.Add(new(fastAiKey, tensor));
            foreach (var (alias, canonical) in keyMap.Aliases)
            {
                if (canonical == fastAiKey)
                {
                    // fastai's EmbeddingDropout holds the same matrix: written as a second entry of the same storage.
                    ordered.Add(new(alias, byFastAiKey.GetValueOrDefault(alias) ?? tensor));
                }
            }
        }
        PyTorchCheckpointFile.Write(weightsPath, ordered);
        if (vocabularyPath is not null && vocabulary is not null)
        {
            FastAiVocabularyFile.Write(vocabularyPath, vocabulary);
        }
    }

    private static bool AllEqual(Tensor first, Tensor second)
    {
        using var scope = torch.NewDisposeScope();
        return first.eq(second).all().item<bool>();
    }

    /// <summary>
    /// Starts <paramref name="model"/> from a fastai language-model checkpoint — e.g. fastai's WikiText-103 weights
    /// (<c>lstm_fwd.pth</c> + <c>itos_wt103.pkl</c>) or a <c>learn.save</c> file — by name, with fastai's
    /// <c>match_embeds</c>: each token of <paramref name="vocabulary"/> takes its pretrained embedding row and decoder
    /// bias, new tokens the mean row and bias. Then resets the model's state.
    /// </summary>
    /// <param name="model">The engine model (its layer sizes must equal the checkpoint's).</param>
    /// <param name="weightsPath">The <c>.pth</c> (zip or legacy; bare state dict or <c>{'model': …}</c>).</param>
    /// <param name="vocabularyPath">The pickled vocabulary list the weights were trained with.</param>
    /// <param name="vocabulary">The model's vocabulary; null or equal to the pretrained one for an exact reload (every
    /// tensor by name, fastai <c>learn.load</c>), otherwise rows are matched by token.</param>
    /// <returns>How many tokens were matched and how many were new.</returns>
    /// <exception cref="PretrainedWeightsException">A file is not a checkpoint / vocabulary list, or (exact reload) a key
    /// or shape does not match.</exception>
    /// <exception cref="InvalidDataException">With vocabulary matching: the checkpoint's keys or shapes do not match the model (message names
    /// the file and keys; raised by <see cref="ModelWeights.LoadPretrained(AwdLstmLanguageModel, IReadOnlyDictionary{string, Tensor}, IReadOnlyList{string}, IReadOnlyList{string}, string)"/>).</exception>
    public static VocabularyMatch ImportLanguageModel(AwdLstmLanguageModel model, string weightsPath, string vocabularyPath,
        IReadOnlyList<string>? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var pretrainedVocabulary = FastAiVocabularyFile.Read(vocabularyPath);
        if (vocabulary is null || vocabulary.SequenceEqual(pretrainedVocabulary, StringComparer.Ordinal))
        {
            // Same vocabulary: an exact reload (fastai learn.load), which keeps an untied decoder's own weight —
            // match_embeds would overwrite it with the embedding.
            if (pretrainedVocabulary.Count != model.VocabularySize)
            {
                throw new PretrainedWeightsException(vocabularyPath, null,
                    $"{pretrainedVocabulary.Count} tokens, but the model has {model.VocabularySize} embedding rows");
            }
            var map = FastAiKeyMap.LanguageModel(model.Config.Layers, model.Config.OutputBias);
            using var scope = torch.NewDisposeScope();
            using var weights = Read(weightsPath, keyMap: map);
            LoadInto(weights, model.state_dict(), map);
            model.Reset();
            return new VocabularyMatch(pretrainedVocabulary.Count, 0);
        }
        using var state = PyTorchCheckpointFile.Read(weightsPath);
        return ModelWeights.LoadPretrained(model, state.Tensors, pretrainedVocabulary, vocabulary, weightsPath);
    }

    /// <summary>
    /// Writes <paramref name="model"/> as fastai would save it (<c>torch.save(learn.model.state_dict())</c>: fastai's
    /// keys and order, tied/duplicate entries sharing one storage) plus its pickled vocabulary list, so PyTorch can
    /// <c>torch.load</c> it and fastai can use the pair as <c>pretrained_fnames</c> or load it with <c>learn.load</c>.
    /// </summary>
    /// <param name="model">The engine model.</param>
    /// <param name="vocabulary">Its vocabulary (id = position).</param>
    /// <param name="weightsPath">Target <c>.pth</c>, written atomically.</param>
    /// <param name="vocabularyPath">Target <c>.pkl</c>, written atomically; null to skip.</param>
    public static void ExportLanguageModel(AwdLstmLanguageModel model, IReadOnlyList<string> vocabulary, string weightsPath,
        string? vocabularyPath = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var map = FastAiKeyMap.LanguageModel(model.Config.Layers, model.Config.OutputBias);
        using var scope = torch.NewDisposeScope();
        Write(model.state_dict(), vocabulary, weightsPath, vocabularyPath, map);
    }

    /// <summary>
    /// Loads a fastai <c>save_encoder</c> file (the AWD_LSTM's state dict) into <paramref name="encoder"/> by name,
    /// strictly (fastai <c>load_encoder</c>), then resets its state. The vocabulary must be the one it was trained with.
    /// </summary>
    /// <exception cref="PretrainedWeightsException">Not a checkpoint, or a missing/unexpected key or shape mismatch.</exception>
    public static PretrainedImportReport ImportEncoder(AwdLstmEncoder encoder, string encoderPath)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var map = FastAiKeyMap.Encoder(encoder.Config.Layers);
        using var scope = torch.NewDisposeScope();
        using var weights = Read(encoderPath, keyMap: map);
        var report = LoadInto(weights, encoder.state_dict(), map);
        encoder.Reset();
        return report;
    }

    /// <summary>Writes <paramref name="encoder"/> as fastai's <c>save_encoder</c> does (keys without <c>0.</c>).</summary>
    /// <param name="encoder">The engine encoder.</param>
    /// <param name="vocabulary">Its vocabulary; only checked against the embedding rows (fastai stores none with an encoder).</param>
    /// <param name="encoderPath">Target <c>.pth</c>, written atomically.</param>
    public static void ExportEncoder(AwdLstmEncoder encoder, IReadOnlyList<string> vocabulary, string encoderPath)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var map = FastAiKeyMap.Encoder(encoder.Config.Layers);
        using var scope = torch.NewDisposeScope();
        Write(encoder.state_dict(), vocabulary, encoderPath, null, map);
    }

    /// <summary>
    /// Loads any fastai / PyTorch state dict into <paramref name="module"/> by name, for engine modules whose keys mirror
    /// fastai's (language model, encoder, classifier <c>0.module.…</c> / <c>1.layers.…</c>): fastai's alias entries
    /// (<c>…encoder_dp.emb.weight</c>, a tied <c>1.decoder.weight</c>) and stale <c>…module.weight_hh_l0</c> copies are
    /// accepted. No vocabulary matching: the module must have the checkpoint's vocabulary (fastai <c>learn.load</c>).
    /// </summary>
    /// <param name="module">The engine module; its tensors are overwritten in place.</param>
    /// <param name="path">The <c>.pth</c> (zip or legacy; bare state dict or <c>{'model': …}</c>).</param>
    /// <param name="strict">Whether missing or unexpected keys are errors (otherwise reported).</param>
    /// <exception cref="PretrainedWeightsException">Not a checkpoint, or a key or shape mismatch.</exception>
    public static PretrainedImportReport ImportStateDictionary(nn.Module module, string path, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = torch.NewDisposeScope();
        return ImportStateDictionary(module.state_dict(), path, strict);
    }

    /// <summary>As <see cref="ImportStateDictionary(nn.Module, string, bool)"/>, into a state dict (engine key → the
    /// tensor to overwrite in place).</summary>
    public static PretrainedImportReport ImportStateDictionary(IReadOnlyDictionary<string, Tensor> target, string path,
        bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(target);
        var map = FastAiKeyMap.ForEngineKeys(target.Keys);
        using var weights = Read(path, keyMap: map);
        return LoadInto(weights, target, map, strict);
    }

    /// <summary>
    /// Writes <paramref name="module"/>'s state dict under its own (fastai-mirroring) keys, adding fastai's alias entries
    /// that share storage (<c>…encoder_dp.emb.weight</c>, a tied <c>1.decoder.weight</c>), so the file loads strictly
    /// into the corresponding fastai model with <c>load_state_dict</c>.
    /// </summary>
    /// <param name="module">The engine module.</param>
    /// <param name="path">Target <c>.pth</c>, written atomically.</param>
    public static void ExportStateDictionary(nn.Module module, string path)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = torch.NewDisposeScope();
        ExportStateDictionary(module.state_dict(), path);
    }

    /// <summary>As <see cref="ExportStateDictionary(nn.Module, string)"/>, for a state dict (engine key → tensor).</summary>
    public static void ExportStateDictionary(IReadOnlyDictionary<string, Tensor> stateDictionary, string path)
    {
        ArgumentNullException.ThrowIfNull(stateDictionary);
        WriteCore(stateDictionary, null, path, null, FastAiKeyMap.ForEngineKeys(stateDictionary.Keys));
    }

    /// <summary>A tied decoder weight the target lists only once (as the embedding) is not an unexpected key.</summary>
    private static bool IsTiedDecoderCopy(string key, FastAiPretrainedWeights weights, HashSet<string> used, FastAiKeyMap keyMap) =>
        key == "1.decoder.weight" && used.Contains(keyMap.EmbeddingKey) &&
        weights.Tensors.TryGetValue(key, out var decoder) && weights.Tensors.TryGetValue(keyMap.EmbeddingKey, out var embedding) &&
        (ReferenceEquals(decoder, embedding) || (decoder.shape.SequenceEqual(embedding.shape) && AllEqual(decoder, embedding)));
}
