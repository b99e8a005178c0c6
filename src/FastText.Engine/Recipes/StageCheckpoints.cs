using FastText.Engine.IO;
using FastText.Engine.Training;

namespace FastText.Engine.Recipes;

/// <summary>
/// The checkpoints of one training stage of a run (<c>pretrain</c>, <c>fine-tune</c>, <c>classifier</c>) in
/// <c>checkpoints/</c> of the run folder, so an interrupted run (Ctrl+C, a crash, a reboot) continues where it stopped.
/// </summary>
/// <remarks>
/// <para>A stage is a sequence of fit calls (phases: fastai's frozen epoch, then unfrozen; the classifier's gradual
/// unfreezing). Phase <c>i</c> checkpoints into <c>&lt;stage&gt;-i.ckpt</c> after every epoch and when cancelled
/// (<see cref="Learner{TBatch}.FitOneCycle"/>); when it completes, <c>&lt;stage&gt;-i.ckpt.done</c> marks it, and phase
/// <c>i−1</c>'s files go, so at most two checkpoints of a stage exist (a large model's weights and Adam state are
/// hundreds of MB each). <c>&lt;stage&gt;.key</c> records what the stage runs with (preset, data, starting weights); when
/// its artifact is saved, the phase files and the key go and <c>&lt;stage&gt;.done</c> keeps the key.</para>
/// <para>Resuming, phases before the last checkpointed one are skipped (that checkpoint holds the model, optimizer,
/// RNG and schedule after them); a completed last phase is loaded, an interrupted one continues from its checkpoint
/// (mid-epoch checkpoints at the next batch). Checkpoints of a stage run with another key are refused (and the learner
/// itself refuses one of another model, fit or data), naming the folder or file. A stage whose <c>.done</c> record
/// matches is not trained again: its saved artifact is reused.</para>
/// </remarks>
internal sealed class StageCheckpoints
{
    private readonly string folder;
    private readonly string stage;
    private readonly string key;
    private readonly int resumePhase;
    private readonly int? checkpointEveryBatches;

    /// <param name="runFolder">The run folder.</param>
    /// <param name="stage">Stage (artifact) name.</param>
    /// <param name="key">What the stage is run with (preset, data); a completed stage is reused only under the same key.</param>
    /// <param name="resume">Continue from what an earlier run left; false starts the stage afresh (old files deleted).</param>
    /// <param name="checkpointEveryBatches">Also checkpoint every this many training batches (null: at epoch ends only).
    /// Not part of the key: where the checkpoints fall does not change the result, so a run may resume with another.</param>
    public StageCheckpoints(string runFolder, string stage, string key, bool resume, int? checkpointEveryBatches = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(checkpointEveryBatches ?? 1, 1, nameof(checkpointEveryBatches));
        folder = Path.Combine(runFolder, "checkpoints");
        this.stage = stage;
        this.key = key;
        this.checkpointEveryBatches = checkpointEveryBatches;
        if (!resume)
        {
            DeletePhases();
            Delete(StagePath);
        }
        Completed = resume && HoldsKey(StagePath);
        resumePhase = resume ? PhaseFiles().Where(f => f.Path.EndsWith(".ckpt", StringComparison.Ordinal)).Select(f => f.Phase).DefaultIfEmpty(-1).Max() : -1;
        if (resumePhase >= 0 && !HoldsKey(KeyPath))
        {
            // The learner checks model, fit and batches, but not where the weights it starts from came from (e.g. a
            // pretrained model trained again with other settings): the stage's key covers that.
            throw new InvalidDataException(
                $"'{folder}' holds checkpoints of an interrupted '{stage}' stage that ran with other settings or data; run without resuming to train the stage afresh (its checkpoints are then replaced).");
        }
    }

    /// <summary>True when an earlier run of this run folder completed the stage with the same key (reuse its artifact).</summary>
    public bool Completed { get; }

    /// <summary>True when an earlier run left a checkpoint of this stage to continue from.</summary>
    public bool Resuming => resumePhase >= 0;

    /// <summary>
    /// Runs phase <paramref name="phase"/> through <paramref name="fit"/>, or skips/loads it when resuming (see the
    /// class remarks); marks it done afterwards.
    /// </summary>
    /// <param name="phase">Phase index within the stage.</param>
    /// <param name="learner">The stage's learner (loads a completed phase's checkpoint).</param>
    /// <param name="fit">Calls <c>FitOneCycle</c> with the options given.</param>
    /// <returns>False when the phase was skipped or loaded (no epochs ran).</returns>
    public bool RunPhase<TBatch>(int phase, Learner<TBatch> learner, Action<FitOptions> fit) where TBatch : IDisposable
    {
        ArgumentNullException.ThrowIfNull(learner);
        ArgumentNullException.ThrowIfNull(fit);
        if (phase < resumePhase)
        {
            return false;
        }
        string path = PhasePath(phase);
        try
        {
            if (phase == resumePhase && File.Exists(path + ".done"))
            {
                learner.LoadCheckpoint(path);
                return false;
            }
            if (resumePhase < 0 && phase == 0)
            {
                AtomicFile.WriteAllText(KeyPath, key);     // the stage starts afresh: its checkpoints are of this key
            }
            fit(new FitOptions(CheckpointPath: path, Resume: phase == resumePhase, CheckpointEveryBatches: checkpointEveryBatches));
        }
        catch (InvalidDataException error) when (phase == resumePhase && error.Message.Contains(path, StringComparison.Ordinal))
        {
            // A damaged or foreign checkpoint: nothing was loaded from it; say how to go on.
            throw new InvalidDataException($"{error.Message} Run without resuming to train the '{stage}' stage afresh (its checkpoints are then replaced).", error);
        }
        AtomicFile.WriteAllText(path + ".done", "");
        if (phase > 0)
        {
            Delete(PhasePath(phase - 1));
            Delete(PhasePath(phase - 1) + ".done");
        }
        return true;
    }

    /// <summary>Records the stage as completed (its artifact is saved) and deletes its phase checkpoints.</summary>
    public void Complete()
    {
        AtomicFile.WriteAllText(StagePath, key);
        DeletePhases();
        Delete(KeyPath);
    }

    // Whether the record at path names this stage's key (what it runs with).
    private bool HoldsKey(string path) => File.Exists(path) && File.ReadAllText(path) == key;

    private string StagePath => Path.Combine(folder, stage + ".done");

    private string KeyPath => Path.Combine(folder, stage + ".key");

    private string PhasePath(int phase) => Path.Combine(folder, FormattableString.Invariant($"{stage}-{phase}.ckpt"));

    private void DeletePhases()
    {
        foreach (var (path, _) in PhaseFiles().ToList())
        {
            File.Delete(path);
        }
    }

    // <stage>-<i>.ckpt and <stage>-<i>.ckpt.done (not another stage whose name starts with this one's).
    private IEnumerable<(string Path, int Phase)> PhaseFiles()
    {
        if (!Directory.Exists(folder))
        {
            yield break;
        }
        foreach (string file in Directory.EnumerateFiles(folder, stage + "-*.ckpt*"))
        {
            string rest = Path.GetFileName(file)[(stage.Length + 1)..];
            int dot = rest.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && int.TryParse(rest.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int phase)
                && rest[dot..] is ".ckpt" or ".ckpt.done")
            {
                yield return (file, phase);
            }
        }
    }

    private static void Delete(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
