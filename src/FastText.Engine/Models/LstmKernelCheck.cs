using System.Diagnostics;
using System.Globalization;
using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>
/// Checks each LSTM kernel against a float64 reference on the CPU it runs on, once per shape and thread count, before
/// the engine uses its first result, and runs the first kernel that is right; says so once when it has to fall back,
/// and refuses (<see cref="KernelNumericsException"/>) when none is right.
/// </summary>
/// <remarks>
/// Why: libtorch 2.10's oneDNN picks kernels per CPU, and its fp32 brgemm <c>forward_inference</c> LSTM kernel was
/// found returning wrong hidden states on an AMD Zen 5 (errors up to 0.55 at fastai's 1152→400 layer) while the
/// training kernel, the same layer with grad on, was right (native-notes/onednn-lstm-inference.md). Which CPUs and shapes
/// are affected cannot be listed in advance, so the engine measures instead of trusting. Candidates, in order:
/// no-grad calls try <see cref="LstmKernel.Fused"/> (the fast brgemm kernel), then
/// <see cref="LstmKernel.FusedTrainingKernel"/>, then <see cref="LstmKernel.Steps"/>; grad calls try
/// <see cref="LstmKernel.Fused"/>, then <see cref="LstmKernel.Steps"/>; the bf16-GEMM layer is checked alone.
/// Each check runs the shape on fixed pseudo-random inputs (batches 1 and 7 for no-grad calls — generation's and an odd
/// one — and 5 for grad calls, 3 steps), compares outputs, final state and, for grad calls, every input's and weight's
/// gradient with <see cref="LstmReference"/>, a float64 layer with a hand-written backward that shares no code with
/// the kernels under test. Its cost per preset is in perf-results/LstmNumerics.md. It never draws from torch's
/// generator, so seeded runs and resumed runs stay bit-identical.
/// </remarks>
internal sealed class LstmKernelCheck
{
    /// <summary>Largest error accepted for fp32 kernels: outputs and final state in absolute terms, gradients relative
    /// to their largest magnitude (at least 1).</summary>
    public const double Float32Tolerance = 1e-4;

    /// <summary>Largest error accepted for bf16 kernels, measured the same way. Right bf16 kernels stay below ~0.01 at
    /// the checked sizes (native-notes/onednn-lstm-inference.md); the oneDNN fault was 0.17–0.55.</summary>
    public const double BFloat16Tolerance = 0.05;

    private const int CheckSteps = 3;
    private static readonly int[] InferenceBatches = { 1, 7 };
    private static readonly int[] TrainingBatches = { 5 };

    /// <summary>A kernel runner (<see cref="LstmKernels.Run"/>; tests inject faulty ones).</summary>
    public delegate (Tensor Output, Tensor Hidden, Tensor Cell) Runner(LstmKernel kernel, Tensor x, Tensor h0, Tensor c0,
        Tensor wIh, Tensor wHh, Tensor bIh, Tensor bHh, bool train);

