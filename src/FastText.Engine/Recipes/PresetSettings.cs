using System.Globalization;
using System.Text.Json;
using FastText.Engine.Models;

namespace FastText.Engine.Recipes;

/// <summary>One setting of a <see cref="UlmfitPreset"/> that can be changed without writing C#.</summary>
public sealed class PresetSetting
{
    internal PresetSetting(string name, string description, string kind, Func<UlmfitPreset, string> read, Func<UlmfitPreset, string, UlmfitPreset> apply)
    {
        Read = read;
        Name = name;
        Description = description;
        Kind = kind;
        Apply = apply;
    }

    /// <summary>Its one name: the CLI option is <c>--Name</c>, the config file's key is <c>Name</c>.</summary>
    public string Name { get; }

    /// <summary>What it sets, for the CLI's help and the documented schema.</summary>
    public string Description { get; }

    /// <summary>What its value is: "integer ≥ 1", "number ≥ 0" or the accepted words.</summary>
    public string Kind { get; }

    internal Func<UlmfitPreset, string, UlmfitPreset> Apply { get; }

    // The preset's value, as the option would take it.
    internal Func<UlmfitPreset, string> Read { get; }
}

/// <summary>
/// The settings a user can give on the command line (<c>--emb 400 --hidden 1152 --bs 64</c>) or in a JSON config file
/// (<c>--config run.json</c>: <c>{ "preset": "large", "emb": 400, "bs": 64 }</c>): each has one name, shared by both, and
/// one home, the <see cref="UlmfitPreset"/> property it sets. <see cref="Validate"/> refuses impossible combinations
/// naming the settings involved.
/// </summary>
public static class PresetSettings
{
    /// <summary>The config-file key that picks the preset the other keys change.</summary>
    public const string PresetKey = "preset";

