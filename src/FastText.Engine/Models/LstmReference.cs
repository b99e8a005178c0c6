using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>
/// A textbook float64 LSTM layer, forward and hand-written backward, as the reference the kernels are checked against
/// (<see cref="LstmKernelCheck"/>). It shares no code with the kernels under test: oneDNN has no float64 kernels, and
/// the backward is written out here rather than taken from autograd. Its weight gradients are one GEMM over all steps
/// each, which keeps a check at fastai's sizes cheap (autograd's float64 backward took ~0.4 s at 1152→1152).
/// Shapes as <see cref="LstmKernels.Run"/>; gate rows input, forget, cell, output.
/// </summary>
internal static class LstmReference
{
    /// <summary>The outputs and, when <paramref name="outputGradient"/> is given, the gradients of
    /// Σ y·gy + Σ h_T·gh + Σ c_T·gc with respect to x, h0, c0, w_ih, w_hh, b_ih, b_hh (in that order).</summary>
    public static (Tensor Y, Tensor H, Tensor C, Tensor[]? Gradients) Run(Tensor[] inputs, Tensor? outputGradient = null,
        Tensor? hiddenGradient = null, Tensor? cellGradient = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        using var noGrad = torch.no_grad();
        Tensor x = inputs[0], h0 = inputs[1], c0 = inputs[2], wIh = inputs[3], wHh = inputs[4], bIh = inputs[5], bHh = inputs[6];
        long batch = x.shape[0], steps = x.shape[1], features = x.shape[2], hidden = wHh.shape[1];

        // Forward: the input projections of all steps at once, then the recurrence; keep what the backward needs.
        Tensor projected = x.reshape(batch * steps, features).mm(wIh.t()).add_(bIh, Scalars.One).add_(bHh, Scalars.One).view(batch, steps, 4 * hidden);
        var gates = new Tensor[steps];       // activated i, f, g, o per step, (B, 4H)
        var cells = new Tensor[steps + 1];   // c_{t−1} at index t
        var hiddens = new Tensor[steps + 1]; // h_{t−1} at index t
        cells[0] = c0.reshape(batch, hidden);
        hiddens[0] = h0.reshape(batch, hidden);
        for (long t = 0; t < steps; t++)
        {
            Tensor a = projected.select(1, t).add(hiddens[t].mm(wHh.t()), Scalars.One);
            Tensor i = a.narrow(1, 0, hidden).sigmoid(), f = a.narrow(1, hidden, hidden).sigmoid();
            Tensor g = a.narrow(1, 2 * hidden, hidden).tanh(), o = a.narrow(1, 3 * hidden, hidden).sigmoid();
            gates[t] = torch.cat(new[] { i, f, g, o }, 1);
            cells[t + 1] = f.mul(cells[t]).add_(i.mul(g), Scalars.One);
            hiddens[t + 1] = o.mul(cells[t + 1].tanh());
        }
        Tensor y = torch.stack(hiddens.Skip(1), 1);
        Tensor hLast = hiddens[steps].unsqueeze(0), cLast = cells[steps].unsqueeze(0);
        if (outputGradient is null)
        {
            return (y, hLast, cLast, null);
        }

        // Backward through time.
        Tensor dh = hiddenGradient?.reshape(batch, hidden) ?? torch.zeros(batch, hidden, dtype: y.dtype);
        Tensor dc = cellGradient?.reshape(batch, hidden) ?? torch.zeros(batch, hidden, dtype: y.dtype);
        var gateGradients = new Tensor[steps];
        for (long t = steps - 1; t >= 0; t--)
        {
            Tensor dhT = dh.add(outputGradient.select(1, t), Scalars.One);
            Tensor act = gates[t];
            Tensor i = act.narrow(1, 0, hidden), f = act.narrow(1, hidden, hidden);
            Tensor g = act.narrow(1, 2 * hidden, hidden), o = act.narrow(1, 3 * hidden, hidden);
            Tensor tanhC = cells[t + 1].tanh();
            Tensor dcT = dc.add(dhT.mul(o).mul(OneMinus(tanhC.square())), Scalars.One);
            Tensor di = dcT.mul(g).mul(i).mul(OneMinus(i));
            Tensor df = dcT.mul(cells[t]).mul(f).mul(OneMinus(f));
            Tensor dg = dcT.mul(i).mul(OneMinus(g.square()));
            Tensor dO = dhT.mul(tanhC).mul(o).mul(OneMinus(o));
            gateGradients[t] = torch.cat(new[] { di, df, dg, dO }, 1);            // (B, 4H)
            dh = gateGradients[t].mm(wHh);
            dc = dcT.mul(f);
        }
        Tensor dGates = torch.stack(gateGradients, 1).reshape(batch * steps, 4 * hidden);   // rows in (b, t) order
        Tensor previous = torch.stack(hiddens.Take((int)steps), 1).reshape(batch * steps, hidden);
        Tensor dx = dGates.mm(wIh).view(batch, steps, features);
        Tensor dWih = dGates.t().mm(x.reshape(batch * steps, features));
        Tensor dWhh = dGates.t().mm(previous);
        Tensor dBias = dGates.sum(0L);                                 // (a bare 0 would convert to ScalarType.Byte)
        return (y, hLast, cLast, new[] { dx, dh.unsqueeze(0), dc.unsqueeze(0), dWih, dWhh, dBias, dBias.clone() });
    }

    // 1 − t, with explicit Scalars (an implicit one is the GC's to free mid-call: Native/Scalars.cs).
    private static Tensor OneMinus(Tensor t) => t.neg().add_(Scalars.One, Scalars.One);
}
