using FastText.Engine.Testing;
using FastText.Engine.Tests.Training;

namespace FastText.Engine.Tests.Reliability;

/// <summary>
/// SIGKILL in the middle of training, at the moment a checkpoint write starts: every weights and checkpoint file left
/// verifies, and <c>--resume</c> ends with final weights sha256-identical to an uninterrupted run's. The CLI runs out
/// of process (a kill must end a real process); the soak with random kill points is <c>--run kill-soak</c> in bench/.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class KillAndResumeTests : IClassFixture<KillAndResumeTests.Corpora>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly Corpora corpora;
    private readonly TemporaryFolder work = new();

    public KillAndResumeTests(Corpora corpora) => this.corpora = corpora;

    public void Dispose() => work.Dispose();

    /// <summary>A 3,000-line unlabelled corpus and 600 labelled mails, tokenized once with the tiny preset.</summary>
    public sealed class Corpora : IDisposable
    {
        private readonly TemporaryFolder folder = new();

        public Corpora()
        {
            TorchTestSetup.Use();
            var (mails, english) = TinyCorpora.Write(folder.Path, seed: 5, mails: 600, lines: 3000);
            English = folder.Combine("english");
            Mails = folder.Combine("spam");
            Assert.Equal(0, Cli.Run("tokenize", "-i", english, "--format", "lines", "-o", English, "--preset", "tiny").Exit);
            Assert.Equal(0, Cli.Run("tokenize", "-i", mails, "-o", Mails, "--preset", "tiny").Exit);
        }

        public string English { get; }

        public string Mails { get; }

        public void Dispose() => folder.Dispose();
    }

    private static string Fasttext => Path.Combine(AppContext.BaseDirectory, "fasttext");

    [Fact]
    public void Pretrain_killed_twice_mid_checkpoint_resumes_to_the_uninterrupted_weights()
    {
        string[] command = ["pretrain", "-c", corpora.English, "--preset", "tiny", "--pretrain-epochs", "2", "--checkpoint-every", "10"];
        AssertKillsResumeIdentically(command, ["lm.weights", "encoder.weights"]);
    }

    [Fact]
    public void Train_classifier_killed_twice_mid_checkpoint_resumes_to_the_uninterrupted_weights()
    {
        string[] command = ["train-classifier", "-c", corpora.Mails, "--preset", "tiny", "--checkpoint-every", "3"];
        AssertKillsResumeIdentically(command, ["classifier.weights"]);
    }

    [Fact]
    public void A_checkpoint_damaged_after_a_kill_is_refused_by_resume_with_a_way_on()
    {
        string[] command = ["pretrain", "-c", corpora.English, "--preset", "tiny", "--pretrain-epochs", "2", "--checkpoint-every", "10"];
        string folder = work.Combine("damaged");
        var killed = KilledCommand.Run(Fasttext, [.. command, "-o", folder], folder, new(TimeSpan.Zero, 4), Timeout);
        Assert.True(killed.Killed);
        string checkpoint = Path.Combine(folder, "checkpoints", "pretrain-0.ckpt");
        byte[] bytes = File.ReadAllBytes(checkpoint);
        bytes[bytes.Length / 2] ^= 0x01;        // one flipped bit
        File.WriteAllBytes(checkpoint, bytes);
        var (exit, output, error) = KilledCommand.RunToEnd(Fasttext, [.. command, "-o", folder, "--resume"], Timeout);
        Assert.Equal(1, exit);
        Assert.Contains("pretrain-0.ckpt' is damaged", error, StringComparison.Ordinal);
        Assert.Contains("Run without resuming", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("because:", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(folder, "lm.weights")), output);
        Assert.Equal(bytes, File.ReadAllBytes(checkpoint));        // kept for the user to look at; not overwritten
    }

    private void AssertKillsResumeIdentically(string[] command, string[] finals)
    {
        string reference = work.Combine("reference");
        var whole = KilledCommand.Run(Fasttext, [.. command, "-o", reference], reference, new(TimeSpan.Zero, int.MaxValue), Timeout);
        Assert.False(whole.Killed);
        Assert.True(whole.Writes >= 12, $"the reference wrote {whole.Writes} checkpoints; the test needs more batches");
        string folder = work.Combine("killed");
        // Killed at the start of a checkpoint write a third of the way in, then its resumed run likewise.
        int nth = whole.Writes / 3;
        foreach (string[] arguments in new[] { (string[])[.. command, "-o", folder], [.. command, "-o", folder, "--resume"] })
        {
            var killed = KilledCommand.Run(Fasttext, arguments, folder, new(TimeSpan.Zero, nth), Timeout);
            Assert.True(killed.Killed, $"the run ended before its {nth}th checkpoint write");
            Assert.Empty(killed.Broken);
            Assert.Contains(killed.Files, f => f.StartsWith("checkpoints", StringComparison.Ordinal) && f.EndsWith(".ckpt", StringComparison.Ordinal));
        }
        var (exit, _, error) = KilledCommand.RunToEnd(Fasttext, [.. command, "-o", folder, "--resume"], Timeout);
        Assert.True(exit == 0, error);
        Assert.Equal(KilledCommand.Digests(reference, finals), KilledCommand.Digests(folder, finals));
        Assert.DoesNotContain(Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories), KilledCommand.IsTemporary);
    }
}
