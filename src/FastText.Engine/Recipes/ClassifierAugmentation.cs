using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FastText.Engine.Data.Augmentation;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Text;

namespace FastText.Engine.Recipes;

/// <summary>Which augmentation the classifier trains with.</summary>
public enum AugmentationKind
{
    /// <summary>None: the documents as they are (fastai's default).</summary>
    None,

    /// <summary>EDA: WordNet synonym replacement, random insertion, swap and deletion (Wei and Zou, 2019).</summary>
    Eda,

    /// <summary>Words resampled by the fine-tuned language model from the text before them.</summary>
    Contextual,

    /// <summary>Paraphrases from an external command, made once before training (the plug-in for back-translation).</summary>
    Command,
}

/// <summary>
/// Training-time augmentation of the classifier's documents: each epoch, each training document is replaced, with
/// probability <see cref="Share"/>, by a fresh augmented copy (the validation documents never are). Part of the preset,
/// so each field is a setting (<c>--augment eda --augment-share 0.5 --eda-alpha 0.1</c>) and part of a stage's key.
/// </summary>
/// <param name="Kind">What alters the copies.</param>
/// <param name="Share">Probability that a document is replaced by a copy in an epoch (0, 1].</param>
/// <param name="EdaAlpha">EDA's α, the share of a document's words each operation changes (EDA's default 0.1).</param>
/// <param name="ContextualRate">Probability that a word of a contextual copy is resampled.</param>
/// <param name="Command">The external command of <see cref="AugmentationKind.Command"/>: run once with <c>/bin/sh -c</c>,
/// it reads JSON lines <c>{"id": n, "text": "…"}</c> on stdin (the training documents, decoded) and writes lines of the
/// same form on stdout, any number per id (each a paraphrase of that document; none keeps it as it is).</param>
/// <param name="Synonyms">The synonym table of EDA (null = the shipped WordNet one, <c>samples/wordnet-synonyms.tsv.gz</c>).</param>
public sealed record AugmentationSettings(AugmentationKind Kind = AugmentationKind.None, double Share = 0.5, double EdaAlpha = 0.1,
    double ContextualRate = 0.15, string? Command = null, string? Synonyms = null)
{
    /// <summary>No augmentation.</summary>
    public static AugmentationSettings None { get; } = new();

    /// <summary>The names <c>--augment</c> takes, by kind.</summary>
    public static IReadOnlyDictionary<string, AugmentationKind> Names { get; } = new Dictionary<string, AugmentationKind>(StringComparer.Ordinal)
    {
        ["none"] = AugmentationKind.None,
        ["eda"] = AugmentationKind.Eda,
        ["contextual"] = AugmentationKind.Contextual,
        ["command"] = AugmentationKind.Command,
    };

    /// <summary>The kind's name, as <c>--augment</c> takes it.</summary>
    public string Name => Names.First(n => n.Value == Kind).Key;

    /// <summary>How an arm trained with it is labelled in comparisons ("EDA", "contextual", "paraphrases").</summary>
    public string Label => Kind switch
    {
        AugmentationKind.Eda => "EDA",
        AugmentationKind.Contextual => "contextual",
        AugmentationKind.Command => "paraphrases",
        _ => "none",
    };

    /// <summary>The kind called <paramref name="name"/>.</summary>
    /// <exception cref="FormatException">Not one of <see cref="Names"/>.</exception>
    public static AugmentationKind ParseKind(string name) => Names.TryGetValue(name, out AugmentationKind kind)
        ? kind
        : throw new FormatException($"'{name}' is not {string.Join(" | ", Names.Keys)}.");

    /// <summary>Refuses impossible values, naming the setting.</summary>
    /// <exception cref="ArgumentException">A share or rate outside (0, 1], an α outside (0, 1], or <c>command</c> without a command.</exception>
    public void Validate()
    {
        static void InUnit(double value, string setting)
        {
            if (!(value > 0 && value <= 1))
            {
                throw new ArgumentException(FormattableString.Invariant($"--{setting} {value}: must be in (0, 1]."));
            }
        }
        InUnit(Share, "augment-share");
        InUnit(EdaAlpha, "eda-alpha");
        InUnit(ContextualRate, "contextual-rate");
        if (Kind == AugmentationKind.Command && string.IsNullOrWhiteSpace(Command))
        {
            throw new ArgumentException("--augment command needs --augment-command: the command that writes the paraphrases.");
        }
    }
}

