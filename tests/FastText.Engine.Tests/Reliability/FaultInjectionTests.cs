using System.CommandLine;
using System.Security.Cryptography;
using FastText.Cli;
using FastText.Engine.IO;
using FastText.Engine.Recipes;
using FastText.Engine.Tests.Training;
using TorchSharp;

namespace FastText.Engine.Tests.Reliability;

/// <summary>
/// Every artifact damaged the ways disks and people damage files, every impossible argument, a second process on one
/// folder: each through the command line exactly as <c>Program</c> runs it, and each must end with exit code 1, one
/// error on stderr that names the file or option, no stack trace, and the previous artifacts untouched.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class FaultInjectionTests : IClassFixture<FaultInjectionTests.TinyRun>, IDisposable
{
    private readonly TinyRun run;
    private readonly TemporaryFolder work = new();

    public FaultInjectionTests(TinyRun run) => this.run = run;

    public void Dispose() => work.Dispose();

    /// <summary>A tiny pipeline's artifacts, built once: corpora, pretrained and fine-tuned LMs, a classifier.</summary>
    public sealed class TinyRun : IDisposable
    {
        private readonly TemporaryFolder folder = new();

        public TinyRun()
        {
            TorchTestSetup.Use();
            var (mails, english) = TinyCorpora.Write(folder.Path, seed: 11);
            Mails = mails;
            Check(Cli.Run("tokenize", "-i", english, "--format", "lines", "-o", P("english"), "--preset", "tiny"));
            Check(Cli.Run("tokenize", "-i", mails, "-o", P("spam"), "--preset", "tiny"));
            Check(Cli.Run("pretrain", "-c", P("english"), "-o", P("lm"), "--preset", "tiny"));
            Check(Cli.Run("fine-tune", "-c", P("spam"), "-p", P("lm"), "-o", P("tuned"), "--preset", "tiny"));
            Check(Cli.Run("train-classifier", "-c", P("spam"), "-e", P("tuned"), "-o", P("clf"), "--preset", "tiny"));
            // fastai's weights and vocabulary (the committed fixtures: emb 8, hidden 12, 3 layers) and a SentencePiece model.
            Directory.CreateDirectory(P("fastai"));
            foreach (string name in new[] { "fastai_lm.pth", "fastai_vocab.pkl", Path.Combine("sentencepiece", "bpe.model") })
            {
                File.Copy(Pretrained.Fixture.File(name), Path.Combine(P("fastai"), Path.GetFileName(name)));
            }
            Check(Cli.Run("tokenize", "-i", mails, "-o", P("spam-sp"), "--preset", "tiny", "--subword-model", Path.Combine(P("fastai"), "bpe.model")));
            File.WriteAllText(Path.Combine(P("fastai"), "large.json"), """{ "preset": "large", "bs": 64 }""");
        }

        /// <summary>The folders of the run (each test damages its own copy of them).</summary>
        public static readonly string[] Parts = ["english", "spam", "lm", "tuned", "clf", "fastai", "spam-sp"];

        public string Mails { get; }

        public string P(string name) => Path.Combine(folder.Path, name);

        private static void Check(Cli.Result result) => Assert.True(result.Exit == 0, result.ToString());

        public void Dispose() => folder.Dispose();
    }

    // (file to damage, command that reads it); {0} is the working copy's folder.
    public static TheoryData<string, string> Readers => new()
    {
        { "spam/corpus.ftc", "train-classifier -c {0}/spam -e {0}/tuned -o {0}/out --preset tiny" },
        { "spam/dataset.json", "train-classifier -c {0}/spam -e {0}/tuned -o {0}/out --preset tiny" },
        { "spam/vocab.txt", "train-classifier -c {0}/spam -e {0}/tuned -o {0}/out --preset tiny" },
        { "lm/lm.weights", "fine-tune -c {0}/spam -p {0}/lm -o {0}/out --preset tiny" },
        { "lm/model.json", "fine-tune -c {0}/spam -p {0}/lm -o {0}/out --preset tiny" },
        { "tuned/encoder.weights", "train-classifier -c {0}/spam -e {0}/tuned -o {0}/out --preset tiny" },
        { "tuned/lm.weights", "generate -m {0}/tuned the -n 3 --seed 1" },
        { "clf/classifier.weights", "predict -m {0}/clf cheap pills" },
        { "clf/model.json", "predict -m {0}/clf cheap pills" },
        { "clf/vocab.txt", "predict -m {0}/clf cheap pills" },
        { "fastai/fastai_lm.pth", FastAiFineTune },
        { "fastai/fastai_vocab.pkl", FastAiFineTune },
        { "fastai/bpe.model", "tokenize -i {1} -o {0}/out --preset tiny --subword-model {0}/fastai/bpe.model" },
        { "spam-sp/spm.model", "train-classifier -c {0}/spam-sp -o {0}/out --preset tiny" },
    };

    private const string FastAiFineTune =
        "fine-tune -c {0}/spam -p {0}/fastai/fastai_lm.pth --pretrained-vocab {0}/fastai/fastai_vocab.pkl -o {0}/out --preset tiny --emb 8 --hidden 12 --layers 3";

    public static readonly string[] Damages = ["flip", "truncate-start", "truncate-middle", "truncate-end", "empty", "version"];

    [Theory]
    [MemberData(nameof(Readers))]
    public void A_damaged_artifact_is_refused_naming_its_file_and_nothing_is_written(string file, string command)
    {
        foreach (string damage in Damages)
        {
            string copy = CopyRun(damage);
            string path = Path.Combine(copy, file);
            if (!Damage(path, damage))
            {
                continue;   // e.g. a text file has no binary version field
            }
            Cli.Result result = Cli.Run(string.Format(System.Globalization.CultureInfo.InvariantCulture, command, copy, run.Mails).Split(' '));
            Assert.True(result.Exit == 1, $"{damage} {file}: {result}");
            AssertOneCleanError(result, Path.GetFileName(file) == "vocab.txt" ? "vocab" : Path.GetFileName(file), $"{damage} {file}");
            Assert.False(File.Exists(Path.Combine(copy, "out", "classifier.weights")), $"{damage} {file}: a classifier was written");
            Assert.False(File.Exists(Path.Combine(copy, "out", "lm.weights")), $"{damage} {file}: a language model was written");
            Assert.False(File.Exists(Path.Combine(copy, "out", "corpus.ftc")), $"{damage} {file}: a corpus was written");
        }
    }

    [Fact]
    public void A_corpus_of_one_class_is_refused_naming_it_and_its_class()
    {
        string mails = work.Combine("one-class");
        for (int i = 0; i < 8; i++)
        {
            Directory.CreateDirectory(Path.Combine(mails, i < 6 ? "train" : "test", "spam"));
            File.WriteAllText(Path.Combine(mails, i < 6 ? "train" : "test", "spam", $"{i}.txt"), $"cheap pills number {i}");
        }
        Assert.Equal(0, Cli.Run("tokenize", "-i", mails, "-o", work.Combine("one-class-corpus"), "--preset", "tiny").Exit);
        Cli.Result result = Cli.Run("train-classifier", "-c", work.Combine("one-class-corpus"), "-o", work.Combine("out"), "--preset", "tiny");
        Assert.Equal(1, result.Exit);
        AssertOneCleanError(result, $"'{work.Combine("one-class-corpus")}' has one class ('spam')", "one class");
    }

    [Fact]
    public void The_undamaged_fastai_weights_fine_tune_so_the_damaged_rows_test_the_damage()
    {
        string copy = CopyRun("fastai");
        Cli.Result result = Cli.Run(string.Format(System.Globalization.CultureInfo.InvariantCulture, FastAiFineTune, copy).Split(' '));
        Assert.True(result.Exit == 0, result.ToString());
    }

    [Fact]
    public void A_pickle_that_would_run_a_command_is_refused_through_the_command_line_and_runs_nothing()
    {
        // fastai's load_learner unpickles whatever a file says (fastai issue #4163); here GLOBAL os.system + REDUCE.
        string copy = CopyRun("evil");
        string witness = Path.Combine(copy, "pwned");
        byte[] command = System.Text.Encoding.ASCII.GetBytes($"touch {witness}");
        byte[] pickle = [0x80, 2, (byte)'c', .. "os\nsystem\n"u8, (byte)'X', .. BitConverter.GetBytes(command.Length), .. command, 0x85, (byte)'R', (byte)'.'];
        string evil = Path.Combine(copy, "fastai", "fastai_lm.pth");
        File.Delete(evil);
        using (var archive = System.IO.Compression.ZipFile.Open(evil, System.IO.Compression.ZipArchiveMode.Create))
        {
            using var stream = archive.CreateEntry("fastai_lm/data.pkl").Open();
            stream.Write(pickle);
        }
        Cli.Result result = Cli.Run(string.Format(System.Globalization.CultureInfo.InvariantCulture, FastAiFineTune, copy).Split(' '));
        Assert.Equal(1, result.Exit);
        AssertOneCleanError(result, "os.system", "pickle payload");
        AssertOneCleanError(result, "fastai_lm.pth", "pickle payload");
        Assert.False(File.Exists(witness), "the pickle's command ran");
    }

    [Fact]
    public void Another_sentencepiece_model_put_in_a_corpus_folder_is_refused_by_its_recorded_sha256()
    {
        string copy = CopyRun("spm-swap");
        File.Copy(Pretrained.Fixture.File(Path.Combine("sentencepiece", "unigram.model")), Path.Combine(copy, "spam-sp", "spm.model"), overwrite: true);
        Cli.Result result = Cli.Run("train-classifier", "-c", Path.Combine(copy, "spam-sp"), "-o", Path.Combine(copy, "out"), "--preset", "tiny");
        Assert.Equal(1, result.Exit);
        AssertOneCleanError(result, "is not the SentencePiece model recorded in", "swapped spm.model");
    }

    [Fact]
    public void Weights_of_the_wrong_kind_are_refused()
    {
        string copy = CopyRun("kind");
        File.Copy(Path.Combine(copy, "clf", "classifier.weights"), Path.Combine(copy, "tuned", "encoder.weights"), overwrite: true);
        Cli.Result result = Cli.Run("train-classifier", "-c", Path.Combine(copy, "spam"), "-e", Path.Combine(copy, "tuned"), "-o", Path.Combine(copy, "out"), "--preset", "tiny");
        Assert.Equal(1, result.Exit);
        AssertOneCleanError(result, "encoder.weights", "classifier weights as an encoder");
    }

    public static TheoryData<string, string> BadArguments => new()
    {
        { "train-classifier -c {0}/spam -o {0}/out --preset tiny --labelled 0", "--labelled" },
        { "train-classifier -c {0}/spam -o {0}/out --preset tiny --labelled -5", "--labelled" },
        { "train-classifier -c {0}/spam -o {0}/out --preset tiny --labelled 1", "--labelled 1" },
        { "train-classifier -c {0}/english -o {0}/out --preset tiny", "has no labels" },
        { "train-classifier -c {0}/spam -e {0}/tuned -o {0}/out --preset tiny --backwards", "reads text forwards" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --epochs -1", "--epochs" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --bs -3", "--bs" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --clip -1", "--clip" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --config {0}/fastai/large.json", "give the preset once" },
        { "pretrain -c {0}/english -o {0}/out --config {0}/fastai/large.json --bs 0", "--bs" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --epochs 0", "--epochs" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --bs 0", "--bs" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --bptt 0", "--bptt" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --lr 0", "--lr" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --lr -1", "--lr" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --lr NaN", "--lr" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --threads 0", "--threads" },
        { "pretrain -c {0}/english -o {0}/out --preset nope", "nope" },
        { "pretrain -c {0}/english -o {0}/out --preset tiny --bs 100000", "--bs" },
        { "fine-tune -c {0}/spam -p {0}/lm -o {0}/out --preset small", "--preset tiny" },
        { "generate -m {0}/tuned the -n 0", "--words" },
        { "generate -m {0}/tuned the -n 100000000", "--words" },
        { "predict -m {0}/clf", "Nothing to classify" },
        { "sample-efficiency -c {0}/spam -o {0}/out --preset tiny", "--encoder" },
        { "sample-efficiency -c {0}/spam -e {0}/tuned -o {0}/out --preset tiny --augment-arms eda,flip", "--augment-arms: 'flip'" },
        { "sample-efficiency -c {0}/spam -e {0}/tuned -o {0}/out --preset tiny --augment-arms command", "--augment-command" },
        { "train-classifier -c {0}/spam -o {0}/out --preset tiny --augment contextual", "--encoder" },
        { "train-classifier -c {0}/spam -o {0}/out --preset tiny --augment eda --augment-share 2", "--augment-share 2" },
        { "train-classifier -c {0}/spam -o {0}/out --preset tiny --augment eda --synonyms {0}/none.tsv", "none.tsv" },
        { "train-classifier -c {0}/spam -e {0}/tuned -o {0}/out --preset tiny --augment command --augment-command false", "exited with code 1" },
        { "tokenize -i {0}/nowhere -o {0}/out --preset tiny", "nowhere" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void A_bad_argument_gets_one_clear_line_naming_it(string command, string named)
    {
        string copy = CopyRun("args");
        Cli.Result result = Cli.Run(string.Format(System.Globalization.CultureInfo.InvariantCulture, command, copy).Split(' '));
        Assert.True(result.Exit == 1, result.ToString());
        AssertOneCleanError(result, named, command);
        Assert.False(Directory.Exists(Path.Combine(copy, "out", "checkpoints")), $"{command}: training started");
    }

    [Fact]
    public void Tokenize_into_a_model_folder_is_refused_and_the_model_is_untouched()
    {
        string copy = CopyRun("into-model");
        string vocabulary = Path.Combine(copy, "clf", "vocab.txt");
        byte[] before = SHA256.HashData(File.ReadAllBytes(vocabulary));
        Cli.Result result = Cli.Run("tokenize", "-i", run.Mails, "-o", Path.Combine(copy, "clf"), "--preset", "tiny", "--min-freq", "1");
        Assert.Equal(1, result.Exit);
        AssertOneCleanError(result, "holds a classifier", "tokenize into a classifier folder");
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(vocabulary)));
        Assert.Equal(0, Cli.Run("predict", "-m", Path.Combine(copy, "clf"), "cheap pills").Exit);

        result = Cli.Run("train-classifier", "-c", Path.Combine(copy, "spam"), "-o", Path.Combine(copy, "lm"), "--preset", "tiny");
        Assert.Equal(1, result.Exit);
        AssertOneCleanError(result, "holds a language model", "a classifier into a language-model folder");
    }

    [Fact]
    public void A_second_command_on_a_claimed_folder_is_refused_until_the_first_releases_it()
    {
        string folder = work.Combine("claimed");
        using (OutputFolder.Claim(folder, OutputKind.LanguageModel))
        {
            var error = Assert.Throws<IOException>(() => OutputFolder.Claim(folder, OutputKind.LanguageModel));
            Assert.Contains("in use by another fasttext command", error.Message, StringComparison.Ordinal);
            Cli.Result result = Cli.Run("pretrain", "-c", run.P("english"), "-o", folder, "--preset", "tiny");
            Assert.Equal(1, result.Exit);
            AssertOneCleanError(result, "in use", "pretrain into a claimed folder");
        }
        using (OutputFolder.Claim(folder, OutputKind.LanguageModel))
        {
        }
    }

    [Fact]
    public void Temporaries_of_a_killed_writer_are_swept_and_a_live_writers_kept()
    {
        string folder = work.Combine("sweep");
        Directory.CreateDirectory(folder);
        int dead = DeadProcessId();
        string abandoned = Path.Combine(folder, $".corpus.ftc.{dead}.0123abcd.tmp.ftc");
        string side = abandoned + ".offsets";
        string live = Path.Combine(folder, ".corpus.ftc.1.4567cdef.tmp.ftc");     // pid 1 is always running
        string other = Path.Combine(folder, $".vocab.txt.{dead}.89abcdef.tmp.txt");
        foreach (string f in new[] { abandoned, side, live, other })
        {
            File.WriteAllText(f, "partial");
        }
        AtomicFile.WriteAllText(Path.Combine(folder, "corpus.ftc"), "new");
        Assert.False(File.Exists(abandoned));
        Assert.False(File.Exists(side));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other));     // another file's temporaries go when that file is next written
        Assert.Equal("new", File.ReadAllText(Path.Combine(folder, "corpus.ftc")));
    }

    [Fact]
    public void A_full_disk_fails_the_command_clearly_and_the_previous_model_survives_byte_for_byte()
    {
        // A private 1 MB tmpfs holding a copy of the language model, then filled to the last block; pretraining into it
        // again must fail on its first write and keep the old files.
        string mount = work.Combine("full-disk");
        string stderr = PretrainIntoPrivateMount(mount, [
            $"mount -t tmpfs -o size=1m tmpfs '{mount}'",
            $"cp -r '{run.P("lm")}' '{mount}/lm'",
            $"(dd if=/dev/zero of='{mount}/filler' bs=4k 2>/dev/null || true)"]);
        Assert.Contains("No space left on device", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_only_output_folder_is_refused_before_training_and_a_read_only_corpus_is_read()
    {
        // Copies of the run's folders bind-mounted read-only (permissions alone do not stop root); then, reading needs
        // no write: a classifier trains from the corpus and encoder on that mount into a writable folder.
        string mount = work.Combine("read-only");
        string classifier = work.Combine("classifier-from-read-only");
        string fasttext = Path.Combine(AppContext.BaseDirectory, "fasttext");
        string stderr = PretrainIntoPrivateMount(mount, [
            $"cp -r '{run.P("lm")}' '{mount}/lm'",
            $"cp -r '{run.P("spam")}' '{mount}/spam'",
            $"cp -r '{run.P("tuned")}' '{mount}/tuned'",
            $"mount --bind '{mount}' '{mount}'",
            $"mount -o remount,bind,ro '{mount}'"],
            after: $"'{fasttext}' train-classifier -c '{mount}/spam' -e '{mount}/tuned' -o '{classifier}' --preset tiny --threads 1 > /dev/null");
        Assert.Contains($"Output folder '{mount}/lm' cannot be written (Read-only file system", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("in use by another", stderr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(classifier, "classifier.weights")));
    }

    // Inside a private user + mount namespace (unshare -rm: no root needed, nothing visible outside): the setup commands
    // build <mount>/lm, a copy of the language model; pretraining into it must then fail with exit 1 and one clean line,
    // leaving the model's files sha256-identical and no temporary; `after` runs last and must succeed. Returns that
    // pretrain's stderr.
    private string PretrainIntoPrivateMount(string mount, string[] setup, string after = "true")
    {
        Directory.CreateDirectory(mount);
        string fasttext = Path.Combine(AppContext.BaseDirectory, "fasttext");
        string outside = work.Combine(Path.GetFileName(mount) + "-");
        string model = $"'{mount}'/lm/*.weights '{mount}'/lm/model.json '{mount}'/lm/vocab.txt";
        string script = string.Join(" && ", [
            .. setup,
            $"(sha256sum {model} > '{outside}before.txt' || true)",
            $"('{fasttext}' pretrain -c '{run.P("english")}' -o '{mount}/lm' --preset tiny --threads 1 > '{outside}stdout.txt' 2> '{outside}stderr.txt'; echo $? > '{outside}exit.txt')",
            $"sha256sum {model} > '{outside}after.txt'",
            $"(ls -A '{mount}/lm' > '{outside}files.txt')",
            after]);
        var start = new System.Diagnostics.ProcessStartInfo("unshare", ["-rm", "sh", "-c", script]) { RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        string shellError = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(180_000), "the private-mount run did not finish in 3 minutes");
        Assert.True(process.ExitCode == 0, $"unshare/mount or the last command failed (user namespaces are needed for this test): {shellError}");
        string Read(string name) => File.ReadAllText(outside + name);
        Assert.Equal("1", Read("exit.txt").Trim());
        string stderr = Read("stderr.txt");
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("internal error", stderr, StringComparison.Ordinal);
        Assert.Equal(4, Read("before.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(Read("before.txt"), Read("after.txt"));
        Assert.DoesNotContain(".tmp", Read("files.txt"), StringComparison.Ordinal);
        return stderr;
    }

    [Fact]
    public void Weights_holding_NaN_are_never_written_and_the_previous_file_survives()
    {
        string path = work.Combine("weights.bin");
        using var good = torch.ones(3);
        Engine.Models.TensorArchive.Write(path, new { Kind = "test" }, [new("w", good)]);
        byte[] before = File.ReadAllBytes(path);
        using var bad = torch.tensor(new[] { 1f, float.NaN, 2f });
        var error = Assert.Throws<InvalidDataException>(() => Engine.Models.TensorArchive.Write(path, new { Kind = "test" }, [new("w", bad)]));
        Assert.Contains("'w' holds NaN", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    // Exit code checked by the caller; here: stderr holds the error naming `named`, stdout no error, no stack frame.
    private static void AssertOneCleanError(Cli.Result result, string named, string what)
    {
        Assert.True(result.Error.Contains(named, StringComparison.Ordinal), $"{what}: stderr does not name '{named}': {result}");
        Assert.DoesNotContain("internal error", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("error:", result.Output, StringComparison.Ordinal);
    }

    private string CopyRun(string name)
    {
        string copy = work.Combine(name + "-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (string part in TinyRun.Parts)
        {
            CopyFolder(run.P(part), Path.Combine(copy, part));
        }
        return copy;
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    // Returns false when the damage does not apply to the file.
    private static bool Damage(string path, string damage)
    {
        byte[] bytes = File.ReadAllBytes(path);
        bool binary = path.EndsWith(".weights", StringComparison.Ordinal) || path.EndsWith(".ftc", StringComparison.Ordinal);
        switch (damage)
        {
            case "flip":
                for (int i = 0; i < 16; i++)
                {
                    bytes[(bytes.Length / 2) + i] ^= 0x5A;
                }
                break;
            case "truncate-start":
                bytes = bytes[..Math.Min(bytes.Length - 1, 7)];
                break;
            case "truncate-middle":
                bytes = bytes[..(bytes.Length / 2)];
                break;
            case "truncate-end":
                // A text file's last byte is its final newline, whose loss changes nothing: cut into the last line.
                bytes = bytes[..^(binary ? 1 : 2)];
                break;
            case "empty":
                bytes = [];
                break;
            case "version" when binary:
                // Both formats keep their version as an int32 at byte 4 (weights) or 8 (corpus).
                int at = path.EndsWith(".ftc", StringComparison.Ordinal) ? 8 : 4;
                BitConverter.TryWriteBytes(bytes.AsSpan(at), 99);
                break;
            default:
                return false;
        }
        File.WriteAllBytes(path, bytes);
        return true;
    }

    private static int DeadProcessId()
    {
        for (int pid = 4_000_000; ; pid--)
        {
            if (!Directory.Exists($"/proc/{pid}"))
            {
                return pid;
            }
        }
    }
}

/// <summary>The command line run as <c>Program</c> runs it (errors through <see cref="CommandErrors"/>), in process.</summary>
internal static class Cli
{
    public sealed record Result(int Exit, string Output, string Error)
    {
        public override string ToString() => $"exit {Exit}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = output, Error = error };
        ParseResult parsed = FastTextCommandLine.Build(handlers).Parse(args);
        int exit = CommandErrors.RunAsync(() => parsed.InvokeAsync(configuration), error, debug: false).GetAwaiter().GetResult();
        return new Result(exit, output.ToString(), error.ToString());
    }
}
