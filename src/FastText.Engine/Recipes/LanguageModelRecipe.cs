using System.Globalization;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Models.Pretrained;
using FastText.Engine.Reporting;
using FastText.Engine.Text;
using FastText.Engine.Training;
using TorchSharp;

namespace FastText.Engine.Recipes;

// The language-model half of the recipe (fastbook chapter 10): pretrain on general text, then fine-tune on the task's
// text with a frozen epoch first.
public sealed partial class UlmfitPipeline
{
    /// <summary>Trains a language model from scratch (fastai <c>fit_one_cycle(epochs, lr)</c>) and saves <c>models/&lt;name&gt;</c>.</summary>
    public LanguageModelArtifact Pretrain(TextDataset corpus, string name = "pretrained")
    {
        ArgumentNullException.ThrowIfNull(corpus);
        StageCheckpoints stage = Stage(name, "pretrain", StageKey(corpus, "pretrain"));
        if (Reused(stage, name, LanguageModelArtifact.Open) is { } reused)
        {
            return reused;
        }
        torch.manual_seed(Preset.Seed + PretrainSeedOffset);
        using var model = new AwdLstmLanguageModel(corpus.Vocabulary.Count, Preset.LanguageModel) { Precision = Preset.Precision };
        RunLanguageModel(model, corpus, corpus.Training, corpus.Validation, stage, null,
            [("pretrain", (learner, fit) => learner.FitOneCycle(Preset.PretrainEpochs, LearningRates.Uniform(Preset.PretrainLearningRate), fit, Cancellation))]);
        return Completed(stage, LanguageModelArtifact.Save(ArtifactFolder(name), model, corpus.Vocabulary, corpus.Tokenization, corpus.MaxTokens, Backwards));
    }