    /// <summary>Every setting, in the order the help lists them.</summary>
    public static IReadOnlyList<PresetSetting> All { get; } =
    [
        Integer("emb", "embedding size, also the last LSTM layer's width (fastai emb_sz, 400)", 1, p => p.Model.EmbeddingSize, (p, v) => p with { Model = p.Model with { EmbeddingSize = v } }),
        Integer("hidden", "width of the inner LSTM layers (fastai n_hid, 1152)", 1, p => p.Model.HiddenSize, (p, v) => p with { Model = p.Model with { HiddenSize = v } }),
        Integer("layers", "stacked LSTM layers (fastai n_layers, 3)", 1, p => p.Model.Layers, (p, v) => p with { Model = p.Model with { Layers = v } }),
        Number("drop-mult", "multiplier of the language model's five dropouts (fastai drop_mult; fastbook 0.3)", p => p.LanguageModelDropMultiplier, (p, v) => p with { LanguageModelDropMultiplier = v }),
        Number("clas-drop-mult", "multiplier of the classifier's dropouts (fastai 0.5)", p => p.ClassifierDropMultiplier, (p, v) => p with { ClassifierDropMultiplier = v }),
        Integer("bs", "language-model batch size (fastbook 128)", 1, p => p.LanguageModelBatchSize, (p, v) => p with { LanguageModelBatchSize = v }),
        Integer("bptt", "language-model sequence length (fastbook 80)", 1, p => p.LanguageModelSequenceLength, (p, v) => p with { LanguageModelSequenceLength = v }),
        Integer("clas-bs", "classifier batch size (fastbook 128)", 1, p => p.ClassifierBatchSize, (p, v) => p with { ClassifierBatchSize = v }),
        Integer("clas-bptt", "classifier chunk length (fastai seq_len 72)", 1, p => p.ClassifierSequenceLength, (p, v) => p with { ClassifierSequenceLength = v }),
        Integer("max-vocab", "vocabulary size limit (fastai max_vocab 60000)", 2, p => p.MaxVocabulary, (p, v) => p with { MaxVocabulary = v }),
        Integer("min-freq", "minimum count of a token in the vocabulary (fastai min_freq 3)", 1, p => p.MinFrequency, (p, v) => p with { MinFrequency = v }),
        Integer("max-tokens", "tokens kept per labelled document (per unlabelled one too when given to tokenize as this option), 0 = all", 0, p => p.MaxTokensPerDocument, (p, v) => p with { MaxTokensPerDocument = v }),
        Integer("pretrain-epochs", "pretraining epochs", 1, p => p.PretrainEpochs, (p, v) => p with { PretrainEpochs = v }),
        Number("pretrain-lr", "pretraining maximum learning rate", p => p.PretrainLearningRate, (p, v) => p with { PretrainLearningRate = v }, aboveMinimum: true),
        Integer("finetune-frozen-epochs", "frozen fine-tuning epochs (fastbook 1)", 1, p => p.FineTuneFrozenEpochs, (p, v) => p with { FineTuneFrozenEpochs = v }),
        Number("finetune-frozen-lr", "frozen fine-tuning maximum learning rate (fastbook 2e-2)", p => p.FineTuneFrozenLearningRate, (p, v) => p with { FineTuneFrozenLearningRate = v }, aboveMinimum: true),
        Integer("finetune-epochs", "unfrozen fine-tuning epochs (fastbook 10)", 1, p => p.FineTuneEpochs, (p, v) => p with { FineTuneEpochs = v }),
        Number("finetune-lr", "unfrozen fine-tuning maximum learning rate (fastbook 2e-3)", p => p.FineTuneLearningRate, (p, v) => p with { FineTuneLearningRate = v }, aboveMinimum: true),
        new("clas-epochs", "epochs of each gradual-unfreezing phase, comma-separated, one per phase (small 1,1,1,2; fastbook 1,1,1,2)",
            "integers ≥ 1", p => string.Join(',', p.ClassifierStages.Select(stage => stage.Epochs.ToString(CultureInfo.InvariantCulture))),
            (p, text) => PerPhase<int>(p, text, "epoch counts", item => int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int epochs) && epochs >= 1 ? epochs : (int?)null,
                "a whole number of at least 1", (stage, epochs) => stage with { Epochs = epochs })),
        new("clas-lrs", "top learning rate of each gradual-unfreezing phase, comma-separated, one per phase (small 2e-2,2e-2,1e-2,5e-3; fastbook 2e-2,1e-2,5e-3,1e-3)",
            "numbers > 0", p => string.Join(',', p.ClassifierStages.Select(stage => stage.LearningRate.ToString("R", CultureInfo.InvariantCulture))),
            (p, text) => PerPhase<double>(p, text, "learning rates", item => double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) && double.IsFinite(rate) && rate > 0 ? rate : (double?)null,
                "a finite number above 0", (stage, rate) => stage with { LearningRate = rate })),
        Number("clas-lr-factor", "ratio between the rates of consecutive layer groups after the head-only phase (ULMFiT's 2.6; 1 = one rate for the whole network)",
            p => p.ClassifierDiscriminativeFactor, (p, v) => p with { ClassifierDiscriminativeFactor = v }, minimum: 1,
            why: "below 1 the lower layers would move faster than the head"),
        Number("clip", "largest global gradient norm per step, 0 = no clipping (fastai's default; its wikitext tutorial 0.1)", p => p.GradientClip, (p, v) => p with { GradientClip = v }),
        Integer("seed", "seed of splits, shuffles and initialisation", int.MinValue, p => p.Seed, (p, v) => p with { Seed = v }),
        new("augment", "training-time augmentation of the classifier's documents (contextual needs --encoder; command needs augment-command)",
            string.Join(" | ", AugmentationSettings.Names.Keys), p => p.Augmentation.Name,
            (p, v) => p with { Augmentation = p.Augmentation with { Kind = AugmentationSettings.ParseKind(v) } }),
        Number("augment-share", "probability that a training document is replaced by an augmented copy in an epoch (0–1]", p => p.Augmentation.Share,
            (p, v) => p with { Augmentation = p.Augmentation with { Share = v } }, aboveMinimum: true),
        Number("eda-alpha", "EDA's alpha: share of a document's words each operation changes (0–1], EDA's 0.1", p => p.Augmentation.EdaAlpha,
            (p, v) => p with { Augmentation = p.Augmentation with { EdaAlpha = v } }, aboveMinimum: true),
        Number("contextual-rate", "probability that a word of a contextual copy is resampled by the language model (0–1]", p => p.Augmentation.ContextualRate,
            (p, v) => p with { Augmentation = p.Augmentation with { ContextualRate = v } }, aboveMinimum: true),
        new("augment-command", "command that paraphrases the training documents (back-translation): JSON lines {\"id\", \"text\"} in and out", "text",
            p => p.Augmentation.Command ?? "", (p, v) => p with { Augmentation = p.Augmentation with { Command = v.Length == 0 ? null : v } }),
        new("synonyms", "EDA's synonym table, word<TAB>synonyms per line (default samples/wordnet-synonyms.tsv.gz)", "path",
            p => p.Augmentation.Synonyms ?? "", (p, v) => p with { Augmentation = p.Augmentation with { Synonyms = v.Length == 0 ? null : v } }),
        new("precision", "compute precision", string.Join(" | ", ComputePrecisions.Names), p => p.Precision.Name(), (p, v) => p with
        {
            Precision = ComputePrecisions.TryParse(v, out ComputePrecision precision) ? precision : throw new FormatException($"'{v}' is not {ComputePrecisions.NameList}."),
        }),
    ];

    /// <summary>
    /// The settings of <paramref name="preset"/> that differ from the named preset it started from (<c>--bs 64</c>
    /// shows as "bs 64"), or every setting when its name is not one of <see cref="UlmfitPreset.All"/>; empty when none differ.
    /// </summary>
    public static string Differences(UlmfitPreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        UlmfitPreset? named = UlmfitPreset.All.FirstOrDefault(p => p.Name == preset.Name);
        return string.Join(", ", All.Where(s => named is null || s.Read(named) != s.Read(preset)).Select(s => $"{s.Name} {s.Read(preset)}"));
    }

    /// <summary>The setting called <paramref name="name"/>, or null.</summary>
    public static PresetSetting? Find(string name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>Sets <paramref name="name"/> to <paramref name="value"/> (text as given on the command line).</summary>
    /// <param name="preset">The preset to change.</param>
    /// <param name="name">A setting's name.</param>
    /// <param name="value">Its value, invariant culture.</param>
    /// <param name="source">Where the value came from, for errors: "--emb" or "run.json: emb".</param>
    /// <exception cref="ArgumentException">Unknown setting or a value of the wrong kind or range; the message starts with <paramref name="source"/>.</exception>
    public static UlmfitPreset Apply(UlmfitPreset preset, string name, string value, string source)
    {
        ArgumentNullException.ThrowIfNull(preset);
        PresetSetting setting = Find(name) ?? throw new ArgumentException(
            $"{source}: unknown setting '{name}' (known: {PresetKey}, {string.Join(", ", All.Select(s => s.Name))}).");
        try
        {
            return setting.Apply(preset, value);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new ArgumentException($"{source}: {e.Message}");
        }
    }

    /// <summary>
    /// Reads a JSON config file: one object whose keys are <see cref="PresetKey"/> (the preset to start from, else
    /// <paramref name="basePreset"/>) and setting names, with numbers, booleans or strings as values; comments and trailing
    /// commas are allowed. Keys of the file are applied in order; nothing else is read.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="ArgumentException">Not a JSON object, an unknown key or preset, or a bad value; the message names
    /// the file and the key (and the line for malformed JSON).</exception>
    /// <param name="path">The JSON file.</param>
    /// <param name="basePreset">The preset the file's settings change when it names none.</param>
    /// <param name="explicitPreset">A preset name the user gave besides the file (<c>--preset</c>), or null: a file that
    /// names another one is refused rather than silently winning.</param>
    public static UlmfitPreset Load(string path, UlmfitPreset basePreset, string? explicitPreset = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Config file '{path}' not found.", path);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException($"{path}: the config must be one JSON object of settings, e.g. {{ \"preset\": \"large\", \"bs\": 64 }}.");
            }
            UlmfitPreset preset = basePreset ?? throw new ArgumentNullException(nameof(basePreset));
            if (document.RootElement.TryGetProperty(PresetKey, out JsonElement named))
            {
                string name = Text(named);
                if (explicitPreset is not null && !string.Equals(explicitPreset, name, StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArgumentException($"{path}: {PresetKey}: the file names '{name}' but --preset says '{explicitPreset}'; give the preset once.");
                }
                try
                {
                    preset = UlmfitPreset.Named(name);
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"{path}: {PresetKey}: {e.Message}");
                }
            }
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (property.Name != PresetKey)
                {
                    preset = Apply(preset, property.Name, Text(property.Value), $"{path}: {property.Name}");
                }
            }
            return preset;
        }

        string Text(JsonElement value) => value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => throw new ArgumentException($"{path}: values are numbers, booleans or strings, not {value.ValueKind.ToString().ToLowerInvariant()}."),
        };
    }

    /// <summary>
    /// Throws when the settings cannot make a model: a dropout multiplier that takes a probability to 1 or more, an
    /// augmentation share or rate above 1, <c>--augment command</c> without its command (single values are checked as
    /// they are applied). The message names the setting to change.
    /// </summary>
    /// <exception cref="ArgumentException">Impossible settings.</exception>
    public static void Validate(UlmfitPreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        Probabilities(preset.LanguageModel, "drop-mult", preset.LanguageModelDropMultiplier);
        Probabilities(AwdLstmConfig.Classifier.WithDropoutMultiplier(preset.ClassifierDropMultiplier), "clas-drop-mult", preset.ClassifierDropMultiplier);
        preset.Augmentation.Validate();

        static void Probabilities(AwdLstmConfig config, string name, double multiplier)
        {
            double largest = new[] { config.OutputDropout, config.HiddenDropout, config.InputDropout, config.EmbeddingDropout, config.WeightDropout }.Max();
            if (!(largest < 1))
            {
                throw new ArgumentException(FormattableString.Invariant(
                    $"--{name} {multiplier}: takes a dropout probability to {largest:G3}; every probability must stay below 1."));
            }
        }
    }

    // "1,1,1,6" or "2e-2,2e-2,1e-2,5e-3": one value per phase of the preset's classifier stages.
    private static UlmfitPreset PerPhase<T>(UlmfitPreset preset, string text, string what, Func<string, T?> parse, string expected,
        Func<(int FreezeTo, int Epochs, double LearningRate), T, (int FreezeTo, int Epochs, double LearningRate)> set) where T : struct
    {
        string[] items = text.Split(',', StringSplitOptions.TrimEntries);
        if (items.Length != preset.ClassifierStages.Count)
        {
            throw new FormatException(FormattableString.Invariant($"'{text}' gives {items.Length} {what}; the preset's classifier has {preset.ClassifierStages.Count} phases."));
        }
        var stages = new List<(int FreezeTo, int Epochs, double LearningRate)>();
        for (int i = 0; i < items.Length; i++)
        {
            T value = parse(items[i]) ?? throw new FormatException($"'{items[i]}' (phase {i + 1}) is not {expected}.");
            stages.Add(set(preset.ClassifierStages[i], value));
        }
        return preset with { ClassifierStages = stages };
    }

    private static PresetSetting Integer(string name, string description, int minimum, Func<UlmfitPreset, int> read, Func<UlmfitPreset, int, UlmfitPreset> apply) =>
        new(name, description, minimum == int.MinValue ? "integer" : FormattableString.Invariant($"integer ≥ {minimum}"),
            p => read(p).ToString(CultureInfo.InvariantCulture), (preset, text) =>
            {
                if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
                {
                    throw new FormatException($"'{text}' is not a whole number.");
                }
                if (value < minimum)
                {
                    throw new FormatException(FormattableString.Invariant($"{value} is below the smallest allowed value, {minimum}."));
                }
                return apply(preset, value);
            });

    // A number of at least minimum (above it with aboveMinimum: learning rates, since a rate of 0 trains nothing and
    // one-cycle divides by it); why, if given, says what a smaller value would do.
    private static PresetSetting Number(string name, string description, Func<UlmfitPreset, double> read, Func<UlmfitPreset, double, UlmfitPreset> apply,
        double minimum = 0, bool aboveMinimum = false, string? why = null) =>
        new(name, description, FormattableString.Invariant($"number {(aboveMinimum ? ">" : "≥")} {minimum}"), p => read(p).ToString("R", CultureInfo.InvariantCulture), (preset, text) =>
            {
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
                {
                    throw new FormatException($"'{text}' is not a finite number.");
                }
                if (value < minimum || (aboveMinimum && value == minimum))
                {
                    string what = value < minimum ? (minimum == 0 ? "negative" : FormattableString.Invariant($"below {minimum}")) : minimum == 0 ? "zero" : "the minimum itself";
                    string allowed = aboveMinimum ? FormattableString.Invariant($"above {minimum}") : FormattableString.Invariant($"{minimum} or more");
                    throw new FormatException(FormattableString.Invariant($"{value} is {what}; it must be {allowed}{(why is null ? "" : $" ({why})")}."));
                }
                return apply(preset, value);
            });
}
