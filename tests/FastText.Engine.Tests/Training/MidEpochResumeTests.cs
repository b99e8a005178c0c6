using System.Text;
using System.Text.Json.Nodes;
using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Training;

/// <summary>
/// Checkpoints taken in the middle of an epoch (stop, every N batches, cancellation) resume to the weights and metrics
/// of an uninterrupted run, bit for bit (1 torch thread), with the engine's real loaders: the language model with
/// variable BPTT and prefetching, the classifier with sorted, shuffled batches.
/// </summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class MidEpochResumeTests : IDisposable
{
    private const int Epochs = 3;
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    public MidEpochResumeTests()
    {
        TorchTestSetup.Use();
    }

    public void Dispose() => temporary.Dispose();

    // ---------------------------------------------------------------------------------------------------------------
    // Two tiny setups. create(seed) builds model + learner with weights from that seed (a resumed "process" uses another).

    private sealed record Setup<TBatch>(nn.Module Model, Learner<TBatch> Learner, IDisposable[] Owned) : IDisposable where TBatch : IDisposable
    {
        public void Dispose()
        {
            Learner.Dispose();
            Model.Dispose();
            foreach (IDisposable d in Owned)
            {
                d.Dispose();
            }
        }
    }

    private static InMemoryTokenCorpus LanguageCorpus()
    {
        long[] stream = PatternLanguageModelData.PatternStream(1600, 40, seed: 4);
        var random = new Random(6);
        var documents = new List<int[]>();
        for (int at = 0; at < stream.Length;)
        {
            int length = Math.Min(random.Next(20, 61), stream.Length - at);
            documents.Add(stream.Skip(at).Take(length).Select(t => (int)t).ToArray());
            at += length;
        }
        return new InMemoryTokenCorpus(documents);
    }

    private static Setup<LanguageModelBatch> LanguageModel(int seed, int loaderSeed = 3, bool variable = true)
    {
        InMemoryTokenCorpus corpus = LanguageCorpus();
        int n = corpus.DocumentCount;
        var train = new LanguageModelLoader(corpus, LanguageModelLoaderOptions.Training with
        {
            BatchSize = 4, SequenceLength = 10, VariableSequenceLength = variable, Seed = loaderSeed,
        }, Enumerable.Range(0, n * 3 / 4).ToArray());
        var valid = new LanguageModelLoader(corpus, LanguageModelLoaderOptions.Validation with { BatchSize = 4, SequenceLength = 10 },
            Enumerable.Range(n * 3 / 4, n - n * 3 / 4).ToArray());
        AwdLstmLanguageModel model = TinyModels.LanguageModel(seed: seed);
        var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), train, valid, metrics: Metrics.LanguageModel);
        return new Setup<LanguageModelBatch>(model, learner, [train, valid]);
    }

    private static Setup<ClassifierBatch> Classifier(int seed)
    {
        var random = new Random(8);
        var documents = Enumerable.Range(0, 72).Select(_ => Enumerable.Range(0, random.Next(5, 60)).Select(_ => 2 + random.Next(48)).ToArray()).ToList();
        var labels = documents.Select(d => d.Count(t => t < 20) * 2 > d.Length ? 1 : 0).ToList();
        var corpus = new InMemoryTokenCorpus(documents, labels, ["a", "b"]);
        var train = new ClassifierLoader(corpus, ClassifierLoaderOptions.Training with { BatchSize = 8, SequenceLength = 12, Seed = 2 },
            Enumerable.Range(0, 56).ToArray());
        var valid = new ClassifierLoader(corpus, ClassifierLoaderOptions.Validation with { BatchSize = 8, SequenceLength = 12 },
            Enumerable.Range(56, 16).ToArray());
        torch.manual_seed(seed);
        TextClassifier model = TextClassifier.Create(50, TinyModels.Config(), 2, bptt: 12);
        var learner = new Learner<ClassifierBatch>(new ClassifierTask(model), train, valid, metrics: [Metrics.Accuracy]);
        return new Setup<ClassifierBatch>(model, learner, [train, valid]);
    }

    // ---------------------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0, 7)]       // the middle of the first epoch …
    [InlineData(1, 13)]      // … and of the second
    public void Language_model_stopped_mid_epoch_resumes_to_the_uninterrupted_weights(int epoch, int batch) =>
        StopAndResume(s => LanguageModel(s), 2e-2, epoch, batch);

    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 5)]
    public void Classifier_stopped_mid_epoch_resumes_to_the_uninterrupted_weights(int epoch, int batch) =>
        StopAndResume(s => Classifier(s), 1e-2, epoch, batch);

    private void StopAndResume<TBatch>(Func<int, Setup<TBatch>> create, double lr, int epoch, int batch) where TBatch : IDisposable
    {
        var (weights, history) = Uninterrupted(create, lr);
        string path = Path.Combine(folder, $"stop-{epoch}-{batch}.ckpt");
        using (Setup<TBatch> first = create(7))
        {
            var stop = new At(epoch, batch, c => c.StopNow = true);
            first.Learner.Callbacks.Add(stop);
            torch.manual_seed(70);
            Assert.Equal(epoch, first.Learner.FitOneCycle(Epochs, lr, new FitOptions(CheckpointPath: path)).Count);
            Assert.True(stop.Fired);
        }
        using Setup<TBatch> resumed = ResumeInFreshProcess(create, lr, path, out var rest);
        Assert.Equal(Epochs - epoch, rest.Count);          // the interrupted epoch is finished by the resumed call
        AssertSame(weights, history, resumed);
    }

    [Fact]
    public void Periodic_checkpoint_and_cancellation_checkpoint_both_resume_exactly()
    {
        var (weights, history) = Uninterrupted(s => LanguageModel(s), 2e-2);
        string periodic = Path.Combine(folder, "periodic.ckpt");
        string kept = Path.Combine(folder, "periodic-epoch1-batch8.ckpt");
        using (Setup<LanguageModelBatch> run = LanguageModel(7))
        {
            // Written after batches 4, 8, …; at batch 9's start the file holds the state after batch 8 of epoch 1.
            run.Learner.Callbacks.Add(new At(1, 8, _ => { }, beforeNext: () => File.Copy(periodic, kept)));
            torch.manual_seed(70);
            run.Learner.FitOneCycle(Epochs, 2e-2, new FitOptions(CheckpointPath: periodic, CheckpointEveryBatches: 4));
            AssertSame(weights, history, run);             // checkpointing does not disturb the run itself
        }
        Assert.True(File.Exists(kept));
        using (Setup<LanguageModelBatch> resumed = ResumeInFreshProcess(s => LanguageModel(s), 2e-2, kept, out _))
        {
            AssertSame(weights, history, resumed);
        }

        // Cancelled in epoch 0, resumed, cancelled again in epoch 1, resumed again.
        string cancelled = Path.Combine(folder, "cancelled.ckpt");
        using (Setup<LanguageModelBatch> run = LanguageModel(7))
        {
            using var source = new CancellationTokenSource();
            run.Learner.Callbacks.Add(new At(0, 5, _ => source.Cancel()));
            torch.manual_seed(70);
            Assert.ThrowsAny<OperationCanceledException>(() => run.Learner.FitOneCycle(Epochs, 2e-2, new FitOptions(CheckpointPath: cancelled), source.Token));
        }
        using (Setup<LanguageModelBatch> run = LanguageModel(11))
        {
            using var source = new CancellationTokenSource();
            run.Learner.Callbacks.Add(new At(1, 10, _ => source.Cancel()));
            torch.manual_seed(999);
            Assert.ThrowsAny<OperationCanceledException>(() =>
                run.Learner.FitOneCycle(Epochs, 2e-2, new FitOptions(CheckpointPath: cancelled, Resume: true), source.Token));
        }
        using (Setup<LanguageModelBatch> resumed = ResumeInFreshProcess(s => LanguageModel(s), 2e-2, cancelled, out var rest))
        {
            Assert.Equal(2, rest.Count);
            AssertSame(weights, history, resumed);
        }
        Assert.Empty(Directory.GetFiles(folder, "*.tmp*"));         // every write went through a renamed temporary file
    }

    [Fact]
    public void A_format_1_checkpoint_still_resumes_and_unknown_formats_or_other_data_fail_clearly()
    {
        var (weights, history) = Uninterrupted(s => LanguageModel(s), 2e-2);
        string path = Path.Combine(folder, "epoch2.ckpt");
        using (Setup<LanguageModelBatch> first = LanguageModel(7))
        {
            // After two epochs: with variable BPTT they have 32 + 34 batches, not 2 × BatchCount.
            first.Learner.Callbacks.Add(new At(2, 0, c => c.StopAfterEpoch = true, afterEpoch: true));
            torch.manual_seed(70);
            first.Learner.FitOneCycle(Epochs, 2e-2, new FitOptions(CheckpointPath: path));
        }
        // Format 1 had no version, position, data signature or carried state: rewrite the header as such.
        string old = Path.Combine(folder, "format1.ckpt");
        RewriteHeader(path, old, header =>
        {
            foreach (string key in new[] { "Version", "DataSignature", "BatchesDoneInEpoch", "Iteration", "EpochTokens", "EpochTrainSeconds" })
            {
                Assert.True(header.Remove(key), key);
            }
        });
        using (Setup<LanguageModelBatch> resumed = ResumeInFreshProcess(s => LanguageModel(s), 2e-2, old, out var rest))
        {
            Assert.Single(rest);
            AssertSame(weights, history, resumed);
        }

        string future = Path.Combine(folder, "format99.ckpt");
        RewriteHeader(path, future, header => header["Version"] = 99);
        using (Setup<LanguageModelBatch> run = LanguageModel(7))
        {
            var error = Assert.Throws<InvalidDataException>(() => run.Learner.FitOneCycle(Epochs, 2e-2, new FitOptions(CheckpointPath: future, Resume: true)));
            Assert.Contains("format 99", error.Message);
            Assert.Contains("newer", error.Message);
        }
        using (Setup<LanguageModelBatch> run = LanguageModel(7, loaderSeed: 4))
        {
            var error = Assert.Throws<InvalidDataException>(() => run.Learner.FitOneCycle(Epochs, 2e-2, new FitOptions(CheckpointPath: path, Resume: true)));
            Assert.Contains("seed=3", error.Message);
            Assert.Contains("seed=4", error.Message);
        }
    }

    [Fact]
    public void A_NaN_loss_stops_the_fit_naming_the_step_and_the_last_checkpoint_stays_finite_and_loadable()
    {
        string path = Path.Combine(folder, "diverged.ckpt");
        using Setup<LanguageModelBatch> run = LanguageModel(7);
        // After batch 2 of the third epoch (At counts fit epochs from 0), one weight turns NaN (as a step with an overflowing gradient would leave it).
        run.Learner.Callbacks.Add(new At(2, 2, _ =>
        {
            using var noGrad = no_grad();
            using Scalar nan = float.NaN;
            run.Model.parameters().First().fill_(nan);
        }));
        torch.manual_seed(70);
        var error = Assert.Throws<TrainingDivergedException>(() => run.Learner.FitOneCycle(Epochs, 2e-2, new FitOptions(CheckpointPath: path)));
        Assert.Matches(@"iteration \d+ of \d+ \(epoch 3 of 3\)", error.Message);
        Assert.Contains("the loss is NaN", error.Message, StringComparison.Ordinal);
        Assert.Contains("--lr", error.Message, StringComparison.Ordinal);
        // The checkpoint of epoch 2 was neither replaced nor damaged: it loads (the archive refuses NaN on write).
        using Setup<LanguageModelBatch> fresh = LanguageModel(7);
        fresh.Learner.LoadCheckpoint(path);
        Assert.All(fresh.Model.parameters(), p => Assert.True(torch.isfinite(p).all().item<bool>()));
    }

    [Fact]
    public void Loaders_resume_an_epoch_at_any_batch_with_the_same_batches()
    {
        using Setup<LanguageModelBatch> lm = LanguageModel(1);
        using Setup<ClassifierBatch> classifier = Classifier(1);
        var lmLoader = (LanguageModelLoader)lm.Learner.Training;
        var classifierLoader = (ClassifierLoader)classifier.Learner.Training;
        foreach (int first in new[] { 0, 1, 6, lmLoader.CountBatches(2) })
        {
            Assert.Equal(Contents(lmLoader.Epoch(2), b => b.Inputs).Skip(first), Contents(lmLoader.EpochFrom(2, first), b => b.Inputs));
        }
        PaddingReport whole = default;
        foreach (int first in new[] { 0, 3, classifierLoader.BatchCount })
        {
            var all = Contents(classifierLoader.Epoch(1), b => b.Inputs);
            whole = classifierLoader.LastEpochPadding;
            Assert.Equal(all.Skip(first), Contents(classifierLoader.EpochFrom(1, first), b => b.Inputs));
            Assert.Equal(whole, classifierLoader.LastEpochPadding);     // the skipped batches' padding is still counted
        }
        Assert.True(whole.PadTokens > 0);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => classifierLoader.EpochFrom(1, classifierLoader.BatchCount + 1).ToList());
        Assert.Contains("a resumed epoch must start at", error.Message);
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static (Dictionary<string, Tensor> Weights, List<(double, double, double)> History) Uninterrupted<TBatch>(Func<int, Setup<TBatch>> create, double lr)
        where TBatch : IDisposable
    {
        using Setup<TBatch> run = create(7);
        torch.manual_seed(70);
        run.Learner.FitOneCycle(Epochs, lr);
        return (TinyModels.Snapshot(run.Model), Figures(run.Learner));
    }

    private static Setup<TBatch> ResumeInFreshProcess<TBatch>(Func<int, Setup<TBatch>> create, double lr, string path, out IReadOnlyList<EpochResult> rest)
        where TBatch : IDisposable
    {
        torch.manual_seed(999);                             // other initial weights and RNG
        Setup<TBatch> resumed = create(123);
        rest = resumed.Learner.FitOneCycle(Epochs, lr, new FitOptions(CheckpointPath: path, Resume: true));
        return resumed;
    }

    private static void AssertSame<TBatch>(Dictionary<string, Tensor> weights, List<(double, double, double)> history, Setup<TBatch> run)
        where TBatch : IDisposable
    {
        foreach (var (key, value) in run.Model.state_dict())
        {
            Assert.True(TinyModels.Same(value, weights[key]), $"{key} differs from the uninterrupted run");
        }
        Assert.Equal(history, Figures(run.Learner));
    }

    private static List<(double, double, double)> Figures<TBatch>(Learner<TBatch> learner) where TBatch : IDisposable =>
        learner.History.Select(e => (e.TrainLoss, e.ValidationLoss, e.Metrics["accuracy"])).ToList();

    private static List<string> Contents<TBatch>(IEnumerable<TBatch> batches, Func<TBatch, Tensor> tensor) where TBatch : IDisposable
    {
        var result = new List<string>();
        foreach (TBatch batch in batches)
        {
            using (batch)
            {
                Tensor t = tensor(batch);
                result.Add(string.Join(",", t.shape) + ":" + string.Join(",", t.data<long>().ToArray()));
            }
        }
        return result;
    }

    // A checkpoint file: magic, archive version, JSON header (length-prefixed), then the rest unchanged.
    // The archive's own SHA-256 trailer is recomputed: the test edits the learner's header, not the file's integrity.
    private static void RewriteHeader(string source, string destination, Action<JsonObject> edit)
    {
        using var reader = new BinaryReader(File.OpenRead(source), Encoding.UTF8);
        uint magic = reader.ReadUInt32();
        int version = reader.ReadInt32();
        var header = JsonNode.Parse(reader.ReadString())!.AsObject();
        const int digest = 32;
        byte[] rest = reader.ReadBytes((int)(reader.BaseStream.Length - reader.BaseStream.Position - digest));
        edit(header);
        var content = new MemoryStream();
        using (var writer = new BinaryWriter(content, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(magic);
            writer.Write(version);
            writer.Write(header.ToJsonString());
            writer.Write(rest);
        }
        byte[] bytes = content.ToArray();
        File.WriteAllBytes(destination, [.. bytes, .. System.Security.Cryptography.SHA256.HashData(bytes)]);
    }

    /// <summary>Runs <paramref name="action"/> after batch <paramref name="batch"/> (1-based count) of fit epoch
    /// <paramref name="epoch"/>, or at its end; <paramref name="beforeNext"/> runs at the start of the batch after it.</summary>
    private sealed class At(int epoch, int batch, Action<LearnerContext> action, Action? beforeNext = null, bool afterEpoch = false) : LearnerCallback
    {
        private int done;

        public bool Fired { get; private set; }

        public override void BeforeEpoch(LearnerContext context) => done = 0;

        public override void BeforeBatch(LearnerContext context)
        {
            if (context.Epoch == epoch && done == batch && beforeNext is not null && !Fired)
            {
                Fired = true;
                beforeNext();
            }
        }

        public override void AfterBatch(LearnerContext context)
        {
            done++;
            if (!afterEpoch && beforeNext is null && context.Epoch == epoch && done == batch)
            {
                Fired = true;
                action(context);
            }
        }

        public override void AfterEpoch(LearnerContext context)
        {
            if (afterEpoch && context.Epoch + 1 == epoch)
            {
                action(context);
            }
        }
    }
}
