using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static FastText.Engine.Models.Bf16Vector;

namespace FastText.Engine.Models;

/// <summary>
/// The element-wise work of one LSTM time step of <see cref="Bf16LstmFunction"/> on the CPU, as one managed pass over raw
/// memory: activations, cell state and output of the forward step, and the gate gradients of the backward step.
/// </summary>
/// <remarks>
/// Why: at small layers (hidden 256, batch 32) a step's ten-odd torch element-wise ops each cost a TorchSharp → libtorch
/// dispatch of several µs on tensors of a few thousand elements, more than the arithmetic; one fused pass leaves one GEMM
/// and one loop per step (small hidden 256 layer, batch 32, bptt 72, forward + backward on 1 thread: 37–45 ms against
/// libtorch's fused fp32 LSTM's 79–82 ms, measured side by side on a loaded machine). Vectors of 8 floats
/// (<see cref="Bf16Vector"/>: 256-bit code, which Zen 4 runs as fast as 512-bit); a row's last partial vector goes
/// through the same lane code, so every element sees identical arithmetic. The activations use <see cref="Bf16Vector.Exp"/>
/// (.NET's own vector exp was ~8× slower).
/// All pointers address contiguous CPU memory owned by the caller's tensors.
/// </remarks>
internal static unsafe class Bf16LstmKernel
{
    private const int Lanes = Bf16Vector.Lanes;

    /// <summary>Pointers of one forward step (every row of the batch). Gate blocks are i, f, g, o, each hidden wide.</summary>
    internal struct ForwardStep
    {
        /// <summary>(B, 4H) bf16: x_t·W_ihᵀ.</summary>
        public ushort* Projection;
        /// <summary>(B, 4H) bf16: h_{t−1}·W_hhᵀ.</summary>
        public ushort* Recurrent;
        /// <summary>(4H) fp32: b_ih + b_hh.</summary>
        public float* Bias;
        /// <summary>(B, H) fp32: c_{t−1}.</summary>
        public float* PreviousCell;
        /// <summary>(B, 4H) fp32, written: the activations i, f, g, o (kept for the backward).</summary>
        public float* Activations;
        /// <summary>(B, H) fp32, written: c_t.</summary>
        public float* Cell;
        /// <summary>(B, H) bf16, written: h_t, contiguous (the next step's GEMM input).</summary>
        public ushort* Hidden;
        /// <summary>Row b of the layer output at this step is <c>Output + b·OutputRowStride</c>, written: h_t in bf16.</summary>
        public ushort* Output;
        /// <summary>Elements between two rows of <see cref="Output"/>.</summary>
        public long OutputRowStride;
    }

    /// <summary>Pointers of one backward step (every row of the batch).</summary>
    internal struct BackwardStep
    {
        /// <summary>(B, H) fp32: ∂L/∂h_t from the later steps (the last step's incoming gradient), or null.</summary>
        public float* HiddenGradFp32;
        /// <summary>(B, H) bf16: ∂L/∂h_t from the later steps as the recurrent GEMM left it; used when the fp32 one is null.</summary>
        public ushort* HiddenGradBf16;
        /// <summary>Row b of ∂L/∂y_t is <c>OutputGrad + b·OutputGradRowStride</c>, bf16.</summary>
        public ushort* OutputGrad;
        /// <summary>Elements between two rows of <see cref="OutputGrad"/>.</summary>
        public long OutputGradRowStride;
        /// <summary>(B, 4H) fp32: the forward's activations i, f, g, o of this step.</summary>
        public float* Activations;
        /// <summary>(B, H) fp32: c_t.</summary>
        public float* Cell;
        /// <summary>(B, H) fp32: c_{t−1}.</summary>
        public float* PreviousCell;
        /// <summary>(B, H) fp32, updated in place: ∂L/∂c_t on entry, ∂L/∂c_{t−1} on return.</summary>
        public float* CellGrad;
        /// <summary>(B, 4H) bf16, written: the pre-activation gradients (the next GEMM's input and the weight GEMMs').</summary>
        public ushort* GateGrad;
        /// <summary>(4H) fp32, accumulated: the bias gradient (sum of the fp32 gate gradients over rows and steps).</summary>
        public float* BiasGrad;
    }