/// <summary>Builds the classifier loader's augmenter of a run from its <see cref="AugmentationSettings"/>.</summary>
internal static class ClassifierAugmentations
{
    /// <summary>The augmentation of one classifier run, or null for <see cref="AugmentationKind.None"/>.</summary>
    /// <param name="settings">What to build.</param>
    /// <param name="labelled">The labelled corpus (its vocabulary, tokenization and documents in reading order).</param>
    /// <param name="documents">Its documents as the classifier reads them (reversed in a backwards run).</param>
    /// <param name="training">The training documents.</param>
    /// <param name="languageModel">The fine-tuned language model (contextual augmentation resamples with it).</param>
    /// <param name="backwards">Whether the classifier reads backwards.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="progress">Where to say what was built.</param>
    public static ClassifierAugmentation? Build(AugmentationSettings settings, TextDataset labelled, ITokenCorpus documents, IReadOnlyList<int> training,
        LanguageModelArtifact? languageModel, bool backwards, int seed, IProgressSink progress)
    {
        settings.Validate();
        if (settings.Kind == AugmentationKind.None)
        {
            return null;
        }
        if (settings.Kind != AugmentationKind.Command && labelled.Tokenization.IsSubword)
        {
            throw new ArgumentException($"--augment {settings.Name} changes words, and the corpus in '{labelled.Folder}' is tokenized into subword pieces ({labelled.Tokenization.Description}); use --augment command, or a word-tokenized corpus.");
        }
        var clock = Stopwatch.StartNew();
        IDocumentAugmenter augmenter;
        switch (settings.Kind)
        {
            case AugmentationKind.Eda:
            {
                string path = settings.Synonyms ?? SampleLocations.WordNetSynonyms()
                    ?? throw new FileNotFoundException("EDA needs a synonym table: samples/wordnet-synonyms.tsv.gz was not found; give --synonyms FILE (word<TAB>synonym synonym …).");
                var eda = new EdaAugmenter(labelled.Vocabulary, SynonymTable.Load(path), settings.EdaAlpha, backwards);
                augmenter = eda;
                break;
            }
            case AugmentationKind.Contextual:
            {
                if (languageModel is null)
                {
                    throw new ArgumentException("--augment contextual resamples words with the fine-tuned language model; give --encoder (a classifier from scratch has none).");
                }
                if (languageModel.Vocabulary.Hash != labelled.Vocabulary.Hash)
                {
                    throw new InvalidDataException($"--augment contextual: the language model '{languageModel.Folder}' has another vocabulary than the corpus '{labelled.Folder}'; fine-tune it on this corpus first.");
                }
                using AwdLstmLanguageModel model = languageModel.LoadModel();
                augmenter = LanguageModelAugmenter.Build(model, labelled.Vocabulary, documents, training, int.MaxValue, settings.ContextualRate, seed: seed);
                break;
            }
            default:
                augmenter = ExternalParaphrases.Run(settings.Command!, labelled, training, backwards);
                break;
        }
        progress.Log(FormattableString.Invariant($"augmentation: {augmenter.Description}, share {settings.Share} ({clock.Elapsed.TotalSeconds:F1} s to prepare)"));
        return new ClassifierAugmentation(augmenter, settings.Share);
    }
}

/// <summary>
/// Paraphrases from an external command (back-translation, or any rewriting a user has): the training documents are
/// decoded to text and sent as JSON lines <c>{"id": n, "text": "…"}</c>; every line the command prints,
/// <c>{"id": n, "text": "…"}</c>, is tokenized like the corpus and becomes one alternative of document n.
/// </summary>
internal static class ExternalParaphrases
{
    /// <summary>Runs <paramref name="command"/> over <paramref name="training"/>'s documents.</summary>
    /// <exception cref="ArgumentException">The command could not start, or exited with an error (its stderr is quoted).</exception>
    /// <exception cref="InvalidDataException">A line of its output is not <c>{"id": n, "text": "…"}</c> of a document sent; the
    /// message names the line.</exception>
    public static ParaphraseAugmenter Run(string command, TextDataset labelled, IReadOnlyList<int> training, bool backwards)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = new UTF8Encoding(false),
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        using Process process = Process.Start(start) ?? throw new ArgumentException($"--augment-command '{command}' could not be started.");
        var sent = new HashSet<int>(training);
        // Written on its own thread while stdout is read here: a command that answers line by line would otherwise fill
        // its output pipe and wait for us while we wait for it to read.
        Task writer = Task.Run(() =>
        {
            try
            {
                foreach (int document in training)
                {
                    string text = TokenDecoder.Decode(labelled.Document(document), labelled.Vocabulary);
                    process.StandardInput.WriteLine(JsonSerializer.Serialize(new ParaphraseLine(document, text), ParaphraseJson.Options));
                }
            }
            catch (IOException)
            {
                // The command stopped reading (it exited); its exit code and stderr say why.
            }
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // Closing flushes, and flushing into a closed pipe fails the same way.
            }
        });
        Task<string> errors = process.StandardError.ReadToEndAsync();
        var alternatives = new Dictionary<int, List<int[]>>();
        int number = 0;
        for (string? line = process.StandardOutput.ReadLine(); line is not null; line = process.StandardOutput.ReadLine())
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }
            ParaphraseLine? parsed;
            try
            {
                parsed = JsonSerializer.Deserialize<ParaphraseLine>(line, ParaphraseJson.Options);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"--augment-command '{command}', output line {number}: not a JSON object {{\"id\": n, \"text\": \"…\"}} ({e.Message}).");
            }
            if (parsed is null || parsed.Text is null || !sent.Contains(parsed.Id))
            {
                throw new InvalidDataException(FormattableString.Invariant(
                    $"--augment-command '{command}', output line {number}: expected {{\"id\": n, \"text\": \"…\"}} with the id of a document it was sent; got {(line.Length > 120 ? line[..120] + "…" : line)}."));
            }
            int[] ids = labelled.Numericalize(parsed.Text);
            if (backwards)
            {
                Array.Reverse(ids);
            }
            if (!alternatives.TryGetValue(parsed.Id, out List<int[]>? list))
            {
                alternatives[parsed.Id] = list = [];
            }
            list.Add(ids);
        }
        writer.Wait();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            string stderr = errors.Result.Trim();
            throw new ArgumentException(FormattableString.Invariant(
                $"--augment-command '{command}' exited with code {process.ExitCode}{(stderr.Length == 0 ? "" : ": " + (stderr.Length > 400 ? stderr[^400..] : stderr))}."));
        }
        string description = string.Create(CultureInfo.InvariantCulture, $"paraphrases from '{command}' ({alternatives.Count} of {training.Count} documents, {alternatives.Sum(a => a.Value.Count)} in all)");
        return new ParaphraseAugmenter(alternatives.ToDictionary(a => a.Key, a => a.Value.ToArray()), description);
    }

    private sealed record ParaphraseLine(int Id, string? Text);

    private static class ParaphraseJson
    {
        public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true };
    }
}
