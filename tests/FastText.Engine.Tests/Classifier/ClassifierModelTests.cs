using FastText.Engine.Models.Classifier;
using FastText.Engine.Training.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Classifier;

public sealed class ClassifierModelTests
{
    [Fact]
    public void Pooling_reads_last_real_token_max_and_mean_and_ignores_pads()
    {
        TorchTestSetup.Use();
        using var scope = NewDisposeScope();
        // Row 0: pads at 0..1, text at 2..4. Row 1: text at 0..1, trailing pads at 2..4 (outside a 2-wide last window: fastai#3379's case).
        var output = tensor(new float[]
        {
            9, 9,   9, 9,   1, -1,  3, 2,   2, 0,
            5, 1,   7, 4,   9, 9,   9, 9,   9, 9,
        }, [2, 5, 2]);
        var mask = tensor(new[] { true, true, false, false, false, false, false, true, true, true }, [2, 5]);
        float[] pooled = MaskedConcatPooling.Pool(output, mask).data<float>().ToArray();
        // [last(2), max(2), mean(2)] per row.
        Assert.Equal(new float[] { 2, 0, 3, 2, 2, 1f / 3 }, pooled.AsSpan(0, 6).ToArray(), new FloatComparer());
        Assert.Equal(new float[] { 7, 4, 7, 4, 6, 2.5f }, pooled.AsSpan(6, 6).ToArray(), new FloatComparer());
    }

    [Fact]
    public void Head_has_fastai_layout_keys_bias_free_linears_and_batchnorm_init()
    {
        TorchTestSetup.Use();
        using var head = new PoolingLinearClassifier(4, 3, outputDropout: 0.2);
        var keys = head.state_dict().Keys.ToHashSet();
        Assert.Contains("layers.0.0.weight", keys);
        Assert.Contains("layers.0.0.running_mean", keys);
        Assert.Contains("layers.0.2.weight", keys);
        Assert.Contains("layers.1.0.bias", keys);
        Assert.Contains("layers.1.2.weight", keys);
        Assert.DoesNotContain("layers.0.2.bias", keys);
        Assert.Equal([50, 12], head.state_dict()["layers.0.2.weight"].shape);
        Assert.Equal([3, 50], head.state_dict()["layers.1.2.weight"].shape);
        Assert.Equal(1e-3f, head.state_dict()["layers.0.0.bias"][0].item<float>(), 6);
        using var noDropout = new PoolingLinearClassifier(4, 3, outputDropout: 0);
        Assert.Contains("layers.0.1.weight", noDropout.state_dict().Keys); // dropout omitted → Linear moves to index 1
    }

    [Fact]
    public void Sentence_encoder_gives_each_row_the_features_it_has_alone()
    {
        TorchTestSetup.Use();
        torch.manual_seed(1);
        using var scope = NewDisposeScope();
        using var model = new TextClassifier(new TinyRecurrentEncoder(), 2, new ClassifierOptions(Bptt: 4, MaxLength: 400));
        model.eval();
        var random = new Random(3);
        int[][] rows = [Tokens(random, 13), Tokens(random, 9), Tokens(random, 5), Tokens(random, 1)];
        using var noGrad = no_grad();
        Tensor batch = Padded(rows, 4, out _);
        Tensor together = Pooled(model, batch);
        for (int r = 0; r < rows.Length; r++)
        {
            Tensor alone = Pooled(model, Padded([rows[r]], 4, out _));
            Assert.True(together[r].allclose(alone[0], rtol: 1e-4, atol: 1e-5), $"row {r} differs when batched");
        }
    }

    [Fact]
    public void Sentence_encoder_processes_all_text_under_fastai_original_padding_3379()
    {
        TorchTestSetup.Use();
        torch.manual_seed(2);
        using var scope = NewDisposeScope();
        using var model = new TextClassifier(new TinyRecurrentEncoder(), 2, new ClassifierOptions(Bptt: 8, MaxLength: 800));
        model.eval();
        var random = new Random(5);
        // The reference's example (154/84/77 with seq_len 72) scaled to seq_len 8: at the last chunk start (16) row 1
        // is already in its trailing pads while row 2 still has text, and row 1's pads reach outside the last window.
        int[][] rows = [Tokens(random, 18), Tokens(random, 12), Tokens(random, 9)];
        var ids = new long[3 * 18];
        Array.Fill(ids, 1L);
        for (int r = 0; r < 3; r++)
        {
            int gap = 18 - rows[r].Length;
            int front = gap / 8 * 8;   // fastai pad_input_chunk: whole chunks in front, the rest behind
            for (int t = 0; t < rows[r].Length; t++)
            {
                ids[(r * 18) + front + t] = rows[r][t];
            }
        }
        using var noGrad = no_grad();
        Tensor together = Pooled(model, tensor(ids, [3, 18]));
        for (int r = 1; r < 3; r++)
        {
            Tensor alone = Pooled(model, Padded([rows[r]], 8, out _));
            Assert.True(together[r].allclose(alone[0], rtol: 1e-4, atol: 1e-5), $"row {r} pooled differently than alone");
        }
    }

    [Fact]
    public void Sentence_encoder_keeps_only_the_last_max_length_outputs()
    {
        TorchTestSetup.Use();
        using var scope = NewDisposeScope();
        var inner = new TinyRecurrentEncoder();
        using var encoder = new SentenceEncoder(inner, bptt: 4, maxLength: 8);
        var random = new Random(7);
        Tensor batch = Padded([Tokens(random, 23), Tokens(random, 6)], 4, out int width);
        var (output, mask) = encoder.call(batch);
        Assert.Equal(24, width);
        Assert.Equal([2, 8, inner.OutputSize], output.shape);
        Assert.Equal([2, 8], mask.shape);
        Assert.Equal(6, inner.EncodeCalls); // every chunk still runs to build the state
    }

