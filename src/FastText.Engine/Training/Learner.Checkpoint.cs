using System.Globalization;
using FastText.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

// The learner's checkpoint format: what a resumed fit needs to continue bit for bit.
public sealed partial class Learner<TBatch>
{
    // ---------------------------------------------------------------------------------------------------------------
    // Checkpoints: model, optimizer, schedule position, smoothed loss, history, RNG, loss scale, loader position (epoch
    // number + batch index: the loaders plan an epoch from (seed, epoch) alone), carried recurrent state, the running
    // epoch's tokens and time. Format 2 adds the mid-epoch fields to format 1 (epoch ends only), which still loads.

    private const string CheckpointKind = "learner-checkpoint";
    private const int CheckpointVersion = 2;
    private const string CarriedStatePrefix = "carried.";

    private sealed record CheckpointHeader(string Kind, string Fingerprint, string FitSignature, int EpochsDoneInFit,
        int CompletedEpochs, int FrozenUpTo, double SmoothedAverage, int SmoothedCount, double? LossScale, int LossScaleClean,
        long LossScaleSkipped, List<EpochResult> History, int Version = 1, string? DataSignature = null, int BatchesDoneInEpoch = 0,
        long Iteration = 0, long EpochTokens = 0, double EpochTrainSeconds = 0);

    /// <summary>Writes a checkpoint (temporary file + rename) that <see cref="LoadCheckpoint(string)"/> restores exactly.</summary>
    public void SaveCheckpoint(string path) => SaveCheckpoint(new FitPosition("", path), new LearnerContext());

    /// <summary>Restores a checkpoint written by this task's architecture and vocabulary; fails clearly otherwise.</summary>
    public void LoadCheckpoint(string path) => LoadCheckpoint(path, null);

    private void SaveCheckpoint(FitPosition position, LearnerContext context)
    {
        context.CheckpointNow = false;
        if (position.CheckpointPath is not { } path)
        {
            return;
        }
        DynamicLossScaler? scaler = LossScaler();
        var header = new CheckpointHeader(CheckpointKind, task.Fingerprint, position.Signature, position.Epoch, completedEpochs, FrozenUpTo,
            smoothed.Average, smoothed.Count, scaler?.Scale, scaler?.CleanSteps ?? 0, scaler?.SkippedSteps ?? 0, history.ToList(),
            CheckpointVersion, Training.Signature, position.Batches, context.Iteration, position.Tokens, position.TrainSeconds);
        using Tensor rng = torch.get_rng_state();
        var tensors = task.Model.state_dict().Select(kv => new KeyValuePair<string, Tensor>("model." + kv.Key, kv.Value))
            .Append(new KeyValuePair<string, Tensor>("rng", rng))
            .Concat(task.CarriedState.Select((t, i) => new KeyValuePair<string, Tensor>(CarriedStatePrefix + i.ToString(CultureInfo.InvariantCulture), t)));
        TensorArchive.Write(path, header, tensors, optimizer.Save);
    }

    private FitPosition LoadCheckpoint(string path, string? signature)
    {
        CheckpointHeader? checkedHeader = null;
        var (header, tensors) = TensorArchive.Read<CheckpointHeader>(path, (header, reader) =>
        {
            CheckHeader(header, path, signature);
            checkedHeader = header;
            FreezeTo(header.FrozenUpTo);                 // same optimizer layout as when saved
            optimizer.Load(reader);
        });
        try
        {
            if (checkedHeader is null)
            {
                throw new InvalidDataException($"Checkpoint '{path}' has no optimizer state.");
            }
            var model = tensors.Where(kv => kv.Key.StartsWith("model.", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key["model.".Length..], kv => kv.Value, StringComparer.Ordinal);
            TensorArchive.LoadInto(task.Model, model, path);
            if (!tensors.TryGetValue("rng", out Tensor? rng))
            {
                throw new InvalidDataException($"Checkpoint '{path}' has no RNG state.");
            }
            torch.set_rng_state(rng);
            smoothed.Restore(header.SmoothedAverage, header.SmoothedCount);
            completedEpochs = header.CompletedEpochs;
            history.Clear();
            history.AddRange(header.History);
            if (LossScaler() is { } scaler && header.LossScale is { } scale)
            {
                scaler.Restore(scale, header.LossScaleClean, header.LossScaleSkipped);
            }
            RestoreCarriedState(tensors, path);
            // Format 1 (epoch ends only) stored no iteration: count the batches of the fit's finished epochs.
            long iteration = header.Version >= 2 ? header.Iteration : CountIterations(header.CompletedEpochs - header.EpochsDoneInFit, header.EpochsDoneInFit);
            return new FitPosition(header.FitSignature, path, header.EpochsDoneInFit, header.BatchesDoneInEpoch, iteration,
                header.EpochTokens, header.EpochTrainSeconds);
        }
        finally
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
        }
    }

    // The loss scaler among the callbacks, whose state a checkpoint carries (at most one: two would both scale the loss).
    private DynamicLossScaler? LossScaler()
    {
        DynamicLossScaler? found = null;
        foreach (LearnerCallback callback in Callbacks)
        {
            if (callback is DynamicLossScaler scaler)
            {
                found = found is null ? scaler : throw new InvalidOperationException("A learner takes one DynamicLossScaler; its callbacks hold two.");
            }
        }
        return found;
    }

    private void RestoreCarriedState(Dictionary<string, Tensor> tensors, string path)
    {
        var state = new List<Tensor>();
        while (tensors.TryGetValue(CarriedStatePrefix + state.Count.ToString(CultureInfo.InvariantCulture), out Tensor? t))
        {
            state.Add(t);
        }
        task.ResetState();
        if (state.Count == 0)
        {
            return;
        }
        try
        {
            task.RestoreCarriedState(state);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}': its carried recurrent state does not fit this model. {e.Message}", e);
        }
    }

    private void CheckHeader(CheckpointHeader header, string path, string? signature)
    {
        if (header.Kind != CheckpointKind)
        {
            throw new InvalidDataException($"'{path}' is a {header.Kind} file, not a learner checkpoint.");
        }
        if (header.Version is < 1 or > CheckpointVersion)
        {
            throw new InvalidDataException($"Checkpoint '{path}' has checkpoint format {header.Version}; this build reads formats 1 to {CheckpointVersion}. "
                + "It was written by a newer FastText.Engine: resume it with that version, or delete it to start the fit over.");
        }
        if (header.Fingerprint != task.Fingerprint)
        {
            throw new InvalidDataException($"Checkpoint '{path}' was written for '{header.Fingerprint}'; this learner's model is '{task.Fingerprint}'. "
                + "A checkpoint only resumes the same architecture and vocabulary.");
        }
        if (signature is not null && header.FitSignature != signature)
        {
            throw new InvalidDataException($"Checkpoint '{path}' belongs to another fit ('{header.FitSignature}'); this call is '{signature}'. "
                + "Resume with the same epochs, learning rates, schedule and data, or delete the checkpoint.");
        }
        if (signature is not null && header.DataSignature is { } data && data != Training.Signature)
        {
            throw new InvalidDataException($"Checkpoint '{path}' was written with the training batches '{data}'; this learner's are '{Training.Signature}'. "
                + "Its loader position (epoch, batch) only means the same data, batch shape, order and seed.");
        }
        if (header.FrozenUpTo < 0 || header.FrozenUpTo >= optimizer.Groups.Count)
        {
            throw new InvalidDataException($"Checkpoint '{path}' freezes up to group {header.FrozenUpTo}; the model has {optimizer.Groups.Count} groups.");
        }
    }
}
