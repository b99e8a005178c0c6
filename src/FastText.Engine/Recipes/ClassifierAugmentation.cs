using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using FastText.Engine.Data;
using FastText.Engine.Data.Augmentation;
using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

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
/// probability <see cref="Share"/>, by a fresh augmented copy, drawn from a generator seeded by the run's seed, the epoch
/// and the document's position in the training set (the validation documents never are). Part of the preset,
/// so each field is a setting (<c>--augment eda --augment-share 0.5 --eda-alpha 0.1</c>) and part of a stage's key.
/// </summary>
/// <param name="Kind">What alters the copies.</param>
/// <param name="Share">Probability that a document is replaced by a copy in an epoch (0, 1].</param>
/// <param name="EdaAlpha">EDA's α, the share of a document's words each operation changes (EDA's default 0.1).</param>
/// <param name="ContextualRate">Probability that a word of a contextual copy is resampled.</param>
/// <param name="Command">The external command of <see cref="AugmentationKind.Command"/>: run with <c>/bin/sh -c</c> once
/// per classifier training (before its first epoch), it reads JSON lines <c>{"id": n, "text": "…"}</c> on stdin (the training documents, decoded) and writes lines of the
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
    /// <param name="cancellation">Stops a paraphrase command (it is killed).</param>
    /// <remarks>Draws nothing from torch's global generator (the language model is loaded under a saved and restored
    /// generator state), so an augmented arm trains with the same initialisation and dropout masks as the plain arm of
    /// its seed.</remarks>
    public static ClassifierAugmentation? Build(AugmentationSettings settings, TextDataset labelled, ITokenCorpus documents, IReadOnlyList<int> training,
        LanguageModelArtifact? languageModel, bool backwards, int seed, IProgressSink progress, CancellationToken cancellation = default)
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
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"--synonyms: '{path}' not found.", path);
                }
                augmenter = new EdaAugmenter(labelled.Vocabulary, SynonymTable.Load(path), settings.EdaAlpha, backwards);
                break;
            }
            case AugmentationKind.Contextual:
            {
                EnsureContextualPossible(languageModel, labelled);
                // Building a model initialises its weights from torch's generator: keep the run's stream as it was.
                using Tensor generatorState = torch.get_rng_state();
                try
                {
                    using AwdLstmLanguageModel model = languageModel!.LoadModel();
                    augmenter = LanguageModelAugmenter.Build(model, labelled.Vocabulary, documents, training, int.MaxValue, settings.ContextualRate, seed: seed);
                }
                finally
                {
                    torch.set_rng_state(generatorState);
                }
                break;
            }
            default:
                augmenter = ExternalParaphrases.Run(settings.Command!, labelled, training, backwards, cancellation);
                break;
        }
        progress.Log(FormattableString.Invariant($"augmentation: {augmenter.Description}, share {settings.Share} ({clock.Elapsed.TotalSeconds:F1} s to prepare)"));
        return new ClassifierAugmentation(augmenter, settings.Share);
    }

    /// <summary>Throws unless contextual augmentation can run with <paramref name="languageModel"/> on <paramref name="labelled"/>
    /// (checked up front by comparisons, before any arm trains).</summary>
    /// <exception cref="ArgumentException">No language model.</exception>
    /// <exception cref="InvalidDataException">Its vocabulary is not the corpus's.</exception>
    public static void EnsureContextualPossible(LanguageModelArtifact? languageModel, TextDataset labelled)
    {
        if (languageModel is null)
        {
            throw new ArgumentException("--augment contextual resamples words with the fine-tuned language model; give --encoder (a classifier from scratch has none).");
        }
        if (languageModel.Vocabulary.Hash != labelled.Vocabulary.Hash)
        {
            throw new InvalidDataException($"--augment contextual: the language model '{languageModel.Folder}' has another vocabulary than the corpus '{labelled.Folder}'; fine-tune it on this corpus first.");
        }
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
    /// <exception cref="InvalidDataException">A line of its output is not <c>{"id": n, "text": "…"}</c> with a non-empty text of
    /// a document sent; the message names the line (and the command's exit code and stderr when it failed as well).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellation"/> was cancelled (the command is killed).</exception>
    public static ParaphraseAugmenter Run(string command, TextDataset labelled, IReadOnlyList<int> training, bool backwards,
        CancellationToken cancellation = default)
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
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new ArgumentException($"--augment-command '{command}' could not be started.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ArgumentException($"--augment-command '{command}' could not be started: {e.Message}.", e);
        }
        using (process)
        using (cancellation.Register(() => Kill(process)))
        {
            var sent = new HashSet<int>(training);
            // Written on its own thread while stdout is read here: a command that answers line by line would otherwise fill
            // its output pipe and wait for us while we wait for it to read.
            Task writer = Task.Run(() =>
            {
                try
                {
                    foreach (int document in training)
                    {
                        string text = labelled.Tokenization.Decode(labelled.Document(document).Select(id => labelled.Vocabulary[id]));
                        process.StandardInput.WriteLine(JsonSerializer.Serialize(new ParaphraseLine(document, text), ParaphraseJson.Options));
                    }
                }
                catch (IOException)
                {
                    // The command stopped reading (it exited); its exit code and stderr say why.
                }
                finally
                {
                    try
                    {
                        process.StandardInput.Close();            // EOF: the command may finish
                    }
                    catch (IOException)
                    {
                        // Closing flushes, and flushing into a closed pipe fails the same way.
                    }
                }
            });
            Task<string> errors = process.StandardError.ReadToEndAsync();
            var alternatives = new Dictionary<int, List<int[]>>();
            try
            {
                int number = 0;
                for (string? line = process.StandardOutput.ReadLine(); line is not null; line = process.StandardOutput.ReadLine())
                {
                    number++;
                    if (line.Length == 0)
                    {
                        continue;
                    }
                    ParaphraseLine? parsed = null;
                    try
                    {
                        parsed = JsonSerializer.Deserialize<ParaphraseLine>(line, ParaphraseJson.Options);
                    }
                    catch (JsonException)
                    {
                    }
                    if (parsed is not { Id: int id, Text: { Length: > 0 } text } || !sent.Contains(id))
                    {
                        throw new InvalidDataException(FormattableString.Invariant(
                            $"--augment-command '{command}', output line {number}: expected {{\"id\": n, \"text\": \"…\"}} with the id of a document it was sent and a text; got {(line.Length > 120 ? line[..120] + "…" : line)}.{Failure(process, errors)}"));
                    }
                    int[] ids = labelled.Numericalize(text);
                    if (backwards)
                    {
                        Array.Reverse(ids);
                    }
                    if (!alternatives.TryGetValue(id, out List<int[]>? list))
                    {
                        alternatives[id] = list = [];
                    }
                    list.Add(ids);
                }
                writer.Wait(cancellation);
                process.WaitForExitAsync(cancellation).Wait(cancellation);
            }
            catch
            {
                Kill(process);
                throw;
            }
            cancellation.ThrowIfCancellationRequested();
            if (process.ExitCode != 0)
            {
                throw new ArgumentException($"--augment-command '{command}' exited with code {process.ExitCode}{Stderr(errors)}.");
            }
            // The alternatives' digest goes into the loader's signature: a resumed run whose command answers differently
            // (a sampling translator) is refused instead of continuing on other documents.
            ulong digest = BatchSources.StableHash(alternatives.OrderBy(a => a.Key)
                .SelectMany(a => a.Value.SelectMany(ids => ids.Prepend(-1)).Prepend(a.Key)).ToArray());
            string description = string.Create(CultureInfo.InvariantCulture,
                $"paraphrases from '{command}' ({alternatives.Count} of {training.Count} documents, {alternatives.Sum(a => a.Value.Count)} in all, digest {digest:x16})");
            return new ParaphraseAugmenter(alternatives.ToDictionary(a => a.Key, a => a.Value.ToArray()), description);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    // ", which exited with code N: <stderr>" when the command has already failed, else "".
    private static string Failure(Process process, Task<string> errors) =>
        process.WaitForExit(2000) && process.ExitCode != 0 ? FormattableString.Invariant($" The command exited with code {process.ExitCode}{Stderr(errors)}.") : "";

    private static string Stderr(Task<string> errors)
    {
        string stderr = errors.Wait(2000) ? errors.Result.Trim() : "";
        return stderr.Length == 0 ? "" : ": " + (stderr.Length > 400 ? stderr[^400..] : stderr);
    }

    private sealed record ParaphraseLine(int? Id, string? Text);

    private static class ParaphraseJson
    {
        // Relaxed escaping: a command sees quotes, apostrophes, <, & and non-ASCII letters as they are, not as \uXXXX.
        public static readonly JsonSerializerOptions Options = new()
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            PropertyNameCaseInsensitive = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
    }
}
