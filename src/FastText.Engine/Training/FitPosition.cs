using System.Diagnostics;

namespace FastText.Engine.Training;

/// <summary>Where a fit stands: epoch within the fit, training batches of that epoch done, the global schedule step,
/// and the running epoch's tokens and training time (carried across a resume for its throughput).</summary>
internal sealed class FitPosition(string signature, string? checkpointPath, int epoch = 0, int batches = 0, long iteration = 0,
    long tokens = 0, double seconds = 0)
{
    private readonly Stopwatch clock = new();

    /// <summary>What the fit is (epochs, rates, schedule, batches, optimizer): a checkpoint only resumes the same one.</summary>
    public string Signature => signature;

    public string? CheckpointPath => checkpointPath;

    public int Epoch { get; private set; } = epoch;

    public int Batches { get; set; } = batches;

    public long Iteration => iteration;

    public long Tokens { get; set; } = tokens;

    public double TrainSeconds => seconds + clock.Elapsed.TotalSeconds;

    public void StartClock() => clock.Start();

    public void StopClock() => clock.Stop();

    public void NextEpoch()
    {
        Epoch++;
        Batches = 0;
        Tokens = 0;
        seconds = 0;
        clock.Reset();
    }
}