    [Fact]
    public void Feeding_every_row_computes_the_padding_and_only_changes_rows_that_have_leading_pads()
    {
        TorchTestSetup.Use();
        torch.manual_seed(4);
        using var scope = NewDisposeScope();
        var random = new Random(9);
        int[][] rows = [Tokens(random, 23), Tokens(random, 10), Tokens(random, 3)];
        Tensor batch = Padded(rows, 4, out int width);
        var inner = new TinyRecurrentEncoder();
        using var model = new TextClassifier(inner, 2, new ClassifierOptions(Bptt: 4, MaxLength: 400));
        model.eval();
        using var noGrad = no_grad();
        Tensor startedOnly = Pooled(model, batch);
        long startedRowSteps = inner.RowSteps;
        model.SentenceEncoder.FeedEveryRow = true;
        Tensor everyRow = Pooled(model, batch);
        long everyRowSteps = inner.RowSteps - startedRowSteps;

        Assert.Equal(24, width);
        Assert.Equal(3 * 24, everyRowSteps);                       // fastai v1: every row in every chunk
        Assert.Equal(24 + 12 + 4, startedRowSteps);                // v2: a row joins at the chunk of its first token
        Assert.True(everyRow[0].allclose(startedOnly[0], rtol: 1e-5, atol: 1e-6), "the longest row has no leading pads");
        Assert.False(everyRow[2].allclose(startedOnly[2], rtol: 1e-3, atol: 1e-4), "a short row starts from the state its pads left");
    }

    [Fact]
    public void Classifier_has_five_parameter_groups_fastai_keys_and_trains()
    {
        TorchTestSetup.Use();
        torch.manual_seed(4);
        using var scope = NewDisposeScope();
        using var model = new TextClassifier(new TinyRecurrentEncoder(), 2, new ClassifierOptions(Bptt: 4));
        var groups = model.ParameterGroups();
        Assert.Equal(5, groups.Count);
        Assert.Equal(model.parameters().Count(), groups.Sum(g => g.Parameters.Count));
        Assert.Equal(model.state_dict().Keys.Where(k => !k.Contains("running", StringComparison.Ordinal) && !k.Contains("num_batches", StringComparison.Ordinal)).Order(), groups.SelectMany(g => g.Parameters.Select(p => p.Name)).Order());
        Assert.All(groups[^1].Parameters, p => Assert.Equal(p.Name.Split('.')[3] == "0", p.TrainWhenFrozen && !p.WeightDecay)); // 1.layers.{block}.0 = BatchNorm
        var keys = model.state_dict().Keys.ToList();
        Assert.Contains("0.module.encoder.weight", keys);
        Assert.All(keys, k => Assert.True(k.StartsWith("0.module.", StringComparison.Ordinal) || k.StartsWith("1.layers.", StringComparison.Ordinal), k));
        Assert.Contains("1.layers.0.2.weight", keys);

        // Two separable classes (token 5 vs token 6) are learned in a few steps.
        var random = new Random(9);
        int[][] rows = Enumerable.Range(0, 16).Select(i => Enumerable.Repeat(i % 2 == 0 ? 5 : 6, 3 + random.Next(6)).ToArray()).ToArray();
        int[] order = Enumerable.Range(0, 16).OrderByDescending(i => rows[i].Length).ToArray();
        Tensor inputs = Padded(order.Select(i => rows[i]).ToArray(), 4, out _);
        Tensor labels = tensor(order.Select(i => (long)(i % 2)).ToArray());
        using var optimizer = optim.Adam(model.parameters(), lr: 0.02);
        float first = 0, last = 0;
        for (int step = 0; step < 40; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            Tensor loss = nn.functional.cross_entropy(model.call(inputs), labels);
            loss.backward();
            optimizer.step();
            if (step == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first * 0.5, $"loss {first} → {last}");
        var predictor = new ClassifierPredictor(model, ["even", "odd"]);
        var predictions = predictor.PredictTokens([[5, 5, 5, 5], [6, 6, 6]]);
        Assert.Equal(["even", "odd"], predictions.Select(p => p.ClassName));
        Assert.All(predictions, p => Assert.Equal(1f, p.Probabilities.Sum(), 4));
    }

    [Fact]
    public void Padding_rounds_width_to_chunks_and_starts_text_on_a_chunk_boundary()
    {
        long[] ids = PredictionPadding.PadFirst([[7, 7, 7, 7, 7, 7, 7, 7, 7, 7], [8, 8, 8], [9]], 4, 1, out int width);
        Assert.Equal(12, width);
        Assert.Equal([7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 1, 1], ids.AsSpan(0, 12).ToArray());
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 1], ids.AsSpan(12, 12).ToArray());
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 9, 1, 1, 1], ids.AsSpan(24, 12).ToArray());
    }

    internal static int[] Tokens(Random random, int count) => Enumerable.Range(0, count).Select(_ => random.Next(2, 20)).ToArray();

    private static Tensor Padded(int[][] rows, int bptt, out int width) =>
        tensor(PredictionPadding.PadFirst(rows, bptt, 1, out width), [rows.Length, width]);

    private static Tensor Pooled(TextClassifier model, Tensor ids)
    {
        var (output, mask) = model.SentenceEncoder.call(ids);
        return MaskedConcatPooling.Pool(output, mask);
    }

    private sealed class FloatComparer : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) < 1e-5;
        public int GetHashCode(float obj) => 0;
    }
}