    /// <summary>Runs one forward step over <paramref name="batch"/> rows of <paramref name="hidden"/> units.</summary>
    public static void Forward(in ForwardStep s, int batch, int hidden)
    {
        int gates = 4 * hidden;
        for (int b = 0; b < batch; b++)
        {
            ushort* projection = s.Projection + (long)b * gates;
            ushort* recurrent = s.Recurrent + (long)b * gates;
            float* activations = s.Activations + (long)b * gates;
            float* previous = s.PreviousCell + (long)b * hidden;
            float* cell = s.Cell + (long)b * hidden;
            ushort* h = s.Hidden + (long)b * hidden;
            ushort* output = s.Output + b * s.OutputRowStride;
            for (int j = 0; j < hidden; j += Lanes)
            {
                int n = Math.Min(Lanes, hidden - j);
                // Pre-activations in the torch-op path's order: (x·W_ihᵀ + bias) + h·W_hhᵀ.
                Vector256<float> i = Sigmoid(Gate(projection, recurrent, s.Bias, j, n));
                Vector256<float> f = Sigmoid(Gate(projection, recurrent, s.Bias, hidden + j, n));
                Vector256<float> g = Tanh(Gate(projection, recurrent, s.Bias, 2 * hidden + j, n));
                Vector256<float> o = Sigmoid(Gate(projection, recurrent, s.Bias, 3 * hidden + j, n));
                Vector256<float> c = f * Load(previous + j, n) + i * g;
                Vector128<ushort> y = ToBf16(o * Tanh(c));
                Store(activations + j, i, n);
                Store(activations + hidden + j, f, n);
                Store(activations + 2 * hidden + j, g, n);
                Store(activations + 3 * hidden + j, o, n);
                Store(cell + j, c, n);
                Store(h + j, y, n);
                Store(output + j, y, n);
            }
        }
    }

    /// <summary>Runs one backward step over <paramref name="batch"/> rows of <paramref name="hidden"/> units.</summary>
    public static void Backward(in BackwardStep s, int batch, int hidden)
    {
        int gates = 4 * hidden;
        Vector256<float> one = Vector256<float>.One;
        for (int b = 0; b < batch; b++)
        {
            long row = (long)b * hidden;
            float* activations = s.Activations + (long)b * gates;
            ushort* gateGrad = s.GateGrad + (long)b * gates;
            ushort* outputGrad = s.OutputGrad + b * s.OutputGradRowStride;
            for (int j = 0; j < hidden; j += Lanes)
            {
                int n = Math.Min(Lanes, hidden - j);
                Vector256<float> dh = (s.HiddenGradFp32 != null ? Load(s.HiddenGradFp32 + row + j, n) : LoadBf16(s.HiddenGradBf16 + row + j, n))
                    + LoadBf16(outputGrad + j, n);
                Vector256<float> i = Load(activations + j, n);
                Vector256<float> f = Load(activations + hidden + j, n);
                Vector256<float> g = Load(activations + 2 * hidden + j, n);
                Vector256<float> o = Load(activations + 3 * hidden + j, n);
                Vector256<float> tanhC = Tanh(Load(s.Cell + row + j, n));
                // dc_t = dc + dh·o·(1 − tanh²c); then the pre-activation gradients and dc_{t−1} = dc_t·f.
                Vector256<float> dc = Load(s.CellGrad + row + j, n) + dh * (o * (one - tanhC * tanhC));
                Vector256<float> di = dc * (g * i * (one - i));
                Vector256<float> df = dc * (Load(s.PreviousCell + row + j, n) * f * (one - f));
                Vector256<float> dg = dc * (i * (one - g * g));
                Vector256<float> dO = dh * (tanhC * o * (one - o));
                Store(s.CellGrad + row + j, dc * f, n);
                GateGradient(gateGrad, s.BiasGrad, j, di, n);
                GateGradient(gateGrad, s.BiasGrad, hidden + j, df, n);
                GateGradient(gateGrad, s.BiasGrad, 2 * hidden + j, dg, n);
                GateGradient(gateGrad, s.BiasGrad, 3 * hidden + j, dO, n);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gate(ushort* projection, ushort* recurrent, float* bias, int at, int n) =>
        LoadBf16(projection + at, n) + Load(bias + at, n) + LoadBf16(recurrent + at, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GateGradient(ushort* gateGrad, float* biasGrad, int at, Vector256<float> d, int n)
    {
        Store(gateGrad + at, ToBf16(d), n);
        Store(biasGrad + at, Load(biasGrad + at, n) + d, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sigmoid(Vector256<float> x) =>
        Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    // tanh x = 1 − 2/(e^{2x} + 1): saturates to ±1 cleanly (e^{2x} → ∞ or 0); absolute error ~1e-7 near 0, far below bf16's.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tanh(Vector256<float> x) =>
        Vector256<float>.One - Vector256.Create(2f) / (Exp(x + x) + Vector256<float>.One);
}
