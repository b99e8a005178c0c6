using System.Globalization;
using FastText.Engine.Text;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// Bridges fastai's pretrained files and the pipeline's saved language models: find fastai's pair
/// (<see cref="ResolvePair"/>), read its sizes (<see cref="InferLanguageModel"/>), convert it into a
/// <see cref="LanguageModelArtifact"/> folder, and export a saved language model back to fastai's pair.
/// <c>UlmfitPipeline.FineTune(string, …)</c> and the CLI's <c>fine-tune --pretrained</c> take the pair directly and
/// convert on the fly.
/// </summary>
public static class FastAiArtifacts
{
    /// <summary>
    /// Reads the AWD-LSTM sizes of a fastai language-model state dict: embedding size and vocabulary size from
    /// <c>0.encoder.weight</c>, the layer count from the <c>0.rnns.N</c> keys, the inner size from layer 0, and whether the
    /// decoder has a bias. Dropouts are fastai's language-model preset (they are not stored in a checkpoint).
    /// </summary>
    /// <exception cref="PretrainedWeightsException">The state dict is not an AWD-LSTM language model.</exception>
    public static (AwdLstmConfig Config, int VocabularySize) InferLanguageModel(PyTorchStateDictionary state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var tensors = state.Tensors;
        if (!tensors.TryGetValue("0.encoder.weight", out Tensor? embedding) || embedding.dim() != 2)
        {
            // Say what the file is when it is another fastai layout, so the user can pick the right file.
            string hint = tensors.ContainsKey("encoder.weight") ? " (its keys have no '0.' prefix: a save_encoder file, which has no decoder; use the whole language model, learn.save or fastai's lstm_fwd.pth)"
                : tensors.ContainsKey("0.module.encoder.weight") ? " (its keys start '0.module.': a text-classifier checkpoint)"
                : "";
            throw new PretrainedWeightsException(state.Path, "0.encoder.weight",
                "missing or not a matrix: not a fastai AWD-LSTM language model" + hint);
        }
        int layers = 0;
        while (tensors.ContainsKey(string.Create(CultureInfo.InvariantCulture, $"0.rnns.{layers}.weight_hh_l0_raw")))
        {
            layers++;
        }
        if (layers == 0)
        {
            throw new PretrainedWeightsException(state.Path, "0.rnns.0.weight_hh_l0_raw",
                "missing: not a fastai AWD-LSTM language model");
        }
        // Layer 0's hidden-to-hidden matrix is (4H, H); with one layer H is the embedding size.
        int hidden = (int)tensors["0.rnns.0.weight_hh_l0_raw"].shape[1];
        var config = AwdLstmConfig.LanguageModel with
        {
            EmbeddingSize = (int)embedding.shape[1],
            HiddenSize = hidden,
            Layers = layers,
            OutputBias = tensors.ContainsKey("1.decoder.bias"),
        };
        return (config, (int)embedding.shape[0]);
    }

