namespace FastText.Engine.Training;

/// <summary>Per-fit options.</summary>
/// <param name="Schedule">One-cycle shape (fastai defaults for text learners).</param>
/// <param name="CheckpointPath">When set, an atomic checkpoint is written after every epoch, and in the middle of an epoch
/// every <paramref name="CheckpointEveryBatches"/> batches, when a callback sets <see cref="LearnerContext.CheckpointNow"/>
/// or <see cref="LearnerContext.StopNow"/>, and when the fit is cancelled (then at the last finished batch).</param>
/// <param name="Resume">When true and <paramref name="CheckpointPath"/> holds a checkpoint of this same fit, continue from
/// it — after its last epoch, or at the next batch of a mid-epoch checkpoint.</param>
/// <param name="CheckpointEveryBatches">Mid-epoch checkpoint interval in training batches (needs a checkpoint path), or null.</param>
public sealed record FitOptions(OneCycleSchedule? Schedule = null, string? CheckpointPath = null, bool Resume = false,
    int? CheckpointEveryBatches = null);