    /// <summary>What is checked: a layer kind (its preferred kernel), grad mode, dtype, sizes and intra-op threads.</summary>
    /// <param name="Preferred"><see cref="LstmKernel.Fused"/> for libtorch's layer, <see cref="LstmKernel.Bf16Gemm"/> for the
    /// bf16-GEMM layer.</param>
    /// <param name="Inference">Whether the call runs with grad off (oneDNN then picks its inference kernel).</param>
    /// <param name="Type">Compute dtype (fp32 or bf16).</param>
    /// <param name="Inputs">Input features.</param>
    /// <param name="Hidden">Hidden features.</param>
    /// <param name="Threads">Torch intra-op threads (kernels split work differently per thread count).</param>
    internal readonly record struct Shape(LstmKernel Preferred, bool Inference, ScalarType Type, int Inputs, int Hidden, int Threads)
    {
        /// <inheritdoc />
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Inputs}→{Hidden} {(Type == ScalarType.BFloat16 ? "bf16" : "fp32")} {(Inference ? "no-grad" : "training")}, {Threads} thread{(Threads == 1 ? "" : "s")}");
    }

    /// <summary>One kernel's measured error at a shape.</summary>
    internal readonly record struct Trial(LstmKernel Kernel, double Error, double Tolerance)
    {
        /// <summary>Whether the error is within the tolerance (NaN never is).</summary>
        public bool Right => Error <= Tolerance;
    }

    /// <summary>The outcome for a shape: the kernel in use, every trial, and the time the check took.</summary>
    internal sealed record Verdict(Shape Shape, LstmKernel Kernel, IReadOnlyList<Trial> Trials, double Milliseconds);

    private readonly object gate = new();
    private readonly Dictionary<Shape, Verdict> verdicts = new();
    private readonly Runner runner;
    private readonly Action<string> notify;

    /// <summary>The process's check, over the real kernels; fallbacks are announced on <see cref="TorchRuntime.Notices"/>.</summary>
    public static LstmKernelCheck Shared { get; } = new(LstmKernels.Run, message => TorchRuntime.Notices.WriteLine(message));

    /// <summary>Creates a check over <paramref name="runner"/>, announcing fallbacks through <paramref name="notify"/>.</summary>
    public LstmKernelCheck(Runner runner, Action<string> notify)
    {
        this.runner = runner ?? throw new ArgumentNullException(nameof(runner));
        this.notify = notify ?? throw new ArgumentNullException(nameof(notify));
    }

    /// <summary>Every verdict so far, in the order the shapes were first used.</summary>
    public IReadOnlyList<Verdict> Verdicts
    {
        get
        {
            lock (gate)
            {
                return verdicts.Values.ToArray();
            }
        }
    }

    /// <summary>The kernel to use for a call of libtorch's layer (<see cref="LstmKernel.Fused"/> family) in the current
    /// grad mode and thread count; checks the shape first if it is new.</summary>
    public LstmKernel ForFusedLayer(ScalarType type, int inputs, int hidden) =>
        Choose(new Shape(LstmKernel.Fused, !torch.is_grad_enabled(), type, inputs, hidden, torch.get_num_threads())).Kernel;

    /// <summary>Makes sure the bf16-GEMM layer is right at this shape in the current grad mode and thread count.</summary>
    /// <exception cref="KernelNumericsException">It is not.</exception>
    public void EnsureBf16Gemm(int inputs, int hidden) =>
        Choose(new Shape(LstmKernel.Bf16Gemm, !torch.is_grad_enabled(), ScalarType.BFloat16, inputs, hidden, torch.get_num_threads()));

    /// <summary>The verdict for <paramref name="shape"/>, checking it first if it is new.</summary>
    /// <exception cref="KernelNumericsException">No candidate kernel is right at this shape.</exception>
    public Verdict Choose(Shape shape)
    {
        lock (gate)
        {
            if (verdicts.TryGetValue(shape, out Verdict? known))
            {
                return known;
            }
            var clock = Stopwatch.StartNew();
            var trials = new List<Trial>();
            LstmKernel? chosen = null;
            foreach (LstmKernel candidate in Candidates(shape))
            {
                var trial = new Trial(candidate, Measure(candidate, shape), shape.Type == ScalarType.BFloat16 ? BFloat16Tolerance : Float32Tolerance);
                trials.Add(trial);
                if (trial.Right)
                {
                    chosen = candidate;
                    break;
                }
            }
            if (chosen is null)
            {
                throw new KernelNumericsException(Refusal(shape, trials));
            }
            var verdict = new Verdict(shape, chosen.Value, trials, clock.Elapsed.TotalMilliseconds);
            verdicts[shape] = verdict;
            if (trials.Count > 1)
            {
                notify(Fallback(verdict));
            }
            return verdict;
        }
    }

    /// <summary>The kernels tried for <paramref name="shape"/>, in order.</summary>
    public static IReadOnlyList<LstmKernel> Candidates(Shape shape) => shape.Preferred switch
    {
        LstmKernel.Bf16Gemm => new[] { LstmKernel.Bf16Gemm },
        _ when shape.Inference => new[] { LstmKernel.Fused, LstmKernel.FusedTrainingKernel, LstmKernel.Steps },
        _ => new[] { LstmKernel.Fused, LstmKernel.Steps },
    };

    /// <summary>The worst error of <paramref name="kernel"/> at <paramref name="shape"/> against float64 (NaN counts as
    /// infinitely wrong).</summary>
    public double Measure(LstmKernel kernel, Shape shape) =>
        Measure(kernel, shape, shape.Inference ? InferenceBatches : TrainingBatches, CheckSteps);

    /// <summary>The worst error of <paramref name="kernel"/> at <paramref name="shape"/> over the given batch sizes and
    /// sequence length (the check's own are small; the repro run also tries training-sized ones).</summary>
    public double Measure(LstmKernel kernel, Shape shape, IEnumerable<int> batches, int steps)
    {
        ArgumentNullException.ThrowIfNull(batches);
        using var scope = torch.NewDisposeScope();
        double worst = 0;
        var weights = new Weights(shape);              // made once per measurement: large at fastai's sizes
        foreach (int batch in batches)
        {
            var problem = new Problem(shape, weights, batch, steps);
            double error = shape.Inference ? InferenceError(kernel, problem) : TrainingError(kernel, problem);
            worst = double.IsNaN(error) ? double.PositiveInfinity : Math.Max(worst, error);
        }
        return worst;
    }

    private double InferenceError(LstmKernel kernel, Problem problem)
    {
        using var noGrad = torch.no_grad();
        Tensor[] inputs = problem.Inputs(requiresGrad: false);
        var (y, h, c) = runner(kernel, inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], inputs[6], train: false);
        var reference = LstmReference.Run(problem.Reference());
        return Max(Difference(y, reference.Y), Difference(h, reference.H), Difference(c, reference.C));
    }

    private double TrainingError(LstmKernel kernel, Problem problem)
    {
        using var grad = torch.enable_grad();
        Tensor[] leaves = problem.Inputs(requiresGrad: true);
        var (y, h, c) = runner(kernel, leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5], leaves[6], train: true);
        problem.Loss(y, h, c).backward();
        var reference = problem.ReferenceWithGradients();
        double error = Max(Difference(y, reference.Y), Difference(h, reference.H), Difference(c, reference.C));
        for (int i = 0; i < leaves.Length; i++)
        {
            Tensor? gradient = leaves[i].grad;
            error = Math.Max(error, gradient is null ? double.PositiveInfinity : RelativeDifference(gradient, reference.Gradients![i]));
        }
        return error;
    }

    // Max |actual − expected|, computed in place in the float64 reference (which is not needed afterwards): at fastai's
    // sizes every extra temporary is a fresh 42 MB mapping, page-faulted in.
    private static double Difference(Tensor actual, Tensor expected)
    {
        using Tensor largest = expected.sub_(actual.detach()).abs_().max();
        return largest.item<double>();
    }

    // The same, relative to the largest reference magnitude (at least 1), for gradients, which grow with batch and steps.
    private static double RelativeDifference(Tensor actual, Tensor expected)
    {
        using Tensor high = expected.max();
        using Tensor low = expected.min();
        double scale = Math.Max(1, Math.Max(high.item<double>(), -low.item<double>()));
        return Difference(actual, expected) / scale;
    }

    private static double Max(params double[] values) => values.Any(double.IsNaN) ? double.NaN : values.Max();

    private static string Describe(LstmKernel kernel) => kernel switch
    {
        LstmKernel.Fused => "libtorch's fused LSTM kernel (oneDNN)",
        LstmKernel.FusedTrainingKernel => "oneDNN's training LSTM kernel",
        LstmKernel.Steps => "the plain-GEMM LSTM (one GEMM per step)",
        LstmKernel.Bf16Gemm => "the bf16-GEMM LSTM layer",
        _ => kernel.ToString(),
    };

    private static string Trials(IEnumerable<Trial> trials) => string.Join("; ", trials.Select(t =>
        string.Create(CultureInfo.InvariantCulture, $"{Describe(t.Kernel)}: max error {t.Error:G3}")));

    private static string Fallback(Verdict verdict)
    {
        Trial used = verdict.Trials[^1];
        string wrong = Trials(verdict.Trials.Take(verdict.Trials.Count - 1));
        return string.Create(CultureInfo.InvariantCulture,
            $"FastText.Engine: on this CPU {wrong} against float64 for an LSTM of {verdict.Shape} (tolerance {used.Tolerance:G2}); using {Describe(used.Kernel)} for it (max error {used.Error:G3}). See native-notes/onednn-lstm-inference.md.");
    }

    private static string Refusal(Shape shape, IReadOnlyList<Trial> trials)
    {
        string advice = shape.Type == ScalarType.BFloat16 ? "Train in fp32 instead (--precision fp32), or set" : "Set";
        return string.Create(CultureInfo.InvariantCulture,
            $"No LSTM kernel computes right numbers on this CPU for an LSTM of {shape}: {Trials(trials)} against float64 (tolerance {trials[0].Tolerance:G2}). {advice} ONEDNN_MAX_CPU_ISA=AVX2 in the environment before starting, which makes oneDNN use other kernels; see native-notes/onednn-lstm-inference.md.");
    }

    // Values exact in the compute dtype, so the float64 reference sees the same numbers, with both copies kept: in the
    // kernel's dtype and in float64. They come from a Weyl sequence (frac(k·α + β) over the flattened index k, α
    // irrational): deterministic, fast at fastai's sizes (torch.rand takes ~0.1 s for a 4608 × 1152 float64 matrix) and
    // independent of torch's generator, which the check must never advance.
    private sealed class Values
    {
        private const double Alpha = 0.6180339887498949;

        public Values(Shape shape, double seed, long rows, long columns, double scale = 1)
        {
            // value[r, c] = frac(β + (r·columns + c)·α): row and column terms reduced separately in float64, added in fp32.
            // Explicit Scalars throughout: an implicit one is the GC's to free mid-call (Native/Scalars.cs).
            using Scalar rowStep = columns * Alpha, offset = seed * 0.7548776662466927, columnStep = Alpha, width = (float)(2 * scale), shift = (float)scale;
            using Tensor r = torch.arange(rows, dtype: ScalarType.Float64).mul_(rowStep).add_(offset, Scalars.One).frac_();
            using Tensor c = torch.arange(columns, dtype: ScalarType.Float64).mul_(columnStep).frac_();
            using Tensor r32 = r.to(ScalarType.Float32).view(rows, 1);
            using Tensor c32 = c.to(ScalarType.Float32).view(1, columns);
            Tensor values = r32.add(c32, Scalars.One);
            values.frac_().mul_(width).sub_(shift);                                // U(−scale, scale), fp32
            if (shape.Type == ScalarType.BFloat16)
            {
                using Tensor rounded = values.to(ScalarType.BFloat16);
                values.Dispose();
                values = rounded.to(ScalarType.Float32);
            }
            Kernel = shape.Preferred == LstmKernel.Bf16Gemm || shape.Type == ScalarType.Float32 ? values : values.to(shape.Type);
            Reference = values.to(ScalarType.Float64);
            if (!ReferenceEquals(Kernel, values))
            {
                values.Dispose();
            }
        }

        /// <summary>In the kernel's input dtype: fp32 or bf16 like the shape; fp32 for the bf16-GEMM layer, which takes
        /// fp32 state and master weights and rounds them itself.</summary>
        public Tensor Kernel { get; }

        /// <summary>In float64.</summary>
        public Tensor Reference { get; }

        /// <summary>The same values viewed with another shape.</summary>
        public Values Reshaped(params long[] size) => new(Kernel.view(size), Reference.view(size));

        /// <summary>A block of rows.</summary>
        public Values Rows(long start, long count) => new(Kernel.narrow(0, start, count), Reference.narrow(0, start, count));

        private Values(Tensor kernel, Tensor reference)
        {
            Kernel = kernel;
            Reference = reference;
        }
    }

    // The layer's parameters, with PyTorch's LSTM init range U(−1/√H, 1/√H).
    private sealed class Weights
    {
        public Weights(Shape shape)
        {
            long gates = 4L * shape.Hidden;
            double bound = 1 / Math.Sqrt(shape.Hidden);
            InputHidden = new Values(shape, 0.1, gates, shape.Inputs, bound);
            HiddenHidden = new Values(shape, 0.2, gates, shape.Hidden, bound);
            Biases = new Values(shape, 0.3, 2, gates, bound);
        }

        public Values InputHidden { get; }

        public Values HiddenHidden { get; }

        public Values Biases { get; }
    }

    // One check problem: the layer's weights and one batch's inputs, state and output gradients.
    private sealed class Problem
    {
        private readonly Values[] inputs;                     // x, h0, c0, w_ih, w_hh, b_ih, b_hh
        private readonly Tensor outputGradient, hiddenGradient, cellGradient;

        public Problem(Shape shape, Weights weights, int batch, int steps)
        {
            Shape = shape;
            int h = shape.Hidden;
            double seed = 0.4 + batch * 0.01 + steps * 0.001;
            var x = new Values(shape, seed, (long)batch * steps, shape.Inputs, 1.5);
            var state = new Values(shape, seed + 0.5, 2L * batch, h, 0.5);
            inputs = new[]
            {
                x.Reshaped(batch, steps, shape.Inputs),
                state.Rows(0, batch).Reshaped(1, batch, h), state.Rows(batch, batch).Reshaped(1, batch, h),
                weights.InputHidden, weights.HiddenHidden,
                weights.Biases.Rows(0, 1).Reshaped(4L * h), weights.Biases.Rows(1, 1).Reshaped(4L * h),
            };
            long outputs = (long)batch * steps * h, states = (long)batch * h;
            Tensor unit = new Values(shape, seed + 0.9, 1, outputs + 2 * states).Reference.view(-1);
            outputGradient = unit.narrow(0, 0, outputs).view(batch, steps, h);
            hiddenGradient = unit.narrow(0, outputs, states).view(1, batch, h);
            cellGradient = unit.narrow(0, outputs + states, states).view(1, batch, h);
        }

        public Shape Shape { get; }

        /// <summary>The seven inputs as the kernel takes them, as fresh leaves over the kept values (no copies).</summary>
        public Tensor[] Inputs(bool requiresGrad) => inputs.Select(v => v.Kernel.detach().requires_grad_(requiresGrad)).ToArray();

        /// <summary>The seven inputs in float64, for the reference.</summary>
        public Tensor[] Reference() => inputs.Select(v => v.Reference).ToArray();

        /// <summary>The float64 reference's outputs and the gradients of <see cref="Loss"/>.</summary>
        public (Tensor Y, Tensor H, Tensor C, Tensor[]? Gradients) ReferenceWithGradients() =>
            LstmReference.Run(Reference(), outputGradient, hiddenGradient, cellGradient);

        /// <summary>A fixed linear function of all three outputs, computed in float64.</summary>
        public Tensor Loss(Tensor y, Tensor h, Tensor c) =>
            y.to(ScalarType.Float64).mul(outputGradient).sum() + h.to(ScalarType.Float64).mul(hiddenGradient).sum()
            + c.to(ScalarType.Float64).mul(cellGradient).sum();
    }
}
