using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Training;

[Collection(SequentialTorchCollection.Name)]
public sealed class LearnerTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public LearnerTests()
    {
        TorchTestSetup.Use();
    }

    public void Dispose() => temporary.Dispose();

    private static (PatternLanguageModelData Train, PatternLanguageModelData Valid) Data(int vocabulary = 40) =>
        (new PatternLanguageModelData(PatternLanguageModelData.PatternStream(1200, vocabulary, seed: 1), rows: 4, bptt: 12, rotatePerEpoch: true),
         new PatternLanguageModelData(PatternLanguageModelData.PatternStream(400, vocabulary, seed: 2), rows: 4, bptt: 12));

    private static Learner<LanguageModelBatch> NewLearner(AwdLstmLanguageModel model, PatternLanguageModelData train, PatternLanguageModelData valid,
        LearnerOptions? options = null, LanguageModelTaskOptions? taskOptions = null) =>
        new(new LanguageModelTask(model, taskOptions), train, valid, options, Metrics.LanguageModel);

    [Fact]
    public void Training_lowers_validation_loss_and_reports_fastai_metrics()
    {
        var (train, valid) = Data();
        using var model = TinyModels.LanguageModel(seed: 1);
        using var learner = NewLearner(model, train, valid);
        double before = learner.Validate().Loss;
        var results = learner.FitOneCycle(3, 3e-2);
        Assert.Equal(3, results.Count);
        EpochResult last = results[^1];
        Assert.True(last.ValidationLoss < before - 0.5, $"validation loss {before} → {last.ValidationLoss}");
        Assert.Equal(Math.Exp(last.ValidationLoss), last.Metrics["perplexity"], 6);
        Assert.InRange(last.Metrics["accuracy"], 0.08, 1.0);     // chance is 1/40
        Assert.True(double.IsFinite(last.TrainLoss));
        Assert.Equal(3, learner.CompletedEpochs);
        Assert.Equal(new[] { 0, 1, 2 }, Enumerable.Range(0, 3).Select(i => results[i].Epoch));
    }

    [Fact]
    public void Reported_training_loss_is_cross_entropy_plus_fp32_ar_and_tar()
    {
        using var scope = torch.NewDisposeScope();
        using var model = TinyModels.LanguageModel(seed: 2);
        var (train, _) = Data();
        var task = new LanguageModelTask(model);
        using LanguageModelBatch batch = train.Epoch(0).First();
        model.eval();        // no dropout: the pieces can be recomputed
        model.Reset();
        BatchOutput output = task.Step(batch, training: true);
        model.Reset();
        LanguageModelOutput raw = model.call(batch.Inputs);
        Tensor logits = model.Decode(raw.Dropped);
        double ce = nn.functional.cross_entropy(logits.reshape(-1, 40), batch.Targets.reshape(-1)).item<float>();
        double ar = 2 * raw.Dropped.pow(2).mean().item<float>();
        var r = raw.Raw;
        double tar = 1 * (r.narrow(1, 1, r.shape[1] - 1) - r.narrow(1, 0, r.shape[1] - 1)).pow(2).mean().item<float>();
        Assert.Equal(ce + ar + tar, output.Loss.item<float>(), 4);
        Assert.True(ar > 0 && tar > 0);
    }

    [Fact]
    public void Parameter_groups_follow_fastai_and_the_tied_matrix_and_bias_are_handled_once()
    {
        var (train, valid) = Data();
        using var model = TinyModels.LanguageModel(seed: 3);
        using var learner = NewLearner(model, train, valid);
        Assert.Equal(new[] { "rnn0", "rnn1", "rnn2", "embedding+decoder" }, learner.ParameterGroups.Select(g => g.Name));
        Assert.Equal(model.parameters().Count(), learner.TrainableParameters.Count);
        Assert.Equal(learner.TrainableParameters.Count, learner.TrainableParameters.Select(p => LearnerOptimizer.Identity(p)).Distinct().Count());
        NamedParameter bias = learner.ParameterGroups[^1].Parameters.Single(p => p.Name == "1.decoder.bias");
        Assert.False(bias.WeightDecay);
        Assert.True(learner.ParameterGroups[0].Parameters.All(p => p.WeightDecay));   // LSTM biases are decayed (fastai)
    }

    [Fact]
    public void Freezing_trains_only_the_last_group_and_unfreeze_trains_all()
    {
        var (train, valid) = Data();
        using var model = TinyModels.LanguageModel(seed: 4);
        using var learner = NewLearner(model, train, valid);
        learner.Freeze();
        var before = TinyModels.Snapshot(model);
        learner.FitOneCycle(1, 1e-2);
        var after = TinyModels.Snapshot(model);
        Assert.True(TinyModels.Same(before["0.rnns.0.weight_hh_l0_raw"], after["0.rnns.0.weight_hh_l0_raw"]));
        Assert.True(TinyModels.Same(before["0.rnns.2.module.bias_ih_l0"], after["0.rnns.2.module.bias_ih_l0"]));
        Assert.False(TinyModels.Same(before["0.encoder.weight"], after["0.encoder.weight"]));
        Assert.False(TinyModels.Same(before["1.decoder.bias"], after["1.decoder.bias"]));
        Assert.Equal(2, learner.TrainableParameters.Count);

        learner.FreezeTo(-2);
        Assert.Equal(6, learner.TrainableParameters.Count);
        learner.Unfreeze();
        learner.FitOneCycle(1, 1e-2);
        Assert.False(TinyModels.Same(after["0.rnns.0.weight_hh_l0_raw"], model.state_dict()["0.rnns.0.weight_hh_l0_raw"]));
    }

    [Fact]
    public void Gradient_clipping_bounds_the_global_norm_before_the_step()
    {
        var (train, valid) = Data();
        using var model = TinyModels.LanguageModel(seed: 5);
        using var learner = NewLearner(model, train, valid);
        learner.Callbacks.Add(new GradientClipping(0.05));
        var probe = new NormProbe(learner);
        learner.Callbacks.Add(probe);
        learner.FitOneCycle(1, 1e-2);
        Assert.NotEmpty(probe.Norms);
        Assert.All(probe.Norms, n => Assert.True(n <= 0.05 * 1.001, $"norm {n}"));
        Assert.True(probe.Unclipped.Max() > 0.05);   // the clip was active
    }

    private sealed class NormProbe(Learner<LanguageModelBatch> learner) : LearnerCallback
    {
        public List<double> Norms { get; } = new();

        public List<double> Unclipped { get; } = new();

        public override void AfterBackward(LearnerContext context) => Unclipped.Add(Norm());

        public override void AfterStep(LearnerContext context) => Norms.Add(Norm());

        private double Norm()
        {
            using var scope = torch.NewDisposeScope();
            return Math.Sqrt(learner.TrainableParameters.Sum(p => p.grad!.pow(2).sum().item<float>()));
        }
    }

    [Fact]
    public void Loss_scaling_by_a_power_of_two_trains_to_the_same_weights()
    {
        var (train, valid) = Data();
        using var plainModel = TinyModels.LanguageModel(seed: 6);
        using (var learner = NewLearner(plainModel, train, valid))
        {
            torch.manual_seed(60);
            learner.FitOneCycle(1, 1e-2);
        }
        using var scaledModel = TinyModels.LanguageModel(seed: 6);
        var scaler = new DynamicLossScaler(initialScale: 1024, growthInterval: 1000);
        using (var learner = NewLearner(scaledModel, train, valid))
        {
            learner.Callbacks.Add(scaler);
            torch.manual_seed(60);
            learner.FitOneCycle(1, 1e-2);
        }
        Assert.Equal(0, scaler.SkippedSteps);
        Assert.True(plainModel.Encoder.EmbeddingWeight.allclose(scaledModel.Encoder.EmbeddingWeight, rtol: 1e-4, atol: 1e-6));
    }

    [Fact]
    public void Clipping_sees_the_unscaled_gradients_whatever_the_callback_order()
    {
        // Clipping runs in BeforeStep, the scaler unscales in AfterBackward: listed clip-first, a scaled gradient (×1024)
        // clipped to 0.05 and then unscaled would barely move the weights.
        var (train, valid) = Data();
        using var clippedModel = TinyModels.LanguageModel(seed: 6);
        using (var learner = NewLearner(clippedModel, train, valid))
        {
            learner.Callbacks.Add(new GradientClipping(0.05));
            torch.manual_seed(61);
            learner.FitOneCycle(1, 1e-2);
        }
        using var bothModel = TinyModels.LanguageModel(seed: 6);
        using (var learner = NewLearner(bothModel, train, valid))
        {
            learner.Callbacks.Add(new GradientClipping(0.05));
            learner.Callbacks.Add(new DynamicLossScaler(initialScale: 1024, growthInterval: 1000));
            torch.manual_seed(61);
            learner.FitOneCycle(1, 1e-2);
        }
        Assert.True(clippedModel.Encoder.EmbeddingWeight.allclose(bothModel.Encoder.EmbeddingWeight, rtol: 1e-4, atol: 1e-6));
    }

    [Fact]
    public void A_checkpoint_of_a_clipped_fit_does_not_resume_an_unclipped_one()
    {
        var (train, valid) = Data();
        string path = Path.Combine(folder, "clipped.ckpt");
        using var model = TinyModels.LanguageModel(seed: 8);
        using (var learner = NewLearner(model, train, valid))
        {
            learner.Callbacks.Add(new GradientClipping(0.25));
            learner.Callbacks.Add(new StopAfter(1));
            learner.FitOneCycle(2, 1e-2, new FitOptions(CheckpointPath: path));
        }
        using var unclipped = NewLearner(model, train, valid);
        var error = Assert.Throws<InvalidDataException>(() => unclipped.FitOneCycle(2, 1e-2, new FitOptions(CheckpointPath: path, Resume: true)));
        Assert.Contains("clip=0.25", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GradientClipping(0));
    }

    [Fact]
    public void Resuming_after_any_epoch_ends_with_the_uninterrupted_weights_and_metrics()
    {
        var (train, valid) = Data();
        string reference = Path.Combine(folder, "reference.ckpt");
        using var uninterrupted = TinyModels.LanguageModel(seed: 7);
        IReadOnlyList<EpochResult> expected;
        using (var learner = NewLearner(uninterrupted, train, valid))
        {
            torch.manual_seed(70);
            expected = learner.FitOneCycle(3, 2e-2, new FitOptions(CheckpointPath: reference));
        }
        for (int stopAfter = 1; stopAfter <= 2; stopAfter++)
        {
            string path = Path.Combine(folder, $"stopped{stopAfter}.ckpt");
            using (var first = TinyModels.LanguageModel(seed: 7))
            using (var learner = NewLearner(first, train, valid))
            {
                learner.Callbacks.Add(new StopAfter(stopAfter));
                torch.manual_seed(70);
                Assert.Equal(stopAfter, learner.FitOneCycle(3, 2e-2, new FitOptions(CheckpointPath: path)).Count);
            }
            torch.manual_seed(999);       // a fresh process: other initial weights and RNG
            using var resumedModel = TinyModels.LanguageModel(seed: 123);
            using var resumed = NewLearner(resumedModel, train, valid);
            var rest = resumed.FitOneCycle(3, 2e-2, new FitOptions(CheckpointPath: path, Resume: true));
            Assert.Equal(3 - stopAfter, rest.Count);
            foreach (var (key, value) in uninterrupted.state_dict())
            {
                Assert.True(TinyModels.Same(value, resumedModel.state_dict()[key]), $"{key} differs after resuming from epoch {stopAfter}");
            }
            Assert.Equal(expected.Select(e => (e.TrainLoss, e.ValidationLoss, e.Metrics["accuracy"])),
                resumed.History.Select(e => (e.TrainLoss, e.ValidationLoss, e.Metrics["accuracy"])));
        }
    }

    private sealed class StopAfter(int epochs) : LearnerCallback
    {
        public override void AfterEpoch(LearnerContext context) => context.StopAfterEpoch = context.Epoch + 1 >= epochs;
    }

    [Fact]
    public void A_checkpoint_from_another_vocabulary_or_fit_is_refused_with_a_clear_error()
    {
        var (train, valid) = Data();
        string path = Path.Combine(folder, "a.ckpt");
        using (var model = TinyModels.LanguageModel(seed: 8))
        using (var learner = NewLearner(model, train, valid))
        {
            learner.FitOneCycle(1, 1e-2, new FitOptions(CheckpointPath: path));
        }
        using (var other = TinyModels.LanguageModel(vocabulary: 48, seed: 8))
        using (var learner = NewLearner(other, train, valid))
        {
            var error = Assert.Throws<InvalidDataException>(() => learner.LoadCheckpoint(path));
            Assert.Contains("vocab=40", error.Message);
            Assert.Contains("vocab=48", error.Message);
        }
        using (var wider = TinyModels.LanguageModel(seed: 8, config: TinyModels.Config() with { HiddenSize = 20 }))
        using (var learner = NewLearner(wider, train, valid))
        {
            var error = Assert.Throws<InvalidDataException>(() => learner.LoadCheckpoint(path));
            Assert.Contains("hid=16", error.Message);
        }
        using (var model = TinyModels.LanguageModel(seed: 8))
        using (var learner = NewLearner(model, train, valid))
        {
            var error = Assert.Throws<InvalidDataException>(() => learner.FitOneCycle(2, 1e-2, new FitOptions(CheckpointPath: path, Resume: true)));
            Assert.Contains("another fit", error.Message);
        }
        File.WriteAllText(Path.Combine(folder, "junk.ckpt"), "not a checkpoint");
        using (var model = TinyModels.LanguageModel(seed: 8))
        using (var learner = NewLearner(model, train, valid))
        {
            Assert.Throws<InvalidDataException>(() => learner.LoadCheckpoint(Path.Combine(folder, "junk.ckpt")));
        }
        Assert.Empty(Directory.GetFiles(folder, "*.tmp-*"));
    }

    [Fact]
    public void Learning_rate_finder_sweeps_exponentially_stops_on_divergence_and_restores_the_model()
    {
        var (train, valid) = Data();
        using var model = TinyModels.LanguageModel(seed: 9);
        using var learner = NewLearner(model, train, valid);
        var before = TinyModels.Snapshot(model);
        LearningRateFinderResult result = learner.FindLearningRate(1e-5, 100, iterations: 60);
        Assert.True(result.Points.Count is > 10 and <= 60);
        Assert.Equal(1e-5, result.Points[0].LearningRate, 12);
        Assert.True(result.Points.Zip(result.Points.Skip(1)).All(p => p.Second.LearningRate > p.First.LearningRate));
        Assert.True(result.HasSuggestion, result.Diagnosis);                 // the pattern is learnable: a clear descent
        Assert.InRange(result.MinimumDividedBy10!.Value, 1e-6, 10);
        Assert.InRange(result.Steepest!.Value, 1e-5, 100);
        foreach (var (key, value) in model.state_dict())
        {
            Assert.True(TinyModels.Same(value, before[key]), key);
        }
    }

    [Fact]
    public void Steps_do_not_leak_tensors()
    {
        var (train, valid) = Data();
        using var model = TinyModels.LanguageModel(seed: 10);
        using var learner = NewLearner(model, train, valid);
        learner.FitOneCycle(1, 1e-2);                        // warm-up: optimizer state, carried state exist
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        learner.FitOneCycle(2, 1e-2);
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.True(after <= live, $"live tensors in scopes {live} → {after}");
    }

    [Theory]
    [InlineData(ComputePrecision.BFloat16)]
    [InlineData(ComputePrecision.BFloat16Decoder)]
    public void Bfloat16_training_learns_like_fp32(ComputePrecision precision)
    {
        var (train, valid) = Data();
        using var model = TinyModels.LanguageModel(seed: 11);
        model.Precision = precision;
        using var learner = NewLearner(model, train, valid);
        double before = learner.Validate().Loss;
        var results = learner.FitOneCycle(2, 3e-2);
        Assert.True(results[^1].ValidationLoss < before - 0.3, $"{before} → {results[^1].ValidationLoss}");
        Assert.Equal(ScalarType.Float32, model.Encoder.EmbeddingWeight.dtype);
    }
}
