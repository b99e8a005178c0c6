using FastText.Engine.Models;
using FastText.Engine.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Models;

[Collection(SequentialTorchCollection.Name)]
public sealed class AwdLstmTests
{
    [Fact]
    public void State_dict_keys_mirror_fastai_and_the_tied_matrix_is_listed_once()
    {
        TorchTestSetup.Use();
        using var model = TinyModels.LanguageModel();
        var keys = model.state_dict().Keys.ToHashSet();
        foreach (string key in new[] { "0.encoder.weight", "0.rnns.0.weight_hh_l0_raw", "0.rnns.0.module.weight_ih_l0",
                     "0.rnns.0.module.bias_ih_l0", "0.rnns.0.module.bias_hh_l0", "0.rnns.2.weight_hh_l0_raw", "1.decoder.bias" })
        {
            Assert.Contains(key, keys);
        }
        Assert.DoesNotContain("1.decoder.weight", keys);
        Assert.True(keys.Count == model.parameters().Count(), string.Join(" ", keys) + " / " + string.Join(" ", model.named_parameters().Select(p => p.name)));
        Assert.Same(model.Encoder.EmbeddingWeight, model.Decoder.Weight);
        // Shapes of fastai's layout: layer 2 is emb-sized so the decoder can be tied.
        var state = model.state_dict();
        Assert.Equal(new long[] { 4 * 8, 8 }, state["0.rnns.2.weight_hh_l0_raw"].shape);
        Assert.Equal(new long[] { 4 * 16, 16 }, state["0.rnns.1.weight_hh_l0_raw"].shape);
        Assert.Equal(new long[] { 4 * 16, 8 }, state["0.rnns.0.module.weight_ih_l0"].shape);
    }

    [Fact]
    public void Presets_and_dropout_multiplier_follow_fastai()
    {
        var lm = AwdLstmConfig.LanguageModel.WithDropoutMultiplier(0.3);
        Assert.Equal(0.03, lm.OutputDropout, 12);
        Assert.Equal(0.045, lm.HiddenDropout, 12);
        Assert.Equal(0.075, lm.InputDropout, 12);
        Assert.Equal(0.006, lm.EmbeddingDropout, 12);
        Assert.Equal(0.06, lm.WeightDropout, 12);
        var classifier = AwdLstmConfig.Classifier.WithDropoutMultiplier(0.5);
        Assert.Equal(0.2, classifier.OutputDropout, 12);
        Assert.Equal(0.25, classifier.WeightDropout, 12);
        Assert.Equal((400, 1152, 3), (lm.EmbeddingSize, lm.HiddenSize, lm.Layers));
        Assert.Throws<ArgumentOutOfRangeException>(() => (AwdLstmConfig.LanguageModel with { InputDropout = 1.2 }).Validate());
    }

