using FastText.Engine.Native;
using TorchSharp;
using static FastText.Engine.Models.Bf16Vector;
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
/// On the CPU each step's element-wise work is one managed pass (<see cref="Bf16LstmKernel"/>) beside its one GEMM, and
/// with several intra-op threads the batch's rows are split into blocks that go through all steps each on its own
/// single-threaded worker (<see cref="SingleThreadedTorchWorkers"/>): a step's GEMM is too small for two threads to
/// share, and the rows never meet in the recurrence. On other devices it is torch ops (the same arithmetic, ~10
/// dispatches per step).
/// Inputs: x (B, T, I), h0 and c0 (1, B, H) fp32, w_ih (4H, I), w_hh (4H, H) (already DropConnect-ed), b_ih, b_hh (4H).
/// Outputs: y (B, T, H) bf16, h_T and c_T (1, B, H) fp32.
/// </remarks>
internal sealed class Bf16LstmFunction : autograd.MultiTensorFunction<Bf16LstmFunction>
{
    private const ScalarType Bf16 = ScalarType.BFloat16;
    private const ScalarType Fp32 = ScalarType.Float32;

    /// <inheritdoc />
    public override string Name => nameof(Bf16LstmFunction);

    /// <summary>Runs the layer; <see cref="autograd.Function{T}"/> calls this with gradients off. An optional eighth
    /// argument <c>true</c> forces the torch-op path on the CPU too (tests compare the two).</summary>
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        var x = (Tensor)vars[0];
        bool torchOps = vars.Length > 7 && vars[7] is true;
        bool kernel = !torchOps && x.device_type == DeviceType.CPU;
        ctx.save_data("kernel", kernel);
        // Outputs that get no gradient (the final state, which AWD-LSTM detaches) reach backward undefined instead of as
        // zeros: TorchSharp would build those zeros from empty_like copies of the outputs that it makes here, in the
        // caller's dispose scope — the classifier's sentence encoder disposes that scope before backward runs.
        ctx.set_materialize_grads(false);
        return kernel ? ForwardKernel(ctx, vars) : ForwardTorchOps(ctx, vars);
    }

    /// <summary>Gradients of x, h0, c0, w_ih, w_hh, b_ih, b_hh from those of y, h_T, c_T.</summary>
    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(grad_outputs);
        List<Tensor?> grads = (bool)ctx.get_data("kernel") ? BackwardKernel(ctx, grad_outputs) : BackwardTorchOps(ctx, grad_outputs);
        grads.Add(null);                                  // the optional non-tensor argument has no gradient
        return grads!;
    }

    // CPU path: per step one bf16 GEMM into a reused buffer and one managed pass (Bf16LstmKernel) for everything
    // element-wise. Internally time-major ((T, B, ·) rows), so each step's GEMM operands are contiguous blocks and the
    // backward's weight GEMMs pair rows of x, h_{t−1} and the gate gradients in the same order.
    private static List<Tensor> ForwardKernel(autograd.AutogradContext ctx, object[] vars)
    {
        var (x, h0, c0, wIh, wHh, bIh, bHh) = Inputs(vars);
        long batch = x.shape[0], steps = x.shape[1], inputs = x.shape[2], hidden = wHh.shape[1];
        using var scope = torch.NewDisposeScope();
        Tensor xTime = x.to(Bf16).transpose(0, 1).reshape(steps * batch, inputs).contiguous();   // (T·B, I) bf16
        Tensor wIhB = wIh.to(Bf16);
        Tensor wHhB = wHh.to(Bf16);
        Tensor wHhT = wHhB.t();                                                                  // (H, 4H)
        Tensor projection = xTime.mm(wIhB.t());                                                  // (T·B, 4H) bf16
        Tensor bias = bIh.to(Fp32).add(bHh.to(Fp32), Scalars.One).contiguous();
        Tensor acts = torch.empty(steps, batch, 4 * hidden, dtype: Fp32);                        // i, f, g, o per step
        Tensor cells = torch.empty(steps, batch, hidden, dtype: Fp32);                           // c_t
        Tensor hiddens = torch.empty(steps + 1, batch, hidden, dtype: Bf16);                     // h_{t−1} for t = 0…T
        Tensor output = torch.empty(batch, steps, hidden, dtype: Bf16);
        Tensor cStart = c0.reshape(batch, hidden).to(Fp32).contiguous();
        using (Tensor first = hiddens.select(0, 0))
        {
            first.copy_(h0.reshape(batch, hidden));
        }
        int parts = RowParts(batch);
        SingleThreadedTorchWorkers.Shared.Run(parts, part =>
        {
            var (start, rows) = RowBlock(batch, parts, part);
            ForwardRows(start, rows, batch, steps, hidden, projection, bias, cStart, wHhT, acts, cells, hiddens, output);
        });
        Tensor hLast = hiddens[steps].to(Fp32).unsqueeze(0).MoveToOuterDisposeScope();
        Tensor cLast = cells[steps - 1].clone().unsqueeze(0).MoveToOuterDisposeScope();
        output.MoveToOuterDisposeScope();
        Save(ctx, vars, new[] { xTime, wIhB, wHhB, acts, cells, cStart, hiddens });
        return new List<Tensor> { output, hLast, cLast };
    }

    private static List<Tensor?> BackwardKernel(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        using var scope = torch.NewDisposeScope();
        var (s, sizes, types, needs) = Unpack(ctx);
        long batch = sizes[0], steps = sizes[1], inputs = sizes[2], hidden = sizes[3];
        Tensor xTime = s[0], wIhB = s[1], wHhB = s[2], acts = s[3], cells = s[4], cStart = s[5], hiddens = s[6];
        Tensor dOutput = GradientOrZeros(grad_outputs[0], Bf16, CPU, batch, steps, hidden).to(Bf16).contiguous();                 // (B, T, H)
        Tensor dhLast = GradientOrZeros(grad_outputs[1], Fp32, CPU, batch, hidden).reshape(batch, hidden).to(Fp32).contiguous();
        Tensor dc = GradientOrZeros(grad_outputs[2], Fp32, CPU, batch, hidden).reshape(batch, hidden).to(Fp32, copy: true).contiguous(); // updated in place
        Tensor dGates = torch.empty(steps, batch, 4 * hidden, dtype: Bf16);
        Tensor dh = torch.empty(batch, hidden, dtype: Bf16);
        int parts = RowParts(batch);
        Tensor biasParts = torch.zeros(parts, 4 * hidden, dtype: Fp32);                          // one sum per row block
        SingleThreadedTorchWorkers.Shared.Run(parts, part =>
        {
            var (start, rows) = RowBlock(batch, parts, part);
            using Tensor biasGrad = biasParts.select(0, part);
            BackwardRows(start, rows, batch, steps, hidden, dOutput, dhLast, dc, acts, cells, cStart, wHhB, dGates, dh, biasGrad);
        });
        Tensor bias = biasParts.sum(0L);
        // The weight gradients of all steps as single GEMMs (bf16 inputs, fp32 accumulation).
        Tensor dFlat = dGates.view(steps * batch, 4 * hidden);
        Tensor? dx = null;
        if (needs[0])
        {
            dx = torch.empty(batch, steps, inputs, dtype: types[0]);
            dx.copy_(dFlat.mm(wIhB).view(steps, batch, inputs).transpose(0, 1));
        }
        Tensor? dWih = needs[1] ? dFlat.t().mm(xTime).to(types[3]) : null;
        Tensor? dWhh = needs[2] ? dFlat.t().mm(hiddens.narrow(0, 0, steps).reshape(steps * batch, hidden)).to(types[4]) : null;
        return Gradients(types, needs, dx, dh, dc, dWih, dWhh, bias);
    }

    // Rows of the batch per worker: at least MinimumRowsPerPart each (a GEMM of fewer rows wastes its tiles), at most one
    // block per intra-op thread. One block runs inline with the caller's threads, as before the split.
    private const long MinimumRowsPerPart = 8;

    private static int RowParts(long batch) => (int)Math.Clamp(batch / MinimumRowsPerPart, 1, torch.get_num_threads());

    private static (long Start, long Rows) RowBlock(long batch, int parts, int part)
    {
        long start = batch * part / parts;
        return (start, batch * (part + 1) / parts - start);
    }

    // Rows [start, start + rows) through every forward step: per step one GEMM h_{t−1}·W_hhᵀ of those rows into a block of
    // their own and one kernel pass. Every buffer is time-major (T, B, ·) except the output (B, T, H).
    private static unsafe void ForwardRows(long start, long rows, long batch, long steps, long hidden, Tensor projection, Tensor bias,
        Tensor cStart, Tensor wHhT, Tensor acts, Tensor cells, Tensor hiddens, Tensor output)
    {
        using Tensor recurrent = torch.empty(rows, 4 * hidden, dtype: Bf16);
        long gates = 4 * hidden;
        var step = new Bf16LstmKernel.ForwardStep
        {
            Recurrent = Pointer<ushort>(recurrent),
            Bias = Pointer<float>(bias),
            PreviousCell = Pointer<float>(cStart) + start * hidden,
            OutputRowStride = steps * hidden,
        };
        ushort* projections = Pointer<ushort>(projection), hs = Pointer<ushort>(hiddens), ys = Pointer<ushort>(output) + start * steps * hidden;
        float* activations = Pointer<float>(acts), cs = Pointer<float>(cells);
        int b = checked((int)rows), h = checked((int)hidden);
        using Tensor hiddenRows = hiddens.view((steps + 1) * batch, hidden);                   // one handle per step below
        for (long t = 0; t < steps; t++)
        {
            long row = t * batch + start;
            using (Tensor mine = hiddenRows.narrow(0, row, rows))
            {
                recurrent.addmm_(mine, wHhT, beta: 0, alpha: 1);                                // h_{t−1}·W_hhᵀ
            }
            step.Projection = projections + row * gates;
            step.Activations = activations + row * gates;
            step.Cell = cs + row * hidden;
            step.Hidden = hs + (row + batch) * hidden;
            step.Output = ys + t * hidden;
            Bf16LstmKernel.Forward(step, b, h);
            step.PreviousCell = step.Cell;
        }
    }

    // Rows [start, start + rows) back through every step: per step one kernel pass (gate gradients, dc) and one GEMM
    // dgates·W_hh of those rows (∂L/∂h_{t−1}); the bias gradient of these rows is summed into biasGrad (4H, fp32).
    private static unsafe void BackwardRows(long start, long rows, long batch, long steps, long hidden, Tensor dOutput, Tensor dhLast,
        Tensor dc, Tensor acts, Tensor cells, Tensor cStart, Tensor wHhB, Tensor dGates, Tensor dh, Tensor biasGrad)
    {
        long gates = 4 * hidden;
        var step = new Bf16LstmKernel.BackwardStep
        {
            HiddenGradFp32 = Pointer<float>(dhLast) + start * hidden,
            HiddenGradBf16 = Pointer<ushort>(dh) + start * hidden,
            OutputGradRowStride = steps * hidden,
            CellGrad = Pointer<float>(dc) + start * hidden,
            BiasGrad = Pointer<float>(biasGrad),
        };
        ushort* dOutputs = Pointer<ushort>(dOutput) + start * steps * hidden, dGate = Pointer<ushort>(dGates);
        float* activations = Pointer<float>(acts), cs = Pointer<float>(cells), c0 = Pointer<float>(cStart) + start * hidden;
        int b = checked((int)rows), h = checked((int)hidden);
        using Tensor dhRows = dh.narrow(0, start, rows);
        using Tensor gateRows = dGates.view(steps * batch, gates);                              // one handle per step below
        for (long t = steps - 1; t >= 0; t--)
        {
            long row = t * batch + start;
            step.OutputGrad = dOutputs + t * hidden;
            step.Activations = activations + row * gates;
            step.Cell = cs + row * hidden;
            step.PreviousCell = t > 0 ? cs + (row - batch) * hidden : c0;
            step.GateGrad = dGate + row * gates;
            Bf16LstmKernel.Backward(step, b, h);
            step.HiddenGradFp32 = null;                                                          // from now on the GEMM's
            using Tensor mine = gateRows.narrow(0, row, rows);
            dhRows.addmm_(mine, wHhB, beta: 0, alpha: 1);                                         // (rows, H) bf16
        }
    }

    // Device-independent path (CUDA and other devices): torch ops per step.
    private static List<Tensor> ForwardTorchOps(autograd.AutogradContext ctx, object[] vars)
    {
        var (x, h0, c0, wIh, wHh, bIh, bHh) = Inputs(vars);
        long batch = x.shape[0], steps = x.shape[1], inputs = x.shape[2], hidden = wHh.shape[1];
        using var scope = torch.NewDisposeScope();
        Tensor xFlat = x.to(Bf16).reshape(batch * steps, inputs);                          // (B·T, I) bf16
        Tensor wIhB = wIh.to(Bf16);
        Tensor wHhB = wHh.to(Bf16);
        Tensor wHhT = wHhB.t();                                                            // (H, 4H)
        // Pre-activations of every step from one GEMM; each step adds h·W_hhᵀ and turns its slice into activations in place.
        using Tensor bias = bIh.to(Fp32).add(bHh.to(Fp32), Scalars.One);
        Tensor gates = xFlat.mm(wIhB.t()).to(Fp32).add_(bias, Scalars.One).view(batch, steps, 4 * hidden);   // (B, T, 4H) fp32
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
                a.add_(recurrent, Scalars.One);
            }
            a.narrow(1, 0, 2 * hidden).sigmoid_();                                         // i, f
            a.narrow(1, 2 * hidden, hidden).tanh_();                                       // g
            a.narrow(1, 3 * hidden, hidden).sigmoid_();                                    // o
            Tensor next = a.narrow(1, hidden, hidden).mul(c).addcmul_(a.narrow(1, 0, hidden), a.narrow(1, 2 * hidden, hidden), Scalars.One);
            Tensor cellT = cells.select(1, t).copy_(next);
            Tensor hT = output.select(1, t).copy_(next.tanh_().mul_(a.narrow(1, 3 * hidden, hidden)));
            c = cellT.MoveToOuterDisposeScope();
            h = hT.MoveToOuterDisposeScope();
        }
        Tensor hLast = output.select(1, steps - 1).to(Fp32).unsqueeze(0).MoveToOuterDisposeScope();
        Tensor cLast = cells.select(1, steps - 1).unsqueeze(0).clone().MoveToOuterDisposeScope();
        output.MoveToOuterDisposeScope();
        Save(ctx, vars, new[] { xFlat, wIhB, wHhB, gates, cells }, c0, h0, output);
        return new List<Tensor> { output, hLast, cLast };
    }

    private static List<Tensor?> BackwardTorchOps(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        using var scope = torch.NewDisposeScope();          // temporaries and the unpacked saved tensors die with it
        var (s, sizes, types, needs) = Unpack(ctx);
        long batch = sizes[0], steps = sizes[1], inputs = sizes[2], hidden = sizes[3];
        Tensor xFlat = s[0], wIhB = s[1], wHhB = s[2], acts = s[3], cells = s[4], c0 = s[5], h0 = s[6], output = s[7];
        Tensor dOutput = GradientOrZeros(grad_outputs[0], Bf16, xFlat.device, batch, steps, hidden);
        Tensor dh = GradientOrZeros(grad_outputs[1], Fp32, xFlat.device, batch, hidden).reshape(batch, hidden).to(Fp32);
        Tensor dc = GradientOrZeros(grad_outputs[2], Fp32, xFlat.device, batch, hidden).reshape(batch, hidden).to(Fp32, copy: true);

        // Per-step factors for all steps at once (few large element-wise ops instead of many small ones):
        //   k = o·(1 − tanh²c)                  (dc += dh·k)
        //   P = [g·i(1−i), c₋₁·f(1−f), i·(1−g²), tanh c·o(1−o)]   (dgates = [dc, dc, dc, dh]·P)
        Tensor i = acts.narrow(2, 0, hidden), f = acts.narrow(2, hidden, hidden);
        Tensor g = acts.narrow(2, 2 * hidden, hidden), o = acts.narrow(2, 3 * hidden, hidden);
        Tensor tanhC = cells.tanh();
        Tensor k = o * OneMinus(tanhC * tanhC);
        Tensor cPrevious = torch.cat(new[] { c0.reshape(batch, 1, hidden).to(Fp32), cells.narrow(1, 0, steps - 1) }, 1);
        Tensor factors = torch.cat(new[] { g * i * OneMinus(i), cPrevious * f * OneMinus(f), i * OneMinus(g * g), tanhC * o * OneMinus(o) }, 2);
        Tensor dGates = torch.empty(batch, steps, 4 * hidden, dtype: Fp32);
        for (long t = steps - 1; t >= 0; t--)
        {
            using var step = torch.NewDisposeScope();
            Tensor dhT = dh.add(dOutput.select(1, t), Scalars.One);                                      // (B, H) fp32
            dc.addcmul_(dhT, k.select(1, t), Scalars.One);
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
        return Gradients(types, needs, dx, dh, dc, dWih, dWhh, bias);
    }

    // An output's gradient, or zeros of its shape when autograd passed none (grads are not materialized, see forward).
    private static Tensor GradientOrZeros(Tensor gradient, ScalarType type, Device device, params long[] shape) =>
        gradient.IsInvalid ? torch.zeros(shape, dtype: type, device: device) : gradient;

    private static (Tensor X, Tensor H0, Tensor C0, Tensor WIh, Tensor WHh, Tensor BIh, Tensor BHh) Inputs(object[] vars) =>
        ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4], (Tensor)vars[5], (Tensor)vars[6]);

    // Saves what backward needs. The saved tensors must stay valid until the function has registered them (after forward
    // returns): the owned ones (created by forward) leave forward's scope, and backward disposes their wrappers once it
    // has unpacked its own references.
    private static void Save(autograd.AutogradContext ctx, object[] vars, Tensor[] owned, params Tensor[] inputsAndOutputs)
    {
        var x = (Tensor)vars[0];
        long[] sizes = { x.shape[0], x.shape[1], x.shape[2], ((Tensor)vars[4]).shape[1] };
        foreach (Tensor t in owned)
        {
            t.MoveToOuterDisposeScope();
        }
        ctx.save_for_backward(owned.Concat(inputsAndOutputs).ToList());
        ctx.save_data("owned", owned);
        ctx.save_data("sizes", sizes);
        ctx.save_data("types", vars.Take(7).Select(v => ((Tensor)v).dtype).ToArray());
        ctx.save_data("needs", new[] { 0, 3, 4, 5, 6 }.Select(i => ((Tensor)vars[i]).requires_grad).ToArray());
    }

    private static (List<Tensor> Saved, long[] Sizes, ScalarType[] Types, bool[] Needs) Unpack(autograd.AutogradContext ctx)
    {
        List<Tensor> saved = ctx.get_saved_variables();
        foreach (Tensor owned in (Tensor[])ctx.get_data("owned"))
        {
            owned.Dispose();        // forward's wrappers; the unpacked references keep the data until the caller's scope ends
        }
        return (saved, (long[])ctx.get_data("sizes"), (ScalarType[])ctx.get_data("types"), (bool[])ctx.get_data("needs"));
    }

    // The gradients in each input's dtype (x, h0, c0, w_ih, w_hh, b_ih, b_hh), moved out of the caller's scope.
    private static List<Tensor?> Gradients(ScalarType[] types, bool[] needs, Tensor? dx, Tensor dh, Tensor dc, Tensor? dWih, Tensor? dWhh, Tensor? bias)
    {
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
        return grads;
    }

    // 1 − t as TorchSharp's own operator computes it (−t + 1), with no Scalar left to the garbage collector.
    private static Tensor OneMinus(Tensor t) => t.neg().add_(Scalars.One, Scalars.One);
}
