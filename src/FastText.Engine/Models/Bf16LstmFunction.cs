using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>
/// One LSTM layer (batch-first, gate rows input, forget, cell, output) with bf16 matrix multiplies and fp32 gates, cell
/// state and gate gradients, as a custom autograd function (<see cref="ComputePrecision.BFloat16"/>).
/// </summary>
/// <remarks>
/// Why not libtorch's own bf16 LSTM: at fastai's hidden size 1152 its backward was measured slower than fp32 (its forward
/// ~2× faster), and carrying the cell state in bf16 cost +4.1% perplexity on Brown. Here every large product is one bf16
/// GEMM with fp32 accumulation: the input projection of all time steps at once, then per step only h·W_hhᵀ; the backward
/// keeps the gate gradients of all steps and computes dW_hh, dW_ih and dx as three big GEMMs instead of one small one per
/// step. Everything element-wise (activations, c, gate derivatives) runs in fp32, so the only roundings are the GEMM
/// inputs/outputs to bf16 — the cell state never is rounded. Gradients return in each input's dtype (fp32 masters).
/// Inputs: x (B, T, I), h0 and c0 (1, B, H) fp32, w_ih (4H, I), w_hh (4H, H) (already DropConnect-ed), b_ih, b_hh (4H).
/// Outputs: y (B, T, H) bf16, h_T and c_T (1, B, H) fp32.
/// </remarks>
internal sealed class Bf16LstmFunction : autograd.MultiTensorFunction<Bf16LstmFunction>
{
    private const ScalarType Bf16 = ScalarType.BFloat16;
    private const ScalarType Fp32 = ScalarType.Float32;

    /// <inheritdoc />
    public override string Name => nameof(Bf16LstmFunction);

