using System.Runtime.Intrinsics;
using FastText.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>
/// The AdamW update of every parameter of a TorchSharp <see cref="AdamW"/> in one managed pass per parameter, over the
/// optimizer's own state tensors (so its checkpoint format is unchanged): decoupled decay, both moments, bias
/// corrections and the update read and write each element once. Same arithmetic as <c>AdamW.step()</c>, in fp32.
/// </summary>
/// <remarks>
/// Why not <c>AdamW.step()</c>: it runs ~8 torch ops per parameter, each with an implicit <see cref="Scalar"/>
/// argument that TorchSharp leaves to the garbage collector. A <see cref="Scalar"/>'s native object can then be freed by
/// the finalizer thread while the call that reads it is still running — seen as a rare "Expected false to be true"
/// from <c>c10::Scalar::toFloat</c> inside <c>AdamW.step</c> when the test classes ran in parallel (TorchSharp PR #1434
/// is the open fix). Here nothing native is called for fp32 CPU parameters; elsewhere (other devices, dtypes or
/// layouts) the same update runs as torch ops with every <see cref="Scalar"/> disposed by hand.
/// </remarks>
internal static unsafe class FusedAdamStep
{
    // Parameters with more elements than this are split across workers.
    private const int ParallelThreshold = 1 << 18;

    /// <summary>Updates every parameter of <paramref name="optimizer"/> that has a gradient, group by group with each group's
    /// current learning rate, betas, ε and weight decay; increments each updated parameter's step count.</summary>
    public static void Step(AdamW optimizer, int threads)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var states = optimizer.state_dict().State;
        int index = 0;
        using var noGrad = torch.no_grad();
        foreach (AdamW.ParamGroup group in optimizer.ParamGroups.Cast<AdamW.ParamGroup>())
        {
            AdamW.Options options = group.Options;
            var hyper = new Hyper(options.LearningRate!.Value, options.beta1!.Value, options.beta2!.Value, options.eps!.Value,
                options.weight_decay!.Value);
            foreach (Parameter parameter in group.Parameters)
            {
                var state = (AdamW.State)states[index++];
                using Tensor? grad = parameter.grad;
                if (grad is null)
                {
                    continue;
                }
                state.step += 1;
                if (Managed(parameter, grad, state))
                {
                    Update(parameter, grad, state, hyper.For(state.step), threads);
                }
                else
                {
                    UpdateWithTorchOps(parameter, grad, state, hyper.For(state.step));
                }
            }
        }
    }

    // The step's constants, computed in double as AdamW.step() does.
    private readonly record struct Hyper(double LearningRate, double Beta1, double Beta2, double Epsilon, double WeightDecay)
    {
        public Coefficients For(long step)
        {
            double correction1 = 1 - Math.Pow(Beta1, step), correction2 = 1 - Math.Pow(Beta2, step);
            return new Coefficients((float)(1 - LearningRate * WeightDecay), (float)Beta1, (float)(1 - Beta1), (float)Beta2,
                (float)(1 - Beta2), (float)Math.Sqrt(correction2), (float)Epsilon, (float)(-LearningRate / correction1));
        }
    }

    private readonly record struct Coefficients(float Decay, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
        float Correction2Root, float Epsilon, float MinusStepSize);

    private static bool Managed(Tensor parameter, Tensor grad, AdamW.State state) =>
        parameter.device_type == DeviceType.CPU && grad.device_type == DeviceType.CPU
        && parameter.dtype == ScalarType.Float32 && grad.dtype == ScalarType.Float32
        && state.exp_avg.dtype == ScalarType.Float32 && state.exp_avg_sq.dtype == ScalarType.Float32
        && state.max_exp_avg_sq is null
        && parameter.is_contiguous() && grad.is_contiguous() && state.exp_avg.is_contiguous() && state.exp_avg_sq.is_contiguous();

    private static void Update(Tensor parameter, Tensor grad, AdamW.State state, Coefficients c, int threads)
    {
        float* p = Bf16Vector.Pointer<float>(parameter), g = Bf16Vector.Pointer<float>(grad);
        float* m = Bf16Vector.Pointer<float>(state.exp_avg), v = Bf16Vector.Pointer<float>(state.exp_avg_sq);
        long count = parameter.numel();
        int workers = count > ParallelThreshold ? Math.Max(1, threads) : 1;
        if (workers == 1)
        {
            Range(p, g, m, v, 0, count, c);
            return;
        }
        nint pAt = (nint)p, gAt = (nint)g, mAt = (nint)m, vAt = (nint)v;
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
        {
            // Blocks of whole vectors, so only the last worker has a tail.
            long vectors = count / Bf16Vector.Lanes;
            long first = vectors * w / workers * Bf16Vector.Lanes;
            long last = w == workers - 1 ? count : vectors * (w + 1) / workers * Bf16Vector.Lanes;
            Range((float*)pAt, (float*)gAt, (float*)mAt, (float*)vAt, first, last, c);
        });
    }

    // p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²; p ← p − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + ε).
    private static void Range(float* p, float* g, float* m, float* v, long first, long last, Coefficients c)
    {
        Vector256<float> decay = Vector256.Create(c.Decay), beta1 = Vector256.Create(c.Beta1), oneMinusBeta1 = Vector256.Create(c.OneMinusBeta1);
        Vector256<float> beta2 = Vector256.Create(c.Beta2), oneMinusBeta2 = Vector256.Create(c.OneMinusBeta2);
        Vector256<float> root = Vector256.Create(c.Correction2Root), epsilon = Vector256.Create(c.Epsilon), stepSize = Vector256.Create(c.MinusStepSize);
        long i = first;
        for (; i + Bf16Vector.Lanes <= last; i += Bf16Vector.Lanes)
        {
            Vector256<float> gi = Vector256.Load(g + i);
            Vector256<float> mi = Vector256.Load(m + i) * beta1 + gi * oneMinusBeta1;
            Vector256<float> vi = Vector256.Load(v + i) * beta2 + gi * gi * oneMinusBeta2;
            Vector256<float> denominator = Vector256.Sqrt(vi) / root + epsilon;
            Vector256<float> pi = Vector256.Load(p + i) * decay;
            (pi + stepSize * (mi / denominator)).Store(p + i);
            mi.Store(m + i);
            vi.Store(v + i);
        }
        for (; i < last; i++)
        {
            float gi = g[i];
            float mi = m[i] * c.Beta1 + gi * c.OneMinusBeta1;
            float vi = v[i] * c.Beta2 + gi * gi * c.OneMinusBeta2;
            float denominator = MathF.Sqrt(vi) / c.Correction2Root + c.Epsilon;
            p[i] = p[i] * c.Decay + c.MinusStepSize * (mi / denominator);
            m[i] = mi;
            v[i] = vi;
        }
    }

    private static void UpdateWithTorchOps(Tensor parameter, Tensor grad, AdamW.State state, Coefficients c)
    {
        using Scalar decay = c.Decay, beta1 = c.Beta1, oneMinusBeta1 = c.OneMinusBeta1, beta2 = c.Beta2, oneMinusBeta2 = c.OneMinusBeta2;
        using Scalar root = c.Correction2Root, epsilon = c.Epsilon, stepSize = c.MinusStepSize;
        parameter.mul_(decay);
        state.exp_avg.mul_(beta1).add_(grad, alpha: oneMinusBeta1);
        state.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value: oneMinusBeta2);
        using Tensor rootV = state.exp_avg_sq.sqrt();
        using Tensor denominator = rootV.div_(root).add_(epsilon);
        parameter.addcdiv_(state.exp_avg, denominator, value: stepSize);
    }
}
