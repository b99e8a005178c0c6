using FastText.Engine.Models;
using FastText.Engine.Text;

namespace FastText.Engine.Recipes;

/// <summary>What a command writes into its output folder.</summary>
public enum OutputKind
{
    /// <summary><c>tokenize</c>: corpus.ftc, vocab.txt, dataset.json.</summary>
    Corpus,

    /// <summary><c>pretrain</c>, <c>fine-tune</c>: a language-model folder.</summary>
    LanguageModel,

    /// <summary><c>train-classifier</c>: a classifier folder.</summary>
    Classifier,

    /// <summary><c>demo</c>, <c>sample-efficiency</c>: a run folder (report, plots, models in subfolders).</summary>
    Run,
}

/// <summary>
/// A command's output folder, claimed for the command's lifetime: one process at a time (an exclusive lock on
/// <c>.fasttext.lock</c> inside it, released by the kernel however the process ends), and never a folder that holds an
/// artifact of another kind — <c>tokenize -o</c> into a model folder would replace the model's vocab.txt, a classifier
/// written over a language model its model.json. Both are refused before any work starts, naming the folder.
/// </summary>
public sealed class OutputFolder : IDisposable
{
    /// <summary>File name of the lock inside a claimed folder.</summary>
    public const string LockFileName = ".fasttext.lock";

    private readonly FileStream lockFile;

    private OutputFolder(string path, FileStream lockFile)
    {
        Path = path;
        this.lockFile = lockFile;
    }

    /// <summary>The claimed folder (full path).</summary>
    public string Path { get; }

    /// <summary>Claims <paramref name="folder"/> (created if missing) for writing <paramref name="kind"/>.</summary>
    /// <exception cref="IOException">Another process holds the folder, it holds an artifact of another kind, or it
    /// cannot be written (a read-only file system, no permission).</exception>
    public static OutputFolder Claim(string folder, OutputKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string full = System.IO.Path.GetFullPath(folder);
        if (File.Exists(full))
        {
            throw new IOException($"Output '{folder}' is a file, not a folder.");
        }
        if (Holds(full) is { } held && !Compatible(held, kind))
        {
            throw new IOException($"Output folder '{folder}' holds {Held(held)}; writing {Writing(kind)} there would replace its files. Choose another folder.");
        }
        try
        {
            Directory.CreateDirectory(full);
            // FileShare.None takes an exclusive flock on Unix: a second process (or a second claim here) fails at once.
            var stream = new FileStream(System.IO.Path.Combine(full, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new OutputFolder(full, stream);
        }
        catch (IOException error) when (IsLockConflict(error))
        {
            throw new IOException($"Output folder '{folder}' is in use by another fasttext command (it holds {LockFileName}); wait for it to finish or choose another folder.", error);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            // A read-only file system or folder, a missing permission: said before any work starts, nothing touched.
            throw new IOException($"Output folder '{folder}' cannot be written ({error.Message.TrimEnd('.')}); choose a writable folder.");
        }
    }

    // flock's EWOULDBLOCK (Linux errno 11, what .NET reports as the HResult), or Windows' sharing violation.
    private static bool IsLockConflict(IOException error) => error.HResult is 11 or unchecked((int)0x80070020);

    /// <summary>Releases the folder.</summary>
    public void Dispose() => lockFile.Dispose();

    // A model folder's model.json names its kind; a corpus folder has corpus.ftc; anything else is no artifact.
    private static OutputKind? Holds(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return null;
        }
        if (File.Exists(System.IO.Path.Combine(folder, TextDataset.CorpusFileName)))
        {
            return OutputKind.Corpus;
        }
        return ModelCard.KindOf(folder) switch
        {
            null => null,
            LanguageModelArtifact.Kind => OutputKind.LanguageModel,
            ClassifierArtifact.Kind => OutputKind.Classifier,
            _ => OutputKind.Run,   // a kind from another build: treat it as foreign
        };
    }

    private static bool Compatible(OutputKind held, OutputKind writing) => held == writing && held != OutputKind.Run;

    private static string Held(OutputKind kind) => kind switch
    {
        OutputKind.Corpus => "a tokenized corpus (corpus.ftc)",
        OutputKind.LanguageModel => "a language model (model.json)",
        OutputKind.Classifier => "a classifier (model.json)",
        _ => "a model of an unknown kind (model.json)",
    };

    private static string Writing(OutputKind kind) => kind switch
    {
        OutputKind.Corpus => "a tokenized corpus",
        OutputKind.LanguageModel => "a language model",
        OutputKind.Classifier => "a classifier",
        _ => "a run (report, plots and models)",
    };
}