    [Fact]
    public void Weight_dropped_lstm_in_eval_equals_native_lstm_with_the_same_weights()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var layer = new WeightDroppedLstm(5, 7, weightDropout: 0.5);
        var native = nn.LSTM(5, 7, batchFirst: true);
        using (torch.no_grad())
        {
            var ours = layer.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            native.get_parameter("weight_ih_l0")!.copy_(ours["module.weight_ih_l0"]);
            native.get_parameter("weight_hh_l0")!.copy_(ours["weight_hh_l0_raw"]);
            native.get_parameter("bias_ih_l0")!.copy_(ours["module.bias_ih_l0"]);
            native.get_parameter("bias_hh_l0")!.copy_(ours["module.bias_hh_l0"]);
        }
        layer.eval();
        var x = torch.randn(3, 4, 5);
        var h0 = torch.randn(1, 3, 7);
        var c0 = torch.randn(1, 3, 7);
        var (y, h, c) = layer.Forward(x, h0, c0);
        var (yn, hn, cn) = native.call(x, (h0, c0));
        Assert.True(y.allclose(yn, rtol: 1e-5, atol: 1e-6));
        Assert.True(h.allclose(hn, rtol: 1e-5, atol: 1e-6));
        Assert.True(c.allclose(cn, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Weight_dropout_resamples_per_call_and_gradients_reach_the_raw_matrix_through_the_mask()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var layer = new WeightDroppedLstm(6, 32, weightDropout: 0.5);
        layer.train();
        var x = torch.randn(2, 5, 6);
        var zeros = torch.zeros(1, 2, 32);
        var (y1, _, _) = layer.Forward(x, zeros, zeros);
        var (y2, _, _) = layer.Forward(x, zeros, zeros);
        Assert.False(y1.allclose(y2));
        y2.sum().backward();
        Tensor grad = layer.WeightHiddenRaw.grad!;
        double zeroShare = grad.eq(0).to(ScalarType.Float32).mean().item<float>();
        Assert.InRange(zeroShare, 0.4, 0.6);   // about p of the entries were dropped for this call
        Assert.True(layer.named_parameters().Single(p => p.name == "module.weight_ih_l0").parameter.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Embedding_dropout_zeroes_whole_words_and_locked_dropout_shares_its_mask_over_time()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var embedded = torch.ones(4, 30, 3);
        var ids = torch.tensor(Enumerable.Range(0, 120).Select(i => (long)(i % 6)).ToArray(), new long[] { 4, 30 });
        var dropped = AwdDropout.EmbeddingRows(embedded, ids, 6, 0.5, training: true);
        // Every occurrence of the same id got the same factor (0 or 2), across rows and time.
        var values = dropped.select(2, 0).data<float>().ToArray();
        var byId = Enumerable.Range(0, 120).GroupBy(i => i % 6).Select(g => g.Select(i => values[i]).Distinct().ToArray()).ToArray();
        Assert.All(byId, v => Assert.Single(v));
        Assert.All(byId, v => Assert.Contains(v[0], new[] { 0f, 2f }));

        var locked = AwdDropout.Locked(torch.ones(2, 50, 8), 0.5, training: true);
        Assert.True(locked.select(1, 0).unsqueeze(1).expand(2, 50, 8).eq(locked).all().item<bool>());
        Assert.Same(embedded, AwdDropout.Locked(embedded, 0.5, training: false));
    }

    [Fact]
    public void Carried_state_makes_two_chunks_equal_one_long_chunk_and_reset_starts_over()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = TinyModels.LanguageModel(seed: 6);
        model.eval();
        var ids = torch.randint(0, 40, new long[] { 3, 10 }, dtype: ScalarType.Int64);
        Tensor whole;
        using (torch.no_grad())
        {
            whole = model.call(ids).Raw.clone();
            model.Reset();
            var first = model.call(ids.narrow(1, 0, 6)).Raw;
            var second = model.call(ids.narrow(1, 6, 4)).Raw;
            Assert.True(torch.cat(new[] { first, second }, 1).allclose(whole, rtol: 1e-5, atol: 1e-6));
            var again = model.call(ids.narrow(1, 6, 4)).Raw;     // state moved on: not the same
            Assert.False(again.allclose(second));
            model.Reset();
            Assert.True(model.call(ids.narrow(1, 0, 6)).Raw.allclose(first, rtol: 1e-5, atol: 1e-6));
        }
    }

    [Fact]
    public void Batch_size_change_zero_extends_new_rows_and_keeps_the_first_rows()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = TinyModels.LanguageModel(seed: 7);
        model.eval();
        var a = torch.randint(0, 40, new long[] { 3, 5 }, dtype: ScalarType.Int64);
        var b = torch.randint(0, 40, new long[] { 3, 5 }, dtype: ScalarType.Int64);
        using (torch.no_grad())
        {
            var full = model.call(a).Raw.clone();
            var continued = model.call(b).Raw.clone();             // rows 0..2 continue from a
            model.Reset();
            model.call(a.narrow(0, 0, 2));                          // 2 rows of state
            var grown = model.call(b).Raw;                          // 3 rows: row 2 starts from zeros
            Assert.Equal(3, model.Encoder.StateRows);
            Assert.True(grown.narrow(0, 0, 2).allclose(continued.narrow(0, 0, 2), rtol: 1e-5, atol: 1e-6));
            model.Reset();
            var fresh = model.call(b.narrow(0, 2, 1)).Raw;
            Assert.True(grown.narrow(0, 2, 1).allclose(fresh, rtol: 1e-5, atol: 1e-6));

            model.Reset();
            model.call(a);
            var shrunk = model.call(b.narrow(0, 0, 2)).Raw;          // keeps the first 2 rows of the carried state
            Assert.Equal(2, model.Encoder.StateRows);
            Assert.True(shrunk.allclose(continued.narrow(0, 0, 2), rtol: 1e-5, atol: 1e-6));
            Assert.True(full.shape.SequenceEqual(new long[] { 3, 5, 8 }));
        }
    }

    [Fact]
    public void Bfloat16_compute_is_close_to_fp32_and_gradients_land_in_fp32_masters()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = TinyModels.LanguageModel(seed: 8);
        model.eval();
        var ids = torch.randint(0, 40, new long[] { 2, 6 }, dtype: ScalarType.Int64);
        var reference = model.call(ids).Raw.detach().clone();
        model.Precision = ComputePrecision.BFloat16;
        var raw = model.call(ids).Raw;
        Assert.Equal(ScalarType.BFloat16, raw.dtype);
        Assert.True(raw.to(ScalarType.Float32).allclose(reference, rtol: 0.05, atol: 0.02));
        raw.to(ScalarType.Float32).sum().backward();
        var raw0 = model.Encoder.Layers[0].WeightHiddenRaw;
        Assert.Equal(ScalarType.Float32, raw0.dtype);
        Assert.Equal(ScalarType.Float32, raw0.grad!.dtype);
        Assert.True(raw0.grad!.abs().sum().item<float>() > 0);
    }
}
