using FastText.Engine.Models;
using FastText.Engine.Text;

namespace FastText.Engine.Recipes;

/// <summary>
/// Sizes and schedules of a whole ULMFiT run. <see cref="Large"/> is fastai's/fastbook's recipe; <see cref="Small"/>
/// shrinks the model and data so the whole demo finishes in about ten minutes on two CPU cores; <see cref="Tiny"/> is
/// for tests and smoke runs.
/// </summary>
public sealed record UlmfitPreset
{
    /// <summary>Preset name.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// The AWD-LSTM every stage builds: its sizes (fastai <c>emb_sz</c> 400, <c>n_hid</c> 1152, <c>n_layers</c> 3), and
    /// fastai's language-model dropouts before <see cref="LanguageModelDropMultiplier"/> scales them. The classifier takes
    /// these sizes with fastai's classifier dropouts (<see cref="AwdLstmConfig.Classifier"/>) scaled by
    /// <see cref="ClassifierDropMultiplier"/>.
    /// </summary>
    public AwdLstmConfig Model { get; init; } = AwdLstmConfig.LanguageModel;

    /// <summary>The language model's configuration: <see cref="Model"/> with <see cref="LanguageModelDropMultiplier"/> applied.</summary>
    public AwdLstmConfig LanguageModel => Model.WithDropoutMultiplier(LanguageModelDropMultiplier);

    /// <summary>Vocabulary size limit.</summary>
    public int MaxVocabulary { get; init; } = 60000;

    /// <summary>Minimum token count for the vocabulary.</summary>
    public int MinFrequency { get; init; } = 3;

    /// <summary>Tokens kept per labelled document (0 = all).</summary>
    public int MaxTokensPerDocument { get; init; }

    /// <summary>Brown files read for pretraining, a seeded random subset (null = all 500).</summary>
    public int? PretrainDocuments { get; init; }

    /// <summary>SpamAssassin mails read, a seeded random subset keeping the train/test split (null = all 6,046).</summary>
    public int? Mails { get; init; }

    /// <summary>Language-model batch size (fastbook 128).</summary>
    public int LanguageModelBatchSize { get; init; } = 128;

    /// <summary>Language-model sequence length (fastbook 80).</summary>
    public int LanguageModelSequenceLength { get; init; } = 80;

    /// <summary>Pretraining epochs and maximum learning rate.</summary>
    public int PretrainEpochs { get; init; } = 10;

    /// <summary>Pretraining maximum learning rate.</summary>
    public double PretrainLearningRate { get; init; } = 5e-3;

    /// <summary>Dropout multiplier of the language model (fastbook 0.3).</summary>
    public double LanguageModelDropMultiplier { get; init; } = 0.3;

    /// <summary>Frozen fine-tuning epochs (only the embedding/decoder group trains; fastbook 1 at 2e-2).</summary>
    public int FineTuneFrozenEpochs { get; init; } = 1;

    /// <summary>Frozen fine-tuning maximum learning rate.</summary>
    public double FineTuneFrozenLearningRate { get; init; } = 2e-2;

    /// <summary>Unfrozen fine-tuning epochs (fastbook 10 at 2e-3).</summary>
    public int FineTuneEpochs { get; init; } = 10;

    /// <summary>Unfrozen fine-tuning maximum learning rate.</summary>
    public double FineTuneLearningRate { get; init; } = 2e-3;

    /// <summary>
    /// Fine-tune the language model on the text of every document of the task corpus, labels unused, with a seeded
    /// random <see cref="LanguageModelValidationShare"/> held out for the LM's validation — what fastbook does with IMDb
    /// (train + test + unsup reviews). When false, the LM trains on the corpus's training split and validates on its
    /// validation split (the classifier's test mails are then never seen, not even unlabelled).
    /// </summary>
    public bool FineTuneOnAllText { get; init; }

    /// <summary>Classifier batch size (fastbook 128).</summary>
    public int ClassifierBatchSize { get; init; } = 128;

    /// <summary>Classifier chunk length (fastai <c>seq_len</c> 72).</summary>
    public int ClassifierSequenceLength { get; init; } = 72;

    /// <summary>Classifier dropout multiplier (fastai 0.5).</summary>
    public double ClassifierDropMultiplier { get; init; } = 0.5;

    /// <summary>
    /// The gradual-unfreezing recipe (fastbook): (freeze_to, epochs, top learning rate); each stage uses
    /// <c>slice(lr / 2.6⁴, lr)</c> except the first, head-only one.
    /// </summary>
    public IReadOnlyList<(int FreezeTo, int Epochs, double LearningRate)> ClassifierStages { get; init; } =
        [(-1, 1, 2e-2), (-2, 1, 1e-2), (-3, 1, 5e-3), (0, 2, 1e-3)];

    /// <summary>
    /// Ratio between the learning rates of consecutive layer groups in every classifier phase after the head-only one
    /// (ULMFiT's 2.6: with a 3-layer encoder the embedding moves at lr/2.6⁴); 1 gives the whole network one rate.
    /// </summary>
    public double ClassifierDiscriminativeFactor { get; init; } = 2.6;

    /// <summary>Training-time augmentation of the classifier's documents (default none, as fastai).</summary>
    public AugmentationSettings Augmentation { get; init; } = AugmentationSettings.None;

    /// <summary>Validation share of the language-model corpora.</summary>
    public double LanguageModelValidationShare { get; init; } = 0.1;

    /// <summary>Validation share of the labelled mails.</summary>
    public double ClassifierValidationShare { get; init; } = 0.2;

