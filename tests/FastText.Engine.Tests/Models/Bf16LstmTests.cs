using FastText.Engine.Data;
using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Tests.Training;
using FastText.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Models;

/// <summary>The <see cref="ComputePrecision.BFloat16"/> LSTM layer (bf16 GEMMs, fp32 gates and state) against fp32.</summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class Bf16LstmTests
{
    // bf16 keeps 8 significant bits (relative rounding 2⁻⁹ ≈ 0.2%); a few roundings per step compound to well under 3%.
    private const double Tolerance = 0.03;

    private static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = torch.NewDisposeScope();
        Tensor a = actual.to(ScalarType.Float32);
        Tensor e = expected.to(ScalarType.Float32);
        return (a - e).norm().item<float>() / Math.Max(e.norm().item<float>(), 1e-12);
    }

    [Theory]
    [InlineData(24)]    // three full vectors of 8 per gate
    [InlineData(13)]    // one full vector and a partial one of 5
    public void Layer_output_state_and_every_gradient_match_fp32_within_bf16_tolerance(int hidden)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(21);
        var layer = new WeightDroppedLstm(12, hidden, weightDropout: 0.3);
        layer.eval();                                                // no DropConnect: both runs see the same matrix
        var x = torch.randn(3, 9, 12);
        var h0 = (torch.randn(1, 3, hidden) * 0.5).requires_grad_(true);
        var c0 = (torch.randn(1, 3, hidden) * 0.5).requires_grad_(true);
        var dy = torch.randn(3, 9, hidden);
        var dh = torch.randn(1, 3, hidden);
        var dc = torch.randn(1, 3, hidden);
        var parameters = layer.parameters().ToArray();

        (Tensor Y, Tensor H, Tensor C, Tensor[] Grads) Run(bool bf16)
        {
            foreach (var p in parameters)
            {
                p.grad = null;
            }
            h0.grad = null;
            c0.grad = null;
            var input = x.clone().requires_grad_(true);
            var (y, h, c) = layer.Forward(input, h0, c0, bf16);
            ((y.to(ScalarType.Float32) * dy).sum() + (h * dh).sum() + (c * dc).sum()).backward();
            var grads = parameters.Select(p => p.grad!.clone()).Append(input.grad!.clone()).Append(h0.grad!.clone()).Append(c0.grad!.clone()).ToArray();
            return (y.detach(), h.detach(), c.detach(), grads);
        }

        var reference = Run(bf16: false);
        var mixed = Run(bf16: true);
        Assert.Equal(ScalarType.BFloat16, mixed.Y.dtype);
        Assert.Equal(ScalarType.Float32, mixed.H.dtype);
        Assert.Equal(ScalarType.Float32, mixed.C.dtype);
        Assert.InRange(RelativeError(mixed.Y, reference.Y), 1e-5, Tolerance);       // > 0: the bf16 path really ran
        Assert.InRange(RelativeError(mixed.H, reference.H), 0, Tolerance);
        Assert.InRange(RelativeError(mixed.C, reference.C), 0, Tolerance);
        for (int i = 0; i < reference.Grads.Length; i++)
        {
            Assert.Equal(ScalarType.Float32, mixed.Grads[i].dtype);
            Assert.True(reference.Grads[i].abs().sum().item<float>() > 0);
            double error = RelativeError(mixed.Grads[i], reference.Grads[i]);
            Assert.True(error < Tolerance, $"gradient {i}: relative error {error:E2}");
        }
    }

    [Theory]
    [InlineData(3, 6, 7, 20, 1)]    // hidden 20: two full vectors of 8 and a partial one of 4 per gate
    [InlineData(2, 5, 4, 5, 1)]     // hidden 5: only a partial vector
    [InlineData(4, 1, 8, 16, 1)]    // one step: the incoming fp32 ∂h_T is the only hidden gradient the kernel reads
    [InlineData(19, 4, 6, 12, 2)]   // two threads: rows 0–8 and 9–18 on two single-threaded workers
    public void Managed_cpu_kernel_matches_the_torch_op_path(int batch, int steps, int inputs, int hidden, int threads)
    {
        using var scope = torch.NewDisposeScope();
        Tensor[] reference = RunLayer(batch, steps, inputs, hidden, torchOps: true, threads: 1);
        Tensor[] kernel = RunLayer(batch, steps, inputs, hidden, torchOps: false, threads);
        Assert.Equal(ScalarType.BFloat16, kernel[0].dtype);
        Assert.Equal(new long[] { batch, steps, hidden }, kernel[0].shape);
        for (int i = 0; i < reference.Length; i++)
        {
            Assert.Equal(reference[i].dtype, kernel[i].dtype);
            Assert.Equal(reference[i].shape, kernel[i].shape);
            Assert.True(reference[i].to(ScalarType.Float32).abs().sum().item<float>() > 0);
            // Both paths round the same GEMM operands to bf16; they differ only by a bf16 rounding here and there
            // (the torch-op path also rounds h_t's incoming gradient), far inside the 3% allowed against fp32.
            double error = RelativeError(kernel[i], reference[i]);
            Assert.True(error < 0.01, $"tensor {i}: relative error {error:E2}");
        }
    }

    [Fact]
    public void Rows_split_across_two_threads_give_what_one_thread_gives()
    {
        using var scope = torch.NewDisposeScope();
        // Rows never meet inside the recurrence: only the bias gradient's sum (per block, then added) and the GEMMs'
        // blocking may differ between one block of 19 rows and blocks of 9 and 10.
        Tensor[] one = RunLayer(19, 5, 6, 12, torchOps: false, threads: 1);
        Tensor[] two = RunLayer(19, 5, 6, 12, torchOps: false, threads: 2);
        for (int i = 0; i < one.Length; i++)
        {
            double error = RelativeError(two[i], one[i]);
            Assert.True(error < 1e-3, $"tensor {i}: relative error {error:E2}");
        }
    }

    // Outputs (y, h_T, c_T) and the gradients of the seven inputs of one layer, from fixed random inputs, with libtorch at
    // `threads` intra-op threads (the kernel path splits the batch's rows into that many blocks).
    private static Tensor[] RunLayer(int batch, int steps, int inputs, int hidden, bool torchOps, int threads)
    {
        TorchTestSetup.Use();
        torch.manual_seed(31);
        Tensor[] values =
        {
            torch.randn(batch, steps, inputs),
            torch.randn(1, batch, hidden) * 0.5,
            torch.randn(1, batch, hidden) * 0.5,
            torch.randn(4 * hidden, inputs) * 0.4,
            torch.randn(4 * hidden, hidden) * 0.4,
            torch.randn(4 * hidden) * 0.2,
            torch.randn(4 * hidden) * 0.2,
        };
        var dy = torch.randn(batch, steps, hidden);
        var dh = torch.randn(1, batch, hidden);
        var dc = torch.randn(1, batch, hidden);
        Tensor[] leaves = values.Select(v => v.clone().requires_grad_(true)).ToArray();
        var arguments = leaves.Cast<object>().Append(torchOps).ToArray();
        TorchRuntime.Initialize(threads);
        try
        {
            List<Tensor> outputs = Bf16LstmFunction.apply(arguments);
            ((outputs[0].to(ScalarType.Float32) * dy).sum() + (outputs[1] * dh).sum() + (outputs[2] * dc).sum()).backward();
            return outputs.Select(o => o.detach()).Concat(leaves.Select(l => l.grad!.clone())).ToArray();
        }
        finally
        {
            TorchTestSetup.Use();
        }
    }

    [Fact]
    public void Kernel_bf16_narrowing_rounds_to_nearest_even_like_libtorch()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(32);
        float[] special =
        {
            0f, -0f, 1f, -1f,
            1.00390625f,            // 1 + 2⁻⁸: a tie between 1 and 1 + 2⁻⁷ → even (1)
            1.01171875f,            // 1 + 3·2⁻⁸: a tie → even (1 + 2⁻⁶)
            -1.00390625f, 1.0039063f, 0.1f, 3.14159265f, -2.7182817f, 65504f, 1e-30f,
            float.MaxValue,         // rounds up to +∞, as libtorch does
            float.PositiveInfinity, float.NegativeInfinity,
        };
        float[] values = special.Concat((torch.randn(4000) * torch.exp(torch.randn(4000) * 4)).data<float>().ToArray()).ToArray();
        float[] expected = torch.tensor(values).to(ScalarType.BFloat16).to(ScalarType.Float32).data<float>().ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            float actual = Bf16Vector.FromBf16(Bf16Vector.ToBf16(values[i]));
            Assert.True(BitConverter.SingleToInt32Bits(actual) == BitConverter.SingleToInt32Bits(expected[i]),
                $"{values[i]:R}: kernel {actual:R}, libtorch {expected[i]:R}");
        }
        Assert.True(float.IsNaN(Bf16Vector.FromBf16(Bf16Vector.ToBf16(float.NaN))));
        Assert.Equal(1.0078125f, Bf16Vector.FromBf16(0x3F81));   // widening is exact: the bits become the high half
    }

    [Theory]
    [InlineData(0)]     // the default: every layer through the bf16-GEMM layer
    [InlineData(256)]   // opt-in: these tiny layers run libtorch's fused kernel in bf16
    public void Language_model_step_with_all_dropouts_matches_fp32_and_draws_the_same_masks(int fusedMaxHidden)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        var config = TinyModels.Config() with { WeightDropout = 0.5, InputDropout = 0.3, HiddenDropout = 0.3, OutputDropout = 0.3, EmbeddingDropout = 0.2 };
        using var fp32 = TinyModels.LanguageModel(seed: 22, config: config);
        using var bf16 = TinyModels.LanguageModel(seed: 22, config: config);
        bf16.Precision = ComputePrecision.BFloat16;
        bf16.Encoder.FusedBf16MaxHidden = fusedMaxHidden;
        var ids = torch.randint(0, 40, new long[] { 4, 7 }, dtype: ScalarType.Int64);
        var targets = torch.randint(0, 40, new long[] { 4, 7 }, dtype: ScalarType.Int64);

        (double Loss, Dictionary<string, Tensor> Grads, Tensor Raw) Step(AwdLstmLanguageModel model)
        {
            model.train();
            model.Reset();
            torch.manual_seed(23);                                   // same masks in both modes (fp32 masks, same order)
            var task = new LanguageModelTask(model);
            using var batch = new LanguageModelBatch(ids.clone(), targets.clone(), 7);
            BatchOutput output = task.Step(batch, training: true);
            output.BackwardLoss.backward();
            var grads = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
            return (output.Loss.item<float>(), grads, model.Encoder.Layers[0].WeightHiddenRaw.grad!.eq(0).clone());
        }

        var reference = Step(fp32);
        var mixed = Step(bf16);
        Assert.InRange(Math.Abs(mixed.Loss / reference.Loss - 1), 0, 0.01);
        // DropConnect drew the same mask: the raw matrix's gradient is zero at exactly the same entries.
        Assert.True(TinyModels.Same(mixed.Raw, reference.Raw));
        foreach (var (name, grad) in reference.Grads)
        {
            Assert.Equal(ScalarType.Float32, mixed.Grads[name].dtype);
            double error = RelativeError(mixed.Grads[name], grad);
            Assert.True(error < Tolerance, $"{name}: relative error {error:E2}");
        }
    }

    [Fact]
    public void Float32_mode_still_runs_libtorch_lstm_bit_for_bit_and_keeps_fp32_state()
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = TinyModels.LanguageModel(seed: 24);
        model.eval();
        var ids = torch.randint(0, 40, new long[] { 2, 5 }, dtype: ScalarType.Int64);
        var raw = model.call(ids).Raw;
        // The same chain by hand through the three-argument (libtorch) layer call, from zero state.
        Tensor expected = model.Encoder.EmbeddingWeight.detach().index_select(0, ids.reshape(-1)).view(2, 5, 8);
        foreach (WeightDroppedLstm layer in model.Encoder.Layers)
        {
            var zeros = torch.zeros(1, 2, layer.HiddenSize);
            expected = layer.Forward(expected, zeros, zeros).Output;
        }
        Assert.Equal(ScalarType.Float32, raw.dtype);
        Assert.True(TinyModels.Same(raw, expected));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    public void Bf16_state_carries_across_calls_in_fp32_and_resizes_with_the_batch(int fusedMaxHidden)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var model = TinyModels.LanguageModel(seed: 25);
        model.eval();
        var ids = torch.randint(0, 40, new long[] { 3, 10 }, dtype: ScalarType.Int64);
        var whole = model.call(ids).Raw.detach().to(ScalarType.Float32);
        model.Reset();
        model.Precision = ComputePrecision.BFloat16;
        model.Encoder.FusedBf16MaxHidden = fusedMaxHidden;
        var first = model.call(ids.narrow(1, 0, 6)).Raw;
        var second = model.call(ids.narrow(1, 6, 4)).Raw;                            // continues from the carried state
        var split = torch.cat(new[] { first, second }, 1).to(ScalarType.Float32);
        Assert.InRange(RelativeError(split, whole), 1e-5, Tolerance);
        Assert.Equal(3, model.Encoder.StateRows);
        Assert.All(model.Encoder.CarriedState(), t => Assert.Equal(ScalarType.Float32, t.dtype));
        var saved = model.Encoder.CarriedState().Select(t => t.clone()).ToArray();      // a resumed checkpoint's state
        model.Encoder.RestoreCarriedState(saved);
        Assert.All(model.Encoder.CarriedState(), t => Assert.Equal(ScalarType.Float32, t.dtype));
        var fewer = model.call(ids.narrow(0, 0, 2).narrow(1, 0, 3)).Raw;             // keeps the first 2 rows
        Assert.Equal(new long[] { 2, 3, 8 }, fewer.shape);
        Assert.Equal(2, model.Encoder.StateRows);
    }
}
