using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Models;

/// <summary>
/// Every LSTM path of the engine against a float64 reference (<see cref="LstmReference"/>) at every preset's layer
/// shapes, fastai's 400/1152/3 and the shapes oneDNN's fp32 inference kernel was first seen wrong at (issue 13, AMD
/// Zen 5): the layer in no-grad and training calls, fp32, bf16-GEMM and fused bf16; the whole encoder; generation's
/// one-token steps; the classifier's sentence encoder with its no-grad chunks. On a CPU whose kernels are wrong these
/// fail unless the engine's start-up check (<see cref="LstmKernelCheck"/>) has switched to a right kernel.
/// </summary>
public sealed class LstmNumericsTests
{
    private const double Float32Tolerance = 1e-4;          // the bar, and LstmKernelCheck's
    private const double BFloat16Tolerance = LstmKernelCheck.BFloat16Tolerance;

    public enum LayerPath
    {
        Float32,
        Bf16Gemm,
        FusedBf16,
    }

    public static TheoryData<int, int, LayerPath> LayerShapes()
    {
        var data = new TheoryData<int, int, LayerPath>();
        (int, int)[] shapes =
        {
            (16, 32), (32, 16),                      // tiny 16/32/2
            (64, 256), (256, 256), (256, 64),        // small 64/256/3
            (128, 384), (384, 384), (384, 128),      // issue 14's peer shape 128/384/3
            (400, 1152), (1152, 1152), (1152, 400),  // large = fastai's 400/1152/3
            (8, 12), (100, 400), (128, 300),         // where the fault was first measured
        };
        foreach (var (inputs, hidden) in shapes)
        {
            foreach (LayerPath path in Enum.GetValues<LayerPath>())
            {
                data.Add(inputs, hidden, path);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(LayerShapes))]
    public void The_layer_matches_float64_in_no_grad_and_training_calls(int inputs, int hidden, LayerPath path)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var layer = new WeightDroppedLstm(inputs, hidden, weightDropout: 0);
        bool bf16 = path != LayerPath.Float32;
        if (bf16)
        {
            RoundParametersToBf16(layer);                // the kernels round weights to bf16; the reference gets the same values
        }
        double tolerance = bf16 ? BFloat16Tolerance : Float32Tolerance;
        foreach (int batch in new[] { 1, 3 })
        {
            var problem = new LayerProblem(batch, steps: 6, inputs, hidden, bf16);
            layer.eval();
            using (torch.no_grad())
            {
                var (y, h, c) = Run(layer, path, problem.X, problem.H0, problem.C0);
                var reference = LstmReference.Run(problem.Reference(layer));
                AssertWithin(tolerance, $"{path} {inputs}→{hidden} no-grad batch {batch}",
                    (y, reference.Y), (h, reference.H), (c, reference.C));
            }
        }

        // Training: forward and every gradient (weight dropout 0, so w_hh's gradient is the raw matrix's).
        layer.train();
        var training = new LayerProblem(batch: 3, steps: 6, inputs, hidden, bf16);
        Tensor x = training.X.requires_grad_(), h0 = training.H0.requires_grad_(), c0 = training.C0.requires_grad_();
        var (yT, hT, cT) = Run(layer, path, x, h0, c0);
        training.Loss(yT, hT, cT).backward();
        var expected = LstmReference.Run(training.Reference(layer), training.OutputGradient, training.HiddenGradient, training.CellGradient);
        Dictionary<string, Tensor> parameters = layer.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        Tensor[] actualGradients =
        {
            x.grad!, h0.grad!, c0.grad!, parameters["module.weight_ih_l0"].grad!, parameters["weight_hh_l0_raw"].grad!,
            parameters["module.bias_ih_l0"].grad!, parameters["module.bias_hh_l0"].grad!,
        };
        AssertWithin(tolerance, $"{path} {inputs}→{hidden} training", (yT, expected.Y), (hT, expected.H), (cT, expected.C));
        string[] names = { "x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh" };
        for (int i = 0; i < names.Length; i++)
        {
            double error = RelativeError(actualGradients[i], expected.Gradients![i]);
            Assert.True(error <= tolerance, $"{path} {inputs}→{hidden} training: gradient of {names[i]} off by {error:E2} (relative; tolerance {tolerance:E1})");
        }
    }

    public static TheoryData<string, int, int, int> Presets() => new()
    {
        { "tiny", 16, 32, 2 },
        { "small", 64, 256, 3 },
        { "large", 400, 1152, 3 },
    };

