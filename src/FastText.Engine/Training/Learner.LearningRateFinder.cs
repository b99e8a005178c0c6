namespace FastText.Engine.Training;

// fastai's lr_find on the learner: a short run with growing rates, everything restored afterwards.
public sealed partial class Learner<TBatch>
{
    /// <summary>
    /// fastai <c>lr_find</c>: trains with the learning rate growing exponentially from <paramref name="start"/> to
    /// <paramref name="end"/> over <paramref name="iterations"/> batches (β1 0.9), recording the smoothed loss; stops
    /// early when it exceeds 4× its minimum. Model, optimizer and RNG are restored afterwards. The result suggests
    /// rates only when the curve has a clear descent (see <see cref="LearningRateFinderResult"/>).
    /// </summary>
    public LearningRateFinderResult FindLearningRate(double start = 1e-7, double end = 10, int iterations = 100, bool stopOnDivergence = true)
    {
        if (!(start > 0 && end > start) || iterations < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(iterations), "Need 0 < start < end and at least 2 iterations.");
        }
        int planned = iterations;
        string snapshot = Path.Combine(Path.GetTempPath(), $"fasttext-lrfind-{Environment.ProcessId}-{Guid.NewGuid():N}.ckpt");
        SaveCheckpoint(snapshot);
        var points = new List<(double, double)>();
        try
        {
            var context = new LearnerContext { Epochs = 1, Iterations = iterations };
            smoothed.Reset();
            task.Model.train();
            task.ResetState();
            var rates = new double[optimizer.Groups.Count];
            double best = double.PositiveInfinity;
            int epoch = completedEpochs;
            while (points.Count < iterations)
            {
                foreach (TBatch batch in Training.Epoch(epoch++))
                {
                    using (batch)
                    {
                        if (points.Count >= iterations)
                        {
                            continue;
                        }
                        double rate = start * Math.Pow(end / start, (double)points.Count / (iterations - 1));
                        Array.Fill(rates, rate);
                        TrainBatch(batch, rates, 0.9, context);
                        double loss = smoothed.Value;
                        points.Add((rate, loss));
                        best = Math.Min(best, loss);
                        if (stopOnDivergence && (double.IsNaN(loss) || loss > 4 * best))
                        {
                            iterations = points.Count;
                        }
                    }
                }
            }
        }
        finally
        {
            LoadCheckpoint(snapshot);
            File.Delete(snapshot);
        }
        return new LearningRateFinderResult(points, planned);
    }
}
