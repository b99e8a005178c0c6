using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>The ways the engine can compute one single-layer, batch-first LSTM call (gate rows input, forget, cell,
/// output). <see cref="LstmKernelCheck"/> picks one per shape after checking it against float64 on this CPU.</summary>
internal enum LstmKernel
{
    /// <summary>libtorch's fused <c>torch.lstm</c> as ATen dispatches it. On x86-64 that is oneDNN: its brgemm
    /// <c>forward_inference</c> kernel under no-grad, its <c>forward_training</c> kernel (and backward) with grad on.</summary>
    Fused,

    /// <summary>For no-grad calls: the fused <c>torch.lstm</c> with grad mode switched on and every input detached, so
    /// oneDNN runs the training kernel (the one every training step already uses) and autograd records nothing.</summary>
    FusedTrainingKernel,

    /// <summary>Plain GEMMs and element-wise ops (a TorchScript loop): one GEMM for the input projections of every time
    /// step, one per step for the recurrence. Differentiable, so it also serves training.</summary>
    Steps,

    /// <summary>The bf16-GEMM layer of <see cref="ComputePrecision.BFloat16"/> (<see cref="Bf16LstmFunction"/>): bf16
    /// GEMMs with fp32 gates and state. Checked like the others; it has no fallback of the same arithmetic.</summary>
    Bf16Gemm,
}

/// <summary>Runs an LSTM call with a chosen <see cref="LstmKernel"/>. Inputs: x (B, T, I), h0 and c0 (1, B, H),
/// w_ih (4H, I), w_hh (4H, H), b_ih and b_hh (4H); outputs y (B, T, H) and the final (h, c), each (1, B, H).</summary>
internal static class LstmKernels
{
    private const string Script = """
        def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor, train: bool) -> Tuple[Tensor, Tensor, Tensor]:
            return torch.lstm(x, [h0, c0], [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, train, False, True)

        def lstm_steps(x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
            batch = x.size(0)
            steps = x.size(1)
            hidden = w_hh.size(1)
            projected = torch.addmm(b_ih + b_hh, x.reshape(batch * steps, x.size(2)), w_ih.t()).view(batch, steps, 4 * hidden)
            h = h0[0]
            c = c0[0]
            w = w_hh.t()
            outputs: List[Tensor] = []
            for t in range(steps):
                gates = torch.addmm(projected[:, t], h, w)
                i, f, g, o = gates.chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
            return torch.stack(outputs, 1), h.unsqueeze(0), c.unsqueeze(0)

        """;

    // Compiled once for the process: recompiling per step leaks a small native object (torchsharp-notes §4.3).
    private static readonly Lazy<jit.CompilationUnit> Compiled = new(() => jit.compile(Script));

    /// <summary>Computes the call with <paramref name="kernel"/>.</summary>
    /// <param name="kernel">The kernel; <see cref="LstmKernel.Bf16Gemm"/> takes fp32 masters and returns y in bf16 and
    /// (h, c) in fp32, the others compute in the inputs' dtype.</param>
    /// <param name="x">(B, T, I).</param>
    /// <param name="h0">(1, B, H).</param>
    /// <param name="c0">(1, B, H).</param>
    /// <param name="wIh">(4H, I).</param>
    /// <param name="wHh">(4H, H), already DropConnect-ed.</param>
    /// <param name="bIh">(4H).</param>
    /// <param name="bHh">(4H).</param>
    /// <param name="train">ATen's <c>train</c> flag for <see cref="LstmKernel.Fused"/> (a single layer has no
    /// inter-layer dropout, so it only matters to oneDNN together with grad mode).</param>
    public static (Tensor Output, Tensor Hidden, Tensor Cell) Run(LstmKernel kernel, Tensor x, Tensor h0, Tensor c0,
        Tensor wIh, Tensor wHh, Tensor bIh, Tensor bHh, bool train)
    {
        switch (kernel)
        {
            case LstmKernel.Fused:
                return Compiled.Value.invoke<(Tensor, Tensor, Tensor)>("lstm_layer", x, h0, c0, wIh, wHh, bIh, bHh, train);
            case LstmKernel.FusedTrainingKernel:
                using (torch.enable_grad())
                {
                    // Detached inputs: nothing requires grad, so no graph is kept, but oneDNN sees grad mode and
                    // chooses forward_training.
                    return Compiled.Value.invoke<(Tensor, Tensor, Tensor)>("lstm_layer", x.detach(), h0.detach(),
                        c0.detach(), wIh.detach(), wHh.detach(), bIh.detach(), bHh.detach(), true);
                }
            case LstmKernel.Steps:
                return Compiled.Value.invoke<(Tensor, Tensor, Tensor)>("lstm_steps", x, h0, c0, wIh, wHh, bIh, bHh);
            case LstmKernel.Bf16Gemm:
                List<Tensor> outputs = Bf16LstmFunction.apply(x, h0, c0, wIh, wHh, bIh, bHh);
                return (outputs[0], outputs[1], outputs[2]);
            default:
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "Unknown LSTM kernel.");
        }
    }
}