    [Theory]
    [MemberData(nameof(Presets))]
    public void The_encoder_in_eval_matches_float64_in_fp32_and_bf16(string preset, int embedding, int hidden, int layers)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        using var encoder = NewEncoder(embedding, hidden, layers);
        encoder.eval();
        long[] ids = Ids(2 * 9, seed: 1);
        using Tensor batch = torch.tensor(ids, new long[] { 2, 9 }, ScalarType.Int64);
        Tensor expected = torch.stack(new[] { ReferenceEncoder(encoder, ids.Take(9).ToArray()), ReferenceEncoder(encoder, ids.Skip(9).ToArray()) });
        using (torch.no_grad())
        {
            Tensor fp32 = encoder.call(batch);
            AssertWithin(Float32Tolerance, $"{preset} encoder fp32", (fp32, expected));
            encoder.Precision = ComputePrecision.BFloat16;
            Tensor bf16 = encoder.call(batch);
            // Three layers of bf16 roundings the fp64 reference does not make: looser than one layer's bound.
            AssertWithin(2 * BFloat16Tolerance, $"{preset} encoder bf16", (bf16, expected));
        }
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void Generation_one_token_at_a_time_matches_float64_over_the_whole_text(string preset, int embedding, int hidden, int layers)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        using var model = new AwdLstmLanguageModel(Vocabulary, new AwdLstmConfig(EmbeddingSize: embedding, HiddenSize: hidden, Layers: layers));
        model.eval();
        long[] ids = Ids(7, seed: 2);
        Tensor expected = ReferenceEncoder(model.Encoder, ids);
        var steps = new List<Tensor>();
        using (torch.no_grad())
        {
            // As LanguageModelGenerator does: the prompt in one call, then one token per call on the carried state.
            model.Reset();
            steps.Add(model.call(torch.tensor(ids.Take(3).ToArray(), new long[] { 1, 3 }, ScalarType.Int64)).Raw[0]);
            foreach (long id in ids.Skip(3))
            {
                steps.Add(model.call(torch.tensor(new[] { id }, new long[] { 1, 1 }, ScalarType.Int64)).Raw[0]);
            }
        }
        AssertWithin(Float32Tolerance, $"{preset} generation steps", (torch.cat(steps, 0), expected));
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void The_classifiers_sentence_encoder_matches_float64_row_by_row(string preset, int embedding, int hidden, int layers)
    {
        TorchTestSetup.Use();
        using var scope = torch.NewDisposeScope();
        AwdLstmEncoder encoder = NewEncoder(embedding, hidden, layers);
        // bptt 4, at most 8 outputs kept: the longest row's first chunks run under no_grad, rows join as their text starts.
        using var sentences = new SentenceEncoder(new AwdLstmClassifierEncoder(encoder), bptt: 4, maxLength: 8);
        sentences.eval();
        int[] lengths = { 14, 10, 6 };            // texts start at chunk boundaries, as the loader pads them
        int width = lengths[0], pad = encoder.Config.PadToken;
        var rows = lengths.Select((length, r) => Ids(length, seed: 10 + r)).ToArray();
        long[] padded = rows.SelectMany(row => Enumerable.Repeat((long)pad, width - row.Length).Concat(row)).ToArray();
        using Tensor ids = torch.tensor(padded, new long[] { rows.Length, width }, ScalarType.Int64);
        Tensor output;
        using (torch.no_grad())
        {
            output = sentences.call(ids).Output;                                       // (rows, kept columns, emb)
        }
        long columns = output.shape[1];                                                // whole chunks: 6 of the 14 here
        Assert.InRange(columns, 1, width - 1);                                         // so some chunks did run under no_grad
        for (int r = 0; r < rows.Length; r++)
        {
            Tensor expected = ReferenceEncoder(encoder, rows[r]);                      // (length, emb)
            long kept = Math.Min(rows[r].Length, columns);
            AssertWithin(Float32Tolerance, $"{preset} sentence encoder row {r}",
                (output[r].narrow(0, columns - kept, kept), expected.narrow(0, rows[r].Length - kept, kept)));
        }
    }

    private const int Vocabulary = 30;

    private static AwdLstmEncoder NewEncoder(int embedding, int hidden, int layers)
    {
        torch.manual_seed(4);
        return new AwdLstmEncoder(Vocabulary, new AwdLstmConfig(EmbeddingSize: embedding, HiddenSize: hidden, Layers: layers));
    }