    /// <summary>Seed of splits, shuffles and initialisation.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// Largest global gradient norm of every training step (<see cref="Training.GradientClipping"/>); 0 does not clip
    /// (fastai's text learners' default, and <see cref="Large"/>'s). fastai's own wikitext tutorial clips at 0.1 and
    /// AWD-LSTM's paper at 0.25: at one-cycle's peak a short run can fall onto the unigram plateau and stay there, as
    /// <see cref="Small"/>'s pretraining did until it clipped at 0.1 (native-notes/lm-stability.md).
    /// </summary>
    public double GradientClip { get; init; }

    /// <summary>
    /// Compute precision of every model the run trains (fastai's <c>to_fp16()</c>, here bf16 on the CPU): master
    /// weights, optimizer state and saved artifacts stay fp32 whatever it is. Float32 (default) is fastai's default;
    /// BFloat16 runs the LSTMs' and the decoder's matrix products in bf16 (about 2.2–2.4× the fp32 step on this CPU,
    /// perf-results/BareLstmBaselineBenchmarks.md; perplexity within 2 % of fp32 on the mean of three seed pairs,
    /// perf-results/BrownMixedPrecision.md).
    /// </summary>
    public ComputePrecision Precision { get; init; } = ComputePrecision.Float32;

    /// <summary>fastai's sizes and fastbook's schedules: for real runs (hours on a CPU).</summary>
    public static UlmfitPreset Large { get; } = new() { Name = "large" };

    /// <summary>
    /// About ten minutes on two idle cores for the whole demo: a 3-layer AWD-LSTM of 64/256, half of Brown, 1,800 of the
    /// 6,046 mails capped at 1,000 tokens (the median mail has ~300), one pretraining epoch, 1 + 3 fine-tuning epochs,
    /// 1 + 1 + 1 + 2 classifier epochs.
    /// </summary>
    public static UlmfitPreset Small { get; } = new()
    {
        Name = "small",
        Model = AwdLstmConfig.LanguageModel with { EmbeddingSize = 64, HiddenSize = 256, Layers = 3 },
        MaxVocabulary = 15000,
        MaxTokensPerDocument = 1000,
        PretrainDocuments = 250,
        Mails = 1800,
        LanguageModelBatchSize = 32,
        LanguageModelSequenceLength = 64,
        PretrainEpochs = 1,
        PretrainLearningRate = 1e-2,
        FineTuneFrozenEpochs = 1,
        // Measured on this preset (perf-results/SampleEfficiency-small): one unfrozen epoch left the LM at perplexity 192
        // and the classifier at 83.4 %; three at 5e-3 reach perplexity 98.6 and 92.6 %; three at 1e-2 reach 70.1 on the
        // same validation mails and 93.55 % in the demo (the Brown start needs the larger steps to move towards mail).
        FineTuneEpochs = 3,
        FineTuneLearningRate = 1e-2,
        ClassifierBatchSize = 32,
        ClassifierSequenceLength = 72,
        // Not fastai's default (no clipping): its wikitext tutorial's 0.1. Measured on this preset's Brown corpus
        // (2026-12-07, Zen 5): without clipping the one pretraining epoch ends on the unigram plateau (perplexity 547,
        // 7.6 % next-token accuracy), with 0.25 at 260, with 0.1 at 243 (native-notes/lm-stability.md).
        GradientClip = 0.1,
        // fastbook's four phases with 2.6× discriminative rates, but twice its top rates from the second phase on: this
        // small Brown-pretrained encoder needs larger updates than a WikiText-103 one.
        ClassifierStages = [(-1, 1, 2e-2), (-2, 1, 2e-2), (-3, 1, 1e-2), (0, 2, 5e-3)],
    };

    /// <summary>Seconds, not minutes: for tests and smoke runs.</summary>
    public static UlmfitPreset Tiny { get; } = Small with
    {
        Name = "tiny",
        Model = AwdLstmConfig.LanguageModel with { EmbeddingSize = 16, HiddenSize = 32, Layers = 2 },
        MaxVocabulary = 2000,
        MinFrequency = 2,
        MaxTokensPerDocument = 120,
        PretrainDocuments = 6,
        Mails = 150,
        LanguageModelBatchSize = 8,
        LanguageModelSequenceLength = 16,
        PretrainEpochs = 1,
        FineTuneEpochs = 1,
        ClassifierBatchSize = 8,
        ClassifierSequenceLength = 16,
        ClassifierStages = [(-1, 1, 2e-2), (0, 1, 1e-3)],
    };

    /// <summary>Every named preset, in the order the CLI lists them.</summary>
    public static IReadOnlyList<UlmfitPreset> All { get; } = [Small, Large, Tiny];

    /// <summary>The preset called <paramref name="name"/> (one of <see cref="All"/>, case-insensitive).</summary>
    /// <exception cref="ArgumentException">No preset has that name; the message lists them.</exception>
    public static UlmfitPreset Named(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown preset '{name}' ({string.Join(", ", All.Select(p => p.Name))}).", nameof(name));

    /// <summary>Dataset options of this preset for a language-model corpus or a labelled one.</summary>
    /// <remarks>The token cap applies to labelled corpora only: it bounds the classifier's cost per mail, while the
    /// language-model corpora stay whole (a cap would throw away most of each Brown file).</remarks>
    public TextDatasetOptions Data(bool labelled) => new(MaxVocabulary, MinFrequency,
        labelled ? ClassifierValidationShare : LanguageModelValidationShare, Seed, labelled ? MaxTokensPerDocument : 0);
}
