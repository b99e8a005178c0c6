using System.Globalization;
using FastText.Engine.Pipeline;
using FastText.Engine.Text;
using static TorchSharp.torch;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// Bridges fastai's pretrained files and the pipeline's saved language models: convert fastai's WikiText-103 pair into
/// a <see cref="LanguageModelArtifact"/> folder (what <c>UlmfitPipeline.FineTune</c> and the CLI's
/// <c>fine-tune --pretrained &lt;folder&gt;</c> start from), and export a saved language model back to fastai's pair.
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
            throw new PretrainedWeightsException(state.Path, "0.encoder.weight",
                "missing or not a matrix: not a fastai AWD-LSTM language model");
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
        return LanguageModelArtifact.Save(folder, model, Vocabulary.FromTokens(tokens), maxTokens: 0);
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
