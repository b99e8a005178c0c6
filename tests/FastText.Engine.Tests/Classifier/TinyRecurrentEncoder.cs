using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Classifier;

/// <summary>A small stateful encoder (embedding + stacked LSTMs, no dropout) with fastai's state semantics, for tests.</summary>
internal sealed class TinyRecurrentEncoder : nn.Module<Tensor, Tensor>, IRecurrentEncoder
{
    private readonly Embedding encoder;
    private readonly ModuleList<LSTM> rnns;
    private readonly int[] hidden;
    private (Tensor H, Tensor C)[]? state;

    public TinyRecurrentEncoder(int vocabulary = 20, int embedding = 6, int hiddenSize = 10, int layers = 3) : base(nameof(TinyRecurrentEncoder))
    {
        encoder = nn.Embedding(vocabulary, embedding, padding_idx: 1);
        hidden = Enumerable.Range(0, layers).Select(l => l == layers - 1 ? embedding : hiddenSize).ToArray();
        rnns = new ModuleList<LSTM>();
        for (int l = 0; l < layers; l++)
        {
            rnns.Add(nn.LSTM(l == 0 ? embedding : hiddenSize, hidden[l], batchFirst: true));
        }
        RegisterComponents();
    }

    public nn.Module Module => this;

    public long OutputSize => hidden[^1];

    public int PaddingId => 1;

    public int EncodeCalls { get; private set; }

    /// <summary>Rows × steps fed through the LSTMs so far.</summary>
    public long RowSteps { get; private set; }

    public ComputePrecision Precision
    {
        get => ComputePrecision.Float32;
        set
        {
            if (value != ComputePrecision.Float32)
            {
                throw new NotSupportedException("The test encoder runs in fp32 only.");
            }
        }
    }

    /// <inheritdoc />
    public void ResetState()
    {
        DisposeState();
        state = null;
    }

    public Tensor Encode(Tensor ids) => call(ids);

    public override Tensor forward(Tensor ids)
    {
        EncodeCalls++;
        long rows = ids.shape[0];
        RowSteps += rows * ids.shape[1];
        var previous = state;
        var next = new (Tensor H, Tensor C)[rnns.Count];
        Tensor x = encoder.call(ids);
        for (int l = 0; l < rnns.Count; l++)
        {
            Tensor h0 = previous is null ? zeros(1, rows, hidden[l]) : Fit(previous[l].H, rows);
            Tensor c0 = previous is null ? zeros(1, rows, hidden[l]) : Fit(previous[l].C, rows);
            // The engine's kernel choice, checked against float64 on this CPU: rnns[l].call under no_grad runs oneDNN's
            // fp32 inference kernel, which is wrong at these small shapes on Zen 5 (native-notes/onednn-lstm-inference.md).
            var weights = rnns[l].named_parameters().ToDictionary(p => p.name, p => p.parameter);
            LstmKernel kernel = LstmKernelCheck.Shared.ForFusedLayer(ScalarType.Float32, (int)x.shape[2], hidden[l]);
            var (output, h, c) = LstmKernels.Run(kernel, x, h0, c0, weights["weight_ih_l0"], weights["weight_hh_l0"], weights["bias_ih_l0"], weights["bias_hh_l0"],
                training || is_grad_enabled());
            x = output;
            next[l] = (h.detach().DetachFromDisposeScope(), c.detach().DetachFromDisposeScope());
        }
        DisposeState();
        state = next;
        return x;
    }

    private static Tensor Fit(Tensor s, long rows)
    {
        long have = s.shape[1];
        return have == rows ? s : have > rows ? s.narrow(1, 0, rows) : nn.functional.pad(s, [0, 0, 0, rows - have]);
    }

    public IReadOnlyList<ParameterGroup> ParameterGroups()
    {
        var groups = new List<ParameterGroup> { new("embedding", [new NamedParameter("encoder.weight", encoder.weight!)]) };
        groups.AddRange(rnns.Select((r, l) => new ParameterGroup($"rnn{l}", r.named_parameters().Select(p => new NamedParameter($"rnns.{l}.{p.name}", p.parameter)).ToArray())));
        return groups;
    }

    private void DisposeState()
    {
        if (state is null)
        {
            return;
        }
        foreach (var (h, c) in state)
        {
            h.Dispose();
            c.Dispose();
        }
    }
}