    /// <summary>
    /// Finds fastai's pretrained pair (<c>pretrained_fnames</c> = [weights, vocabulary]) from what a user gives: a
    /// <c>.pth</c> file (the extension may be left out, as in fastai's names), or a folder holding exactly one
    /// <c>.pth</c> (e.g. fastai's unpacked <c>wt103-fwd</c>). The vocabulary is <paramref name="vocabularyPath"/> when
    /// given (<c>.pkl</c> may be left out), else the <c>.pkl</c> beside the weights: <c>&lt;name&gt;.pkl</c>,
    /// <c>&lt;name&gt;_vocab.pkl</c> (what <see cref="ExportLanguageModel"/> users write), or the folder's only <c>.pkl</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">No weights file, or no (or no unambiguous) vocabulary file; the message
    /// names what was looked for and where.</exception>
    public static (string WeightsPath, string VocabularyPath) ResolvePair(string weights, string? vocabularyPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(weights);
        string weightsPath = ResolveWeights(weights);
        if (vocabularyPath is not null)
        {
            if (File.Exists(vocabularyPath))
            {
                return (weightsPath, vocabularyPath);
            }
            if (File.Exists(vocabularyPath + ".pkl"))
            {
                return (weightsPath, vocabularyPath + ".pkl");
            }
            throw new FileNotFoundException($"The vocabulary file '{vocabularyPath}' for '{weightsPath}' does not exist.", vocabularyPath);
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(weightsPath))!;
        string stem = Path.GetFileNameWithoutExtension(weightsPath);
        foreach (string name in new[] { stem + ".pkl", stem + "_vocab.pkl", stem + "-vocab.pkl" })
        {
            string candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return (weightsPath, candidate);
            }
        }
        string[] pickles = Directory.GetFiles(folder, "*.pkl").Order(StringComparer.Ordinal).ToArray();
        return pickles.Length switch
        {
            1 => (weightsPath, pickles[0]),
            0 => throw new FileNotFoundException(
                $"No vocabulary for '{weightsPath}': fastai's pretrained weights come with a pickled vocabulary list (e.g. itos_wt103.pkl) and there is no .pkl in '{folder}'. Give it with --pretrained-vocab.",
                Path.Combine(folder, stem + ".pkl")),
            _ => throw new FileNotFoundException(
                $"Which vocabulary belongs to '{weightsPath}'? '{folder}' has {pickles.Length} .pkl files ({string.Join(", ", pickles.Select(Path.GetFileName))}) and none is named {stem}.pkl or {stem}_vocab.pkl. Give it with --pretrained-vocab.",
                Path.Combine(folder, stem + ".pkl")),
        };
    }

    private static string ResolveWeights(string weights)
    {
        if (File.Exists(weights))
        {
            return weights;
        }
        if (Directory.Exists(weights))
        {
            string[] checkpoints = Directory.GetFiles(weights, "*.pth").Order(StringComparer.Ordinal).ToArray();
            return checkpoints.Length == 1 ? checkpoints[0] : throw new FileNotFoundException(
                $"'{weights}' is neither a saved language-model folder (no model.json) nor a folder with one fastai .pth ({checkpoints.Length.ToString(CultureInfo.InvariantCulture)} found); name the weights file.", weights);
        }
        if (File.Exists(weights + ".pth"))
        {
            return weights + ".pth";
        }
        throw new FileNotFoundException($"The pretrained weights '{weights}' do not exist (nor '{weights}.pth').", weights);
    }

    /// <summary>
    /// Converts fastai's pretrained pair (e.g. <c>lstm_fwd.pth</c> + <c>itos_wt103.pkl</c>) into a language-model
    /// folder of the pipeline, keeping fastai's vocabulary; fine-tuning from it then matches rows by token.
    /// </summary>
    /// <param name="weightsPath">fastai's <c>.pth</c>.</param>
    /// <param name="vocabularyPath">fastai's pickled vocabulary list.</param>
    /// <param name="folder">The artifact folder to write.</param>
    public static LanguageModelArtifact ImportLanguageModel(string weightsPath, string vocabularyPath, string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var tokens = FastAiVocabularyFile.Read(vocabularyPath);
        AwdLstmConfig config;
        int vocabularySize;
        using (var state = PyTorchCheckpointFile.Read(weightsPath))
        {
            (config, vocabularySize) = InferLanguageModel(state);
        }
        if (vocabularySize != tokens.Count)
        {
            throw new PretrainedWeightsException(weightsPath, "0.encoder.weight",
                $"{vocabularySize} embedding rows, but {vocabularyPath} lists {tokens.Count} tokens");
        }
        using var model = new AwdLstmLanguageModel(tokens.Count, config);
        FastAiCheckpoint.ImportLanguageModel(model, weightsPath, vocabularyPath);
        return LanguageModelArtifact.Save(folder, model, Vocabulary.FromTokens(tokens), Tokenization.Words, maxTokens: 0);
    }

    /// <summary>Writes a saved language model as fastai's pair (<c>.pth</c> state dict + pickled vocabulary).</summary>
    /// <param name="artifact">A folder written by the pipeline.</param>
    /// <param name="weightsPath">Target <c>.pth</c>.</param>
    /// <param name="vocabularyPath">Target <c>.pkl</c>.</param>
    public static void ExportLanguageModel(LanguageModelArtifact artifact, string weightsPath, string vocabularyPath)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        using var model = artifact.LoadModel();
        FastAiCheckpoint.ExportLanguageModel(model, artifact.Vocabulary.Tokens, weightsPath, vocabularyPath);
    }
}
