using FastText.Engine.IO;
using FastText.Engine.Models;
using FastText.Engine.Recipes;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Recipes;

/// <summary>
/// Ctrl+C in the middle of a run, then the same run with <see cref="UlmfitPipeline.Resume"/>: completed stages are
/// reused, the interrupted phase continues from its checkpoint, and the models end bit-identical to an uninterrupted
/// run's (1 torch thread; the test owns torch's global RNG).
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class ResumeTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string root => temporary.Path;

    private static readonly UlmfitPreset Preset = PipelineTests.Micro with { FineTuneEpochs = 2 };

    /// <summary>Counts batches per step and cancels after <see cref="CancelAfter"/> batches of the step whose
    /// description contains <see cref="Phase"/>.</summary>
    private sealed class CancellingProgress(string phase, int cancelAfter) : IProgressSink
    {
        public CancellationTokenSource Source { get; } = new();

        public string Phase { get; } = phase;

        public int CancelAfter { get; } = cancelAfter;

        public List<string> Steps { get; } = [];

        public IProgressTask Start(string description, long total, string unit)
        {
            Steps.Add(description);
            return new Task(this, description.Contains(Phase, StringComparison.Ordinal));
        }

        public void Log(string line)
        {
        }

        private sealed class Task(CancellingProgress owner, bool watched) : IProgressTask
        {
            public void Report(long done, string? status = null)
            {
                if (watched && done >= owner.CancelAfter)
                {
                    owner.Source.Cancel();
                }
            }

            public void Dispose()
            {
            }
        }
    }

    private sealed record Outcome(Dictionary<string, Tensor> LanguageModel, Dictionary<string, Tensor> Classifier, double Accuracy);

    private static Outcome Run(string folder, IProgressSink? progress = null, CancellationToken cancellation = default, bool resume = false)
    {
        var run = new UlmfitPipeline(folder, Preset, progress) { Cancellation = cancellation, Resume = resume };
        var (english, mails) = PipelineTests.EasyTexts();
        using TextDataset general = run.Tokenize("general", english);
        using TextDataset task = run.Tokenize("mails", mails);
        LanguageModelArtifact pretrained = run.Pretrain(general);
        LanguageModelArtifact tuned = run.FineTune(pretrained, task, findLearningRate: false);
        using ClassifierResult classifier = run.TrainClassifier(task, tuned);
        using var lm = LanguageModelArtifact.Open(tuned.Folder).LoadModel();
        return new Outcome(TinyModels.Snapshot(lm), TinyModels.Snapshot(classifier.Model), classifier.Evaluation.Metrics.Accuracy);
    }

    private static void AssertSame(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, tensor) in expected)
        {
            Assert.True(TinyModels.Same(tensor, actual[name]), $"{name} differs after resuming");
        }
    }

    [Theory]
    [InlineData("fine-tune · unfreeze()", 3)]      // mid-epoch, second phase of the language-model stage
    [InlineData("classifier · unfreeze()", 5)]     // mid-epoch, last phase of the classifier (gradual unfreezing)
    [InlineData("pretrain", 2)]                    // first stage, first phase
    public void A_run_cancelled_mid_phase_and_resumed_ends_like_an_uninterrupted_run(string phase, int batches)
    {
        TorchTestSetup.Use();
        Outcome reference = Run(Path.Combine(root, "reference"));

        string folder = Path.Combine(root, "interrupted");
        var cancelling = new CancellingProgress(phase, batches);
        Assert.ThrowsAny<OperationCanceledException>(() => Run(folder, cancelling, cancelling.Source.Token));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(folder, "checkpoints"), "*.ckpt"));

        var watching = new CancellingProgress("never", int.MaxValue);
        Outcome resumed = Run(folder, watching, resume: true);
        AssertSame(reference.LanguageModel, resumed.LanguageModel);
        AssertSame(reference.Classifier, resumed.Classifier);
        Assert.Equal(reference.Accuracy, resumed.Accuracy);
        // Stages completed before the interruption were reused, not trained again.
        if (phase != "pretrain")
        {
            Assert.DoesNotContain(watching.Steps, s => s.StartsWith("pretrain", StringComparison.Ordinal));
        }
        // A finished stage leaves only its completion record behind.
        Assert.Empty(Directory.GetFiles(Path.Combine(folder, "checkpoints"), "*.ckpt"));
    }

    [Fact]
    public void Resuming_a_completed_run_trains_nothing_and_a_fresh_run_ignores_old_checkpoints()
    {
        TorchTestSetup.Use();
        string folder = Path.Combine(root, "run");
        Outcome first = Run(folder);

        var watching = new CancellingProgress("never", int.MaxValue);
        Outcome again = Run(folder, watching, resume: true);
        Assert.DoesNotContain(watching.Steps, s => s.Contains("epoch", StringComparison.Ordinal));
        AssertSame(first.Classifier, again.Classifier);

        // Without --resume the same folder is trained afresh (same seeds, so the same result).
        var fresh = new CancellingProgress("never", int.MaxValue);
        Outcome rerun = Run(folder, fresh);
        Assert.Contains(fresh.Steps, s => s.StartsWith("pretrain", StringComparison.Ordinal));
        AssertSame(first.Classifier, rerun.Classifier);
    }

    [Fact]
    public void A_checkpoint_of_other_settings_is_refused_naming_the_file()
    {
        TorchTestSetup.Use();
        string folder = Path.Combine(root, "changed");
        var cancelling = new CancellingProgress("fine-tune · unfreeze()", 2);
        Assert.ThrowsAny<OperationCanceledException>(() => Run(folder, cancelling, cancelling.Source.Token));

        // Resumed with another learning rate for the interrupted phase: its checkpoints are refused, and the completed
        // pretraining stage (other settings now) is trained again rather than reused.
        var progress = new CancellingProgress("never", int.MaxValue);
        var run = new UlmfitPipeline(folder, Preset with { FineTuneLearningRate = Preset.FineTuneLearningRate * 2 }, progress) { Resume = true };
        var (english, mails) = PipelineTests.EasyTexts();
        using TextDataset general = run.Tokenize("general", english);
        using TextDataset task = run.Tokenize("mails", mails);
        LanguageModelArtifact pretrained = run.Pretrain(general);
        Assert.Contains(progress.Steps, s => s.StartsWith("pretrain", StringComparison.Ordinal));
        var error = Assert.Throws<InvalidDataException>(() => run.FineTune(pretrained, task, findLearningRate: false));
        Assert.Contains(Path.Combine(folder, "checkpoints"), error.Message, StringComparison.Ordinal);
        Assert.Contains("'finetuned'", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => temporary.Dispose();
}