    /// <summary>Runs the layer; <see cref="autograd.Function{T}"/> calls this with gradients off.</summary>
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var h0 = (Tensor)vars[1];
        var c0 = (Tensor)vars[2];
        var wIh = (Tensor)vars[3];
        var wHh = (Tensor)vars[4];
        var bIh = (Tensor)vars[5];
        var bHh = (Tensor)vars[6];
        long batch = x.shape[0], steps = x.shape[1], inputs = x.shape[2], hidden = wHh.shape[1];
        using var scope = torch.NewDisposeScope();
        Tensor xFlat = x.to(Bf16).reshape(batch * steps, inputs);                          // (B·T, I) bf16
        Tensor wIhB = wIh.to(Bf16);
        Tensor wHhB = wHh.to(Bf16);
        Tensor wHhT = wHhB.t();                                                            // (H, 4H)
        // Pre-activations of every step from one GEMM; each step adds h·W_hhᵀ and turns its slice into activations in place.
        using Tensor bias = bIh.to(Fp32).add(bHh.to(Fp32));
        Tensor gates = xFlat.mm(wIhB.t()).to(Fp32).add_(bias).view(batch, steps, 4 * hidden);   // (B, T, 4H) fp32
        Tensor cells = torch.empty(batch, steps, hidden, dtype: Fp32);                     // c_t of every step
        Tensor output = torch.empty(batch, steps, hidden, dtype: Bf16);                    // h_t of every step
        Tensor c = c0.reshape(batch, hidden).to(Fp32);
        Tensor h = h0.reshape(batch, hidden).to(Bf16);
        for (long t = 0; t < steps; t++)
        {
            using var step = torch.NewDisposeScope();
            Tensor a = gates.select(1, t);                                                 // (B, 4H) view
            using (Tensor recurrent = h.mm(wHhT))
            {
                a.add_(recurrent);
            }
            a.narrow(1, 0, 2 * hidden).sigmoid_();                                         // i, f
            a.narrow(1, 2 * hidden, hidden).tanh_();                                       // g
            a.narrow(1, 3 * hidden, hidden).sigmoid_();                                    // o
            Tensor next = a.narrow(1, hidden, hidden).mul(c).addcmul_(a.narrow(1, 0, hidden), a.narrow(1, 2 * hidden, hidden), 1);
            Tensor cellT = cells.select(1, t).copy_(next);
            Tensor hT = output.select(1, t).copy_(next.tanh_().mul_(a.narrow(1, 3 * hidden, hidden)));
            c = cellT.MoveToOuterDisposeScope();
            h = hT.MoveToOuterDisposeScope();
        }
        Tensor hLast = output.select(1, steps - 1).to(Fp32).unsqueeze(0).MoveToOuterDisposeScope();
        Tensor cLast = cells.select(1, steps - 1).unsqueeze(0).clone().MoveToOuterDisposeScope();
        output.MoveToOuterDisposeScope();
        // The saved tensors must stay valid until the function has registered them (after this returns); backward
        // disposes these wrappers once it has unpacked its own references.
        Tensor[] saved = { xFlat, wIhB, wHhB, gates, cells, c0, h0, output };
        foreach (Tensor t in new[] { xFlat, wIhB, wHhB, gates, cells })
        {
            t.MoveToOuterDisposeScope();
        }
        ctx.save_for_backward(saved.ToList());
        ctx.save_data("owned", new[] { xFlat, wIhB, wHhB, gates, cells });
        ctx.save_data("sizes", new[] { batch, steps, inputs, hidden });
        ctx.save_data("types", new[] { x.dtype, h0.dtype, c0.dtype, wIh.dtype, wHh.dtype, bIh.dtype, bHh.dtype });
        ctx.save_data("needs", new[] { x.requires_grad, wIh.requires_grad, wHh.requires_grad, bIh.requires_grad, bHh.requires_grad });
        return new List<Tensor> { output, hLast, cLast };
    }

    /// <summary>Gradients of x, h0, c0, w_ih, w_hh, b_ih, b_hh from those of y, h_T, c_T.</summary>
    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(grad_outputs);
        using var scope = torch.NewDisposeScope();          // temporaries and the unpacked saved tensors die with it
        List<Tensor> s = ctx.get_saved_variables();
        long[] sizes = (long[])ctx.get_data("sizes");
        ScalarType[] types = (ScalarType[])ctx.get_data("types");
        bool[] needs = (bool[])ctx.get_data("needs");
        foreach (Tensor owned in (Tensor[])ctx.get_data("owned"))
        {
            owned.Dispose();        // forward's wrappers; the unpacked references above keep the data until the scope ends
        }
        long batch = sizes[0], steps = sizes[1], inputs = sizes[2], hidden = sizes[3];
        Tensor xFlat = s[0], wIhB = s[1], wHhB = s[2], acts = s[3], cells = s[4], c0 = s[5], h0 = s[6], output = s[7];
        Tensor dOutput = grad_outputs[0];
        Tensor dh = grad_outputs[1].reshape(batch, hidden).to(Fp32);
        Tensor dc = grad_outputs[2].reshape(batch, hidden).to(Fp32, copy: true);

        // Per-step factors for all steps at once (few large element-wise ops instead of many small ones):
        //   k = o·(1 − tanh²c)                  (dc += dh·k)
        //   P = [g·i(1−i), c₋₁·f(1−f), i·(1−g²), tanh c·o(1−o)]   (dgates = [dc, dc, dc, dh]·P)
        Tensor i = acts.narrow(2, 0, hidden), f = acts.narrow(2, hidden, hidden);
        Tensor g = acts.narrow(2, 2 * hidden, hidden), o = acts.narrow(2, 3 * hidden, hidden);
        Tensor tanhC = cells.tanh();
        Tensor k = o * (1 - tanhC * tanhC);
        Tensor cPrevious = torch.cat(new[] { c0.reshape(batch, 1, hidden).to(Fp32), cells.narrow(1, 0, steps - 1) }, 1);
        Tensor factors = torch.cat(new[] { g * i * (1 - i), cPrevious * f * (1 - f), i * (1 - g * g), tanhC * o * (1 - o) }, 2);
        Tensor dGates = torch.empty(batch, steps, 4 * hidden, dtype: Fp32);
        for (long t = steps - 1; t >= 0; t--)
        {
            using var step = torch.NewDisposeScope();
            Tensor dhT = dh.add(dOutput.select(1, t));                                      // (B, H) fp32
            dc.addcmul_(dhT, k.select(1, t), 1);
            Tensor d = dGates.select(1, t);
            Tensor p = factors.select(1, t);
            d.narrow(1, 0, 3 * hidden).view(batch, 3, hidden).copy_(p.narrow(1, 0, 3 * hidden).view(batch, 3, hidden)).mul_(dc.unsqueeze(1));
            d.narrow(1, 3 * hidden, hidden).copy_(p.narrow(1, 3 * hidden, hidden)).mul_(dhT);
            dc.mul_(f.select(1, t));
            using Tensor dBf16 = d.to(Bf16);
            dh = dBf16.mm(wHhB).MoveToOuterDisposeScope();                                 // (B, H) bf16
        }
        // The weight gradients of all steps as single GEMMs (bf16 inputs, fp32 accumulation).
        Tensor dFlat = dGates.view(batch * steps, 4 * hidden);
        Tensor dFlatB = dFlat.to(Bf16);
        Tensor? dx = needs[0] ? dFlatB.mm(wIhB).view(batch, steps, inputs).to(types[0]) : null;
        Tensor? dWih = needs[1] ? dFlatB.t().mm(xFlat).to(types[3]) : null;
        Tensor? dWhh = null;
        if (needs[2])
        {
            Tensor hPrevious = torch.cat(new[] { h0.reshape(batch, 1, hidden).to(Bf16), output.narrow(1, 0, steps - 1) }, 1).reshape(batch * steps, hidden);
            dWhh = dFlatB.t().mm(hPrevious).to(types[4]);
        }
        Tensor? bias = needs[3] || needs[4] ? dFlat.sum(0L) : null;
        var grads = new List<Tensor?>
        {
            dx,
            dh.to(types[1]).unsqueeze(0),
            dc.to(types[2]).unsqueeze(0),
            dWih,
            dWhh,
            needs[3] ? bias!.to(types[5], copy: true) : null,
            needs[4] ? bias!.to(types[6], copy: true) : null,
        };
        foreach (Tensor? grad in grads)
        {
            grad?.MoveToOuterDisposeScope();
        }
        return grads!;
    }
}