    /// <summary>
    /// Fine-tunes <paramref name="pretrained"/> on <paramref name="corpus"/> (its vocabulary matched token by token,
    /// fastai <c>match_embeds</c>): one frozen cycle (only embedding/decoder), then unfrozen cycles; saves the model
    /// and its encoder into <c>models/&lt;name&gt;</c>. Runs the learning-rate finder first when <paramref name="findLearningRate"/>.
    /// </summary>
    /// <exception cref="PretrainedWeightsException">The pretrained model's sizes are not the preset's.</exception>
    /// <exception cref="InvalidDataException">The pretrained model and the corpus were tokenized differently (word vs
    /// subword, or two SentencePiece models), or the pretrained model reads text in the other direction than
    /// <see cref="Backwards"/>; the message names both.</exception>
    public LanguageModelArtifact FineTune(LanguageModelArtifact pretrained, TextDataset corpus, string name = "finetuned", bool findLearningRate = true)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        ArgumentNullException.ThrowIfNull(corpus);
        pretrained.Tokenization.EnsureSameAs(corpus.Tokenization, $"the pretrained language model '{pretrained.Folder}'", $"the corpus '{corpus.Folder}'");
        pretrained.EnsureDirection(Backwards, "the pretrained language model", ThisRun);
        CheckPretrainedSizes(pretrained.Card.Config, pretrained.Folder);
        return RunFineTune(model => ModelWeights.LoadPretrained(model, pretrained.WeightsPath, corpus.Vocabulary.Tokens), corpus, name, findLearningRate,
            $"pretrained {FileStamp(pretrained.WeightsPath)} vocabulary {pretrained.Vocabulary.Hash:x16}");
    }

    /// <summary>
    /// Fine-tunes from <paramref name="pretrained"/>: a language-model folder of this pipeline, or fastai's pretrained
    /// pair (<c>pretrained_fnames</c>: a <c>.pth</c> such as WikiText-103's <c>lstm_fwd.pth</c>, a <c>learn.save</c>
    /// file, or a folder holding one <c>.pth</c>; with its pickled vocabulary <paramref name="pretrainedVocabulary"/>, or
    /// the <c>.pkl</c> found beside it, see <see cref="FastAiArtifacts.ResolvePair"/>). fastai weights are converted on
    /// the fly, by key name, with the rows matched to <paramref name="corpus"/>'s vocabulary token by token; nothing is
    /// written besides the fine-tuned model. fastai's weights record no direction: they are taken to read text in this
    /// run's direction (<see cref="Backwards"/>). fastai publishes WikiText-103 as two downloads, <c>AWD_LSTM</c>'s
    /// <c>url</c> (<c>lstm_fwd.pth</c>) and <c>url_bwd</c> (<c>lstm_bwd.pth</c>), and its <c>language_model_learner</c>
    /// takes the second for backwards data; give a backwards run the backward file, nothing here can tell them apart.
    /// </summary>
    /// <exception cref="FileNotFoundException">The weights or their vocabulary were not found (the message says where it looked).</exception>
    /// <exception cref="PretrainedWeightsException">Not a fastai AWD-LSTM language model (a key is missing), the
    /// vocabulary does not fit the embedding, or the sizes are not the preset's (the message names a preset that fits).</exception>
    /// <exception cref="InvalidDataException">The checkpoint's keys or shapes do not match the model (missing/unexpected keys named),
    /// or the vocabulary is word-level and the corpus subword (or the reverse).</exception>
    public LanguageModelArtifact FineTune(string pretrained, TextDataset corpus, string name = "finetuned", bool findLearningRate = true,
        string? pretrainedVocabulary = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(pretrained);
        ArgumentNullException.ThrowIfNull(corpus);
        if (Directory.Exists(pretrained) && File.Exists(Path.Combine(pretrained, "model.json")))
        {
            if (pretrainedVocabulary is not null)
            {
                throw new ArgumentException($"'{pretrained}' is a saved language-model folder with its own vocabulary; a separate vocabulary file only goes with fastai weights (.pth).", nameof(pretrainedVocabulary));
            }
            return FineTune(LanguageModelArtifact.Open(pretrained), corpus, name, findLearningRate);
        }
        var (weightsPath, vocabularyPath) = FastAiArtifacts.ResolvePair(pretrained, pretrainedVocabulary);
        IReadOnlyList<string> tokens = FastAiVocabularyFile.Read(vocabularyPath);
        using PyTorchStateDictionary state = PyTorchCheckpointFile.Read(weightsPath);
        var (config, rows) = FastAiArtifacts.InferLanguageModel(state);
        if (rows != tokens.Count)
        {
            throw new PretrainedWeightsException(weightsPath, "0.encoder.weight",
                $"{rows:N0} embedding rows, but the vocabulary '{vocabularyPath}' lists {tokens.Count:N0} tokens: they are not a pair");
        }
        // fastai's pair carries no SentencePiece model; its vocabulary shows whether it was trained on pieces. Two
        // SentencePiece vocabularies are matched piece by piece, like words.
        bool subwordVocabulary = Tokenization.LooksLikeSentencePiece(tokens);
        if (subwordVocabulary != corpus.Tokenization.IsSubword)
        {
            throw new InvalidDataException(
                $"Tokenization mismatch: the fastai weights '{weightsPath}' come with {(subwordVocabulary ? "a SentencePiece" : "a word-level")} vocabulary ('{vocabularyPath}'), but the corpus '{corpus.Folder}' uses {corpus.Tokenization.Description}; the same text would map to other ids.");
        }
        CheckPretrainedSizes(config, weightsPath);
        string source = FormattableString.Invariant(
            $"fastai weights {Path.GetFileName(weightsPath)} + vocabulary {Path.GetFileName(vocabularyPath)} ({tokens.Count:N0} tokens), converted on the fly, taken as {ModelArtifact.DirectionName(Backwards)} (the file records no direction)");
        Report.AddSetting("pretrained", source);
        Progress.Log($"pretrained: {source}");
        return RunFineTune(model => ModelWeights.LoadPretrained(model, state.Tensors, tokens, corpus.Vocabulary.Tokens, weightsPath), corpus, name, findLearningRate,
            $"fastai weights {FileStamp(weightsPath)}");
    }

    private LanguageModelArtifact RunFineTune(Func<AwdLstmLanguageModel, VocabularyMatch> loadPretrained, TextDataset corpus, string name, bool findLearningRate,
        string source)
    {
        StageCheckpoints stage = Stage(name, "fine-tune", StageKey(corpus, $"fine-tune from {source}"));
        if (Reused(stage, name, LanguageModelArtifact.Open) is { } reused)
        {
            return reused;
        }
        torch.manual_seed(Preset.Seed + FineTuneSeedOffset);
        using var model = new AwdLstmLanguageModel(corpus.Vocabulary.Count, Preset.LanguageModel) { Precision = Preset.Precision };
        VocabularyMatch match = loadPretrained(model);
        Report.AddSetting("vocabulary match", FormattableString.Invariant($"{match.Matched:N0} tokens from the pretrained model, {match.New:N0} new (mean embedding)"));
        (IReadOnlyList<int> lmTraining, IReadOnlyList<int> lmValidation) = Preset.FineTuneOnAllText
            ? SplitAllText(corpus.DocumentCount, Preset.LanguageModelValidationShare, Preset.Seed)
            : (corpus.Training, corpus.Validation);
        if (Preset.FineTuneOnAllText)
        {
            Report.AddSetting("fine-tuning text", FormattableString.Invariant(
                $"all {corpus.DocumentCount:N0} documents' text, labels unused (fastbook: IMDb train + test + unsup): {lmTraining.Count:N0} train / {lmValidation.Count:N0} LM-validation docs, a seeded random split"));
        }
        RunLanguageModel(model, corpus, lmTraining, lmValidation, stage,
            learner =>
            {
                learner.Freeze();
                if (findLearningRate && !stage.Resuming)    // (a resumed run continues with the rates it started with)
                {
                    FindLearningRate(learner, "fine-tune (frozen)");
                }
            },
            [
                ($"fine-tune · freeze() · lr {Preset.FineTuneFrozenLearningRate.ToString(CultureInfo.InvariantCulture)}", (learner, fit) =>
                {
                    learner.Freeze();
                    learner.FitOneCycle(Preset.FineTuneFrozenEpochs, LearningRates.Uniform(Preset.FineTuneFrozenLearningRate), fit, Cancellation);
                }),
                ($"fine-tune · unfreeze() · lr {Preset.FineTuneLearningRate.ToString(CultureInfo.InvariantCulture)}", (learner, fit) =>
                {
                    learner.Unfreeze();
                    learner.FitOneCycle(Preset.FineTuneEpochs, LearningRates.Uniform(Preset.FineTuneLearningRate), fit, Cancellation);
                }),
            ]);
        return Completed(stage, LanguageModelArtifact.Save(ArtifactFolder(name), model, corpus.Vocabulary, corpus.Tokenization, corpus.MaxTokens, Backwards));
    }

    // The preset decides the model's sizes (as fastai's config does); pretrained weights of other sizes cannot load.
    private void CheckPretrainedSizes(AwdLstmConfig pretrained, string source)
    {
        static bool Fits(UlmfitPreset preset, AwdLstmConfig config) => preset.Model.EmbeddingSize == config.EmbeddingSize
            && preset.Model.Layers == config.Layers && (config.Layers == 1 || preset.Model.HiddenSize == config.HiddenSize);
        if (Fits(Preset, pretrained))
        {
            return;
        }
        UlmfitPreset? fitting = UlmfitPreset.All.FirstOrDefault(p => Fits(p, pretrained));
        string advice = fitting is not null
            ? $"use the '{fitting.Name}' preset (--preset {fitting.Name})"
            : FormattableString.Invariant($"give its sizes (--emb {pretrained.EmbeddingSize} --hidden {pretrained.HiddenSize} --layers {pretrained.Layers}, or UlmfitPreset.{Preset.Name} with {{ Model = ... }})");
        throw new PretrainedWeightsException(source, null, FormattableString.Invariant(
            $"the pretrained model is an AWD-LSTM with embedding {pretrained.EmbeddingSize}, hidden {pretrained.HiddenSize}, {pretrained.Layers} layers, but the '{Preset.Name}' preset builds embedding {Preset.Model.EmbeddingSize}, hidden {Preset.Model.HiddenSize}, {Preset.Model.Layers} layers; {advice}"));
    }

    // The loader's own length check speaks of rows and streams (and its parameter's name); this names the corpus, the
    // split and the option to change, with the loader's figures.
    private LanguageModelLoader NewLoader(TextDataset corpus, LanguageModelLoaderOptions options, IReadOnlyList<int> documents, string split)
    {
        try
        {
            return new LanguageModelLoader(Documents(corpus), options, documents);
        }
        catch (ArgumentException error) when (error.ParamName == "tokenCount")
        {
            string because = error.Message.Replace($" (Parameter '{error.ParamName}')", "", StringComparison.Ordinal);
            throw new ArgumentException(FormattableString.Invariant(
                $"The corpus in '{corpus.Folder}' is too short for a language model with batch size {options.BatchSize} in its {split} split ({documents.Count:N0} documents): {because} Use more text, or a smaller --bs."));
        }
    }

    private void RunLanguageModel(AwdLstmLanguageModel model, TextDataset corpus, IReadOnlyList<int> training, IReadOnlyList<int> validation,
        StageCheckpoints stage, Action<Learner<LanguageModelBatch>>? prepare,
        IReadOnlyList<(string Phase, Action<Learner<LanguageModelBatch>, FitOptions> Fit)> phases)
    {
        var trainOptions = LanguageModelLoaderOptions.Training with
        {
            BatchSize = Preset.LanguageModelBatchSize,
            SequenceLength = Preset.LanguageModelSequenceLength,
            Seed = Preset.Seed,
        };
        var validOptions = LanguageModelLoaderOptions.Validation with
        {
            BatchSize = Preset.LanguageModelBatchSize,
            SequenceLength = Preset.LanguageModelSequenceLength,
        };
        using var train = NewLoader(corpus, trainOptions, training, "training");
        using var valid = NewLoader(corpus, validOptions, validation, "validation");
        using var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), train, valid, metrics: Metrics.LanguageModel);
        prepare?.Invoke(learner);
        // One callback per phase, so the report shows one table per phase like fastbook's.
        for (int i = 0; i < phases.Count; i++)
        {
            var (phase, fit) = phases[i];
            var callback = new ProgressCallback(Progress, phase, train.BatchCount, languageModel: true);
            UsePhaseCallbacks(learner, callback);
            Cancellation.ThrowIfCancellationRequested();
            if (stage.RunPhase(i, learner, options => fit(learner, options)))
            {
                RecordStage(callback);
            }
        }
    }

    private void FindLearningRate<TBatch>(Learner<TBatch> learner, string stage) where TBatch : IDisposable
    {
        Progress.Log($"learning-rate finder ({stage})…");
        Training.LearningRateFinderResult result = learner.FindLearningRate(iterations: Math.Min(60, Math.Max(20, learner.Training.BatchCount)));
        TrainingPlots.SaveLearningRateFinder(Path.Combine(RunFolder, "plots", "lr-finder.png"), result, $"Learning-rate finder: {stage}");
        Report.AddImage($"Learning-rate finder ({stage})", "plots/lr-finder.png");
        Report.AddSetting($"lr_find ({stage})", result.ToString());      // the suggestions, or why there are none
        Progress.Log($"lr_find ({stage}): {result}");
    }

    // fastbook fine-tunes the IMDb language model on every review's text (train, test and unsup) with a random 10 % held
    // out for the LM's own validation; the same here over all documents of the corpus, labels unused.
    internal static (IReadOnlyList<int> Training, IReadOnlyList<int> Validation) SplitAllText(int documentCount, double validationShare, int seed)
    {
        int[] all = Enumerable.Range(0, documentCount).ToArray();
        new Random(seed).Shuffle(all);
        int held = Math.Clamp((int)Math.Round(all.Length * validationShare), 1, Math.Max(1, all.Length - 1));
        int[] validation = all[..held], training = all[held..];
        Array.Sort(validation);
        Array.Sort(training);
        return (training, validation);
    }
}