    private static long[] Ids(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (long)random.Next(2, Vocabulary)).ToArray();   // never the pad id
    }

    // One row through the encoder's layers in float64 from zero state: embedding rows, then each layer (no dropout).
    private static Tensor ReferenceEncoder(AwdLstmEncoder encoder, long[] ids)
    {
        using var noGrad = torch.no_grad();
        using Tensor index = torch.tensor(ids, ScalarType.Int64);
        Tensor x = encoder.EmbeddingWeight.detach().to(ScalarType.Float64).index_select(0, index).unsqueeze(0);   // (1, T, emb)
        foreach (WeightDroppedLstm layer in encoder.Layers)
        {
            Tensor zeros = torch.zeros(1, 1, layer.HiddenSize, dtype: ScalarType.Float64);
            x = LstmReference.Run(new[] { x, zeros, zeros }.Concat(Weights(layer)).ToArray()).Y;
        }
        return x[0];
    }

    // w_ih, w_hh (raw), b_ih, b_hh in float64.
    private static IEnumerable<Tensor> Weights(WeightDroppedLstm layer)
    {
        Dictionary<string, Tensor> p = layer.named_parameters().ToDictionary(n => n.name, n => (Tensor)n.parameter);
        return new[] { "module.weight_ih_l0", "weight_hh_l0_raw", "module.bias_ih_l0", "module.bias_hh_l0" }
            .Select(name => p[name].detach().to(ScalarType.Float64));
    }

    private static void RoundParametersToBf16(WeightDroppedLstm layer)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, parameter) in layer.named_parameters())
        {
            parameter.copy_(parameter.to(ScalarType.BFloat16).to(ScalarType.Float32));
        }
    }

    private static (Tensor Y, Tensor H, Tensor C) Run(WeightDroppedLstm layer, LayerPath path, Tensor x, Tensor h0, Tensor c0) => path switch
    {
        LayerPath.Float32 => layer.Forward(x, h0, c0),
        LayerPath.Bf16Gemm => layer.Forward(x, h0, c0, bf16MatrixProducts: true),
        _ => layer.Forward(x.to(ScalarType.BFloat16), h0.to(ScalarType.BFloat16), c0.to(ScalarType.BFloat16)),
    };

    private static void AssertWithin(double tolerance, string what, params (Tensor Actual, Tensor Expected)[] pairs)
    {
        foreach (var (actual, expected) in pairs)
        {
            Assert.Equal(expected.shape, actual.shape);
            double error = actual.detach().to(ScalarType.Float64).sub(expected.detach()).abs().max().item<double>();
            Assert.True(error <= tolerance, $"{what}: max abs error {error:E2} against float64 (tolerance {tolerance:E1})");
        }
    }

    private static double RelativeError(Tensor actual, Tensor expected)
    {
        double scale = Math.Max(1, expected.abs().max().item<double>());
        return actual.detach().to(ScalarType.Float64).sub(expected).abs().max().item<double>() / scale;
    }

    // Inputs (bf16-exact when the path rounds them) and a fixed random linear loss of the three outputs.
    private sealed class LayerProblem
    {
        private readonly bool bf16;

        public LayerProblem(int batch, int steps, int inputs, int hidden, bool bf16)
        {
            this.bf16 = bf16;
            X = Exact(torch.rand(batch, steps, inputs).mul_(3).sub_(1.5));
            H0 = Exact(torch.rand(1, batch, hidden).sub_(0.5));
            C0 = Exact(torch.rand(1, batch, hidden).sub_(0.5));
            OutputGradient = torch.rand(batch, steps, hidden, dtype: ScalarType.Float64).mul_(2).sub_(1);
            HiddenGradient = torch.rand(1, batch, hidden, dtype: ScalarType.Float64).mul_(2).sub_(1);
            CellGradient = torch.rand(1, batch, hidden, dtype: ScalarType.Float64).mul_(2).sub_(1);
        }

        public Tensor X { get; }

        public Tensor H0 { get; }

        public Tensor C0 { get; }

        public Tensor OutputGradient { get; }

        public Tensor HiddenGradient { get; }

        public Tensor CellGradient { get; }

        public Tensor[] Reference(WeightDroppedLstm layer) =>
            new[] { X, H0, C0 }.Select(t => t.detach().to(ScalarType.Float64)).Concat(Weights(layer)).ToArray();

        public Tensor Loss(Tensor y, Tensor h, Tensor c) =>
            y.to(ScalarType.Float64).mul(OutputGradient).sum() + h.to(ScalarType.Float64).mul(HiddenGradient).sum()
            + c.to(ScalarType.Float64).mul(CellGradient).sum();

        private Tensor Exact(Tensor values) => bf16 ? values.to(ScalarType.BFloat16).to(ScalarType.Float32) : values;
    }
}
