using FastText.Engine.Native;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

// The AWD-LSTM (Merity et al.) as fastai builds it, top to bottom:
//   ids (batch, seq) ─ Embedding + EmbeddingDropout ─ locked input dropout ─┐
//   ┌──────────────────────────────────────────────────────────────────────┘
//   └─ for each layer: WeightDroppedLstm (DropConnect on W_hh) ─ locked hidden dropout (not after the last)
//   → raw last-layer output (batch, seq, emb); the LM head adds locked output dropout and the tied decoder.
// All tensors are batch-first. State (h, c) per layer is carried across calls, detached (truncated BPTT).

/// <summary>The three regularising dropouts of the AWD-LSTM, as functions (fastai <c>RNNDropout</c>, <c>EmbeddingDropout</c>).</summary>
internal static class AwdDropout
{
    /// <summary>
    /// Locked ("variational") dropout (fastai <c>RNNDropout</c>): one mask per (row, feature) shared by all time steps,
    /// scaled by 1/(1−p), resampled per call. Identity when not training or p = 0.
    /// </summary>
    /// <param name="input">(batch, seq, features).</param>
    /// <param name="probability">Drop probability.</param>
    /// <param name="training">Whether the module is in training mode.</param>
    /// <remarks>The mask is fp32 whatever the input's dtype, so a bf16 input gives an fp32 result: 1/(1−p) rounded to
    /// bf16 would scale every kept activation by up to 0.4% too much or too little.</remarks>
    public static Tensor Locked(Tensor input, double probability, bool training)
    {
        if (!training || probability == 0)
        {
            return input;
        }
        ScalarType maskType = input.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        using Scalar keep = 1 - probability;                        // explicit: an implicit Scalar is the GC's (Native/Scalars.cs)
        using Tensor mask = torch.empty(new[] { input.shape[0], 1, input.shape[2] }, dtype: maskType, device: input.device)
            .bernoulli_(1 - probability).div_(keep);                 // (batch, 1, features)
        return input * mask;
    }

    /// <summary>
    /// fastai <c>EmbeddingDropout</c>: whole word vectors dropped (mask of shape (vocab, 1) on the matrix, scaled by
    /// 1/(1−p)). Applied as lookup × the row mask gathered at the ids, which is the same result without copying the matrix.
    /// </summary>
    /// <param name="embedded">Looked-up vectors, (batch, seq, emb).</param>
    /// <param name="ids">The ids looked up, (batch, seq).</param>
    /// <param name="vocabularySize">Rows of the embedding matrix.</param>
    /// <param name="probability">Drop probability.</param>
    /// <param name="training">Whether the module is in training mode.</param>
    public static Tensor EmbeddingRows(Tensor embedded, Tensor ids, long vocabularySize, double probability, bool training)
    {
        if (!training || probability == 0)
        {
            return embedded;
        }
        using Scalar keep = 1 - probability;
        using Tensor rowMask = torch.empty(vocabularySize, 1, dtype: embedded.dtype, device: embedded.device)
            .bernoulli_(1 - probability).div_(keep);                 // (vocab, 1)
        using Tensor flat = ids.reshape(-1);
        using Tensor gathered = rowMask.index_select(0, flat);       // (batch·seq, 1)
        using Tensor perToken = gathered.view(ids.shape[0], ids.shape[1], 1);
        return embedded * perToken;
    }
}

/// <summary>A module that only holds named parameters, so state-dict keys can mirror fastai's (<c>module.weight_ih_l0</c>, <c>decoder.bias</c>).</summary>
internal sealed class ParameterHolder : nn.Module
{
    /// <summary>No automatic registration: every key is registered explicitly so the state dict mirrors fastai's.</summary>
    /// <remarks>TorchSharp's default registers every Module/Parameter/Tensor field under its field name (run when a parent
    /// registers this module), which would add duplicate, non-fastai keys such as <c>embeddingWeight</c>.</remarks>
    protected override void RegisterComponents()
    {
    }

    public ParameterHolder(string name) : base(name)
    {
    }

    public Parameter Add(string name, Tensor initial)
    {
        var parameter = new Parameter(initial);
        register_parameter(name, parameter);
        return parameter;
    }
}

/// <summary>
/// One single-layer LSTM with DropConnect on its hidden-to-hidden matrix (fastai <c>WeightDropout(nn.LSTM)</c>).
/// The trainable matrix is <c>weight_hh_l0_raw</c>; each training call runs ATen's fused <c>lstm</c> (through a
/// TorchScript function compiled once per process) on a freshly dropped copy, so gradients reach the raw matrix and
/// speed matches <c>nn.LSTM</c>. Every kernel is checked against float64 on this CPU before its first use at a shape
/// (<see cref="LstmKernelCheck"/>): where oneDNN's is wrong, a right one runs instead. State-dict keys: <c>weight_hh_l0_raw</c>, <c>module.weight_ih_l0</c>,
/// <c>module.bias_ih_l0</c>, <c>module.bias_hh_l0</c> — fastai's names.
/// </summary>
public sealed class WeightDroppedLstm : nn.Module
{
    /// <summary>No automatic registration: every key is registered explicitly so the state dict mirrors fastai's.</summary>
    /// <remarks>TorchSharp's default registers every Module/Parameter/Tensor field under its field name (run when a parent
    /// registers this module), which would add duplicate, non-fastai keys such as <c>embeddingWeight</c>.</remarks>
    protected override void RegisterComponents()
    {
    }

    private readonly Parameter weightHiddenRawParameter;
    private readonly Parameter weightInput;
    private readonly Parameter biasInput;
    private readonly Parameter biasHidden;

    /// <summary>Creates the layer with PyTorch's LSTM init U(−1/√H, 1/√H).</summary>
    /// <param name="inputSize">Input features.</param>
    /// <param name="hiddenSize">Hidden features H (the 4H gate rows are ordered input, forget, cell, output).</param>
    /// <param name="weightDropout">DropConnect probability on the hidden-to-hidden matrix.</param>
    public WeightDroppedLstm(int inputSize, int hiddenSize, double weightDropout) : base(nameof(WeightDroppedLstm))
    {
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        WeightDropout = weightDropout;
        double bound = 1.0 / Math.Sqrt(hiddenSize);
        Tensor Uniform(params long[] shape) => torch.empty(shape).uniform_(-bound, bound);

        weightHiddenRawParameter = new Parameter(Uniform(4L * hiddenSize, hiddenSize));
        register_parameter("weight_hh_l0_raw", weightHiddenRawParameter);
        var module = new ParameterHolder("LSTM");
        weightInput = module.Add("weight_ih_l0", Uniform(4L * hiddenSize, inputSize));
        biasInput = module.Add("bias_ih_l0", Uniform(4L * hiddenSize));
        biasHidden = module.Add("bias_hh_l0", Uniform(4L * hiddenSize));
        register_module("module", module);
    }

    /// <summary>Input features.</summary>
    public int InputSize { get; }

    /// <summary>Hidden (output) features.</summary>
    public int HiddenSize { get; }

    /// <summary>DropConnect probability on <c>weight_hh_l0_raw</c>.</summary>
    public double WeightDropout { get; set; }

    /// <summary>The trainable hidden-to-hidden matrix (4H × H) before DropConnect.</summary>
    public Parameter WeightHiddenRaw => weightHiddenRawParameter;

    /// <summary>Runs the layer over a chunk with libtorch's fused LSTM in the input's dtype.</summary>
    /// <param name="input">(batch, seq, input) in the compute dtype.</param>
    /// <param name="hidden">h0, (1, batch, H), compute dtype.</param>
    /// <param name="cell">c0, (1, batch, H), compute dtype.</param>
    /// <returns>Output (batch, seq, H) and the final (h, c), each (1, batch, H).</returns>
    public (Tensor Output, Tensor Hidden, Tensor Cell) Forward(Tensor input, Tensor hidden, Tensor cell) =>
        Forward(input, hidden, cell, bf16MatrixProducts: false);

    /// <summary>Runs the layer over a chunk.</summary>
    /// <param name="input">(batch, seq, input): the compute dtype, or any float dtype with <paramref name="bf16MatrixProducts"/>.</param>
    /// <param name="hidden">h0, (1, batch, H): compute dtype, fp32 with <paramref name="bf16MatrixProducts"/>.</param>
    /// <param name="cell">c0, (1, batch, H): compute dtype, fp32 with <paramref name="bf16MatrixProducts"/>.</param>
    /// <param name="bf16MatrixProducts">Run <see cref="ComputePrecision.BFloat16"/>'s layer: bf16 GEMMs, fp32 gates and
    /// state; output bf16, final (h, c) fp32.</param>
    /// <returns>Output (batch, seq, H) and the final (h, c), each (1, batch, H).</returns>
    public (Tensor Output, Tensor Hidden, Tensor Cell) Forward(Tensor input, Tensor hidden, Tensor cell, bool bf16MatrixProducts)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (bf16MatrixProducts)
        {
            // DropConnect on the fp32 master; the function casts to bf16 and returns the gradient in fp32.
            Tensor dropped = training && WeightDropout > 0
                ? nn.functional.dropout(weightHiddenRawParameter, WeightDropout, training: true)
                : weightHiddenRawParameter;
            LstmKernelCheck.Shared.EnsureBf16Gemm(InputSize, HiddenSize);
            return LstmKernels.Run(LstmKernel.Bf16Gemm, input, hidden, cell, weightInput, dropped, biasInput, biasHidden, train: true);
        }
        ScalarType dtype = input.dtype;
        // Casts are differentiable: gradients arrive in fp32 on the master parameters (bf16 "autocast" by hand).
        Tensor wIh = Cast(weightInput, dtype);
        Tensor wHhRaw = Cast(weightHiddenRawParameter, dtype);
        Tensor wHh = training && WeightDropout > 0 ? nn.functional.dropout(wHhRaw, WeightDropout, training: true) : wHhRaw;
        Tensor bIh = Cast(biasInput, dtype);
        Tensor bHh = Cast(biasHidden, dtype);
        // The kernel was checked against float64 on this CPU at this shape (oneDNN's inference kernel is wrong on some).
        LstmKernel kernel = LstmKernelCheck.Shared.ForFusedLayer(dtype, InputSize, HiddenSize);
        return LstmKernels.Run(kernel, input, hidden, cell, wIh, wHh, bIh, bHh, training || torch.is_grad_enabled());
    }

    private static Tensor Cast(Tensor weight, ScalarType dtype) => weight.dtype == dtype ? weight : weight.to(dtype);
}

/// <summary>
/// The AWD-LSTM encoder (fastai <c>AWD_LSTM</c>): embedding with embedding dropout, locked input dropout, weight-dropped
/// LSTM layers with locked dropout between them, per-layer state carried (detached) across calls. Returns the raw last
/// layer output (no output dropout). State-dict keys mirror fastai's: <c>encoder.weight</c>, <c>rnns.{l}.weight_hh_l0_raw</c>,
/// <c>rnns.{l}.module.weight_ih_l0</c>, …
/// </summary>
/// <remarks>
/// A classifier's SentenceEncoder calls <see cref="Reset"/> once per batch, then <see cref="forward"/> on each bptt chunk
/// with a growing number of rows (state rows are zero-extended / truncated automatically, fastai semantics).
/// </remarks>
public sealed class AwdLstmEncoder : nn.Module<Tensor, Tensor>
{
    /// <summary>No automatic registration: every key is registered explicitly so the state dict mirrors fastai's.</summary>
    /// <remarks>TorchSharp's default registers every Module/Parameter/Tensor field under its field name (run when a parent
    /// registers this module), which would add duplicate, non-fastai keys such as <c>embeddingWeight</c>.</remarks>
    protected override void RegisterComponents()
    {
    }

    private readonly Embedding embedding;
    private readonly Parameter embeddingWeight;
    private readonly WeightDroppedLstm[] layers;
    private readonly Tensor?[] hiddenState;
    private readonly Tensor?[] cellState;
    private ComputePrecision precision;

    /// <summary>Builds the encoder for <paramref name="vocabularySize"/> tokens.</summary>
    public AwdLstmEncoder(int vocabularySize, AwdLstmConfig config) : base(nameof(AwdLstmEncoder))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (vocabularySize <= config.PadToken)
        {
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), vocabularySize, "The vocabulary must contain the pad token.");
        }
        Config = config;
        VocabularySize = vocabularySize;
        embedding = nn.Embedding(vocabularySize, config.EmbeddingSize, padding_idx: config.PadToken);
        embeddingWeight = embedding.weight!;
        using (torch.no_grad())
        {
            embeddingWeight.uniform_(-0.1, 0.1);   // fastai: U(−0.1, 0.1) for every row, the pad row included
        }
        register_module("encoder", embedding);
        layers = new WeightDroppedLstm[config.Layers];
        var list = new ModuleList<WeightDroppedLstm>();
        for (int l = 0; l < config.Layers; l++)
        {
            layers[l] = new WeightDroppedLstm(config.LayerInputSize(l), config.LayerOutputSize(l), config.WeightDropout);
            list.append(layers[l]);
        }
        register_module("rnns", list);
        hiddenState = new Tensor?[config.Layers];
        cellState = new Tensor?[config.Layers];
    }

    /// <summary>Sizes and dropouts (dropouts may be changed with <see cref="SetDropouts"/>).</summary>
    public AwdLstmConfig Config { get; private set; }

    /// <summary>Rows of the embedding matrix.</summary>
    public int VocabularySize { get; }

    /// <summary>The embedding matrix (vocab, emb) — also the tied decoder weight.</summary>
    public Parameter EmbeddingWeight => embeddingWeight;

    /// <summary>The LSTM layers, first to last.</summary>
    public IReadOnlyList<WeightDroppedLstm> Layers => layers;

    /// <summary>Rows of the carried state (0 after <see cref="Reset"/>).</summary>
    public long StateRows => hiddenState[0] is { } h ? h.shape[1] : 0;

    /// <summary>
    /// In <see cref="ComputePrecision.BFloat16"/>, layers whose hidden size is at most this run libtorch's fused LSTM
    /// kernel in bf16 instead of the bf16-GEMM layer (<see cref="Bf16LstmFunction"/>); the carried state is fp32 either
    /// way. Default 0: every layer through the bf16-GEMM layer. An opt-in speed/accuracy trade: the fused kernel is faster
    /// on small layers (one layer's forward + backward at batch 32, bptt 72, 1 thread: hidden 256 fused bf16 54 ms,
    /// bf16-GEMM 93 ms, fp32 127 ms; at hidden 1152 fused 962 ms, bf16-GEMM 620 ms; the small AWD step 1.61× fp32 with
    /// 256, against 1.40× with 0), but it keeps the cell state in bf16 inside a chunk: with 256 the short Brown run
    /// (hidden 512/512/200, only the last layer fused) ended +3.7 % perplexity against fp32, against −0.3 % with 0
    /// (perf-results/BrownMixedPrecision.md). Those timings predate the bf16-GEMM layer's managed CPU pass; with it, the
    /// whole small AWD step runs at 15,369 tok/s with 0 and 16,681 with 256 (idle machine, BareLstmBaselineBenchmarks):
    /// the switch now buys ~8 % at that shape, still at the price of the bf16 cell state.
    /// </summary>
    public int FusedBf16MaxHidden { get; set; }

    /// <summary>Compute dtype of the LSTMs. Changing it resets the state.</summary>
    public ComputePrecision Precision
    {
        get => precision;
        set
        {
            if (value != precision)
            {
                precision = value;
                Reset();
            }
        }
    }

    /// <summary>The torch dtype matching <see cref="Precision"/>; <see cref="forward"/> returns outputs in it. The carried
    /// state is fp32 in every mode.</summary>
    public ScalarType ComputeType => precision == ComputePrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;

    /// <summary>The dtype the LM decoder's matmuls use under <see cref="Precision"/> (bf16 unless fp32).</summary>
    public ScalarType DecoderType => precision == ComputePrecision.Float32 ? ScalarType.Float32 : ScalarType.BFloat16;

    /// <summary>Replaces the dropout probabilities (sizes must be unchanged), e.g. to apply a different <c>drop_mult</c>.</summary>
    public void SetDropouts(AwdLstmConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.ArchitectureSignature() != Config.ArchitectureSignature())
        {
            throw new ArgumentException($"Config '{config.ArchitectureSignature()}' does not match the encoder's '{Config.ArchitectureSignature()}'.", nameof(config));
        }
        Config = config;
        foreach (WeightDroppedLstm layer in layers)
        {
            layer.WeightDropout = config.WeightDropout;
        }
    }

    /// <summary>Forgets the carried state (fastai <c>reset()</c>); the next call starts from zeros.</summary>
    public void Reset()
    {
        for (int l = 0; l < layers.Length; l++)
        {
            hiddenState[l]?.Dispose();
            cellState[l]?.Dispose();
            hiddenState[l] = null;
            cellState[l] = null;
        }
    }

    /// <summary>The carried state, h then c of each layer in layer order ((1, rows, H_l) each); empty after
    /// <see cref="Reset"/>. The tensors are the encoder's own: read them, do not dispose them.</summary>
    public IReadOnlyList<Tensor> CarriedState()
    {
        if (hiddenState[0] is null)
        {
            return Array.Empty<Tensor>();
        }
        var state = new Tensor[2 * layers.Length];
        for (int l = 0; l < layers.Length; l++)
        {
            state[2 * l] = hiddenState[l]!;
            state[2 * l + 1] = cellState[l]!;
        }
        return state;
    }

    /// <summary>Replaces the carried state with copies of <paramref name="state"/> (as returned by <see cref="CarriedState"/>;
    /// empty = <see cref="Reset"/>), converted to fp32 (the state is carried in fp32 in every precision).</summary>
    /// <exception cref="ArgumentException">The tensors do not fit this encoder's layers.</exception>
    public void RestoreCarriedState(IReadOnlyList<Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 0 && state.Count != 2 * layers.Length)
        {
            throw new ArgumentException($"The carried state has {state.Count} tensors; this {layers.Length}-layer encoder needs {2 * layers.Length} (h and c per layer).", nameof(state));
        }
        long rows = state.Count == 0 ? 0 : state[0].shape.Length == 3 ? state[0].shape[1] : -1;
        for (int i = 0; i < state.Count; i++)
        {
            long[] expected = { 1, rows, layers[i / 2].HiddenSize };
            if (!state[i].shape.SequenceEqual(expected))
            {
                throw new ArgumentException($"Carried state tensor {i} has shape [{string.Join(", ", state[i].shape)}]; layer {i / 2} needs [{string.Join(", ", expected)}].", nameof(state));
            }
        }
        Reset();
        for (int l = 0; l < state.Count / 2; l++)
        {
            hiddenState[l] = state[2 * l].to(StateType, copy: true).DetachFromDisposeScope();
            cellState[l] = state[2 * l + 1].to(StateType, copy: true).DetachFromDisposeScope();
        }
    }

    /// <summary>Encodes one chunk of ids, continuing from the carried state.</summary>
    /// <param name="ids">(batch, seq) int64. If batch differs from the state's rows, state rows are zero-extended at the
    /// bottom or the first rows kept (fastai semantics).</param>
    /// <returns>The raw (un-dropped) last-layer output, (batch, seq, emb), in <see cref="ComputeType"/>.</returns>
    public override Tensor forward(Tensor ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.dim() != 2)
        {
            throw new ArgumentException($"ids must be (batch, seq); got [{string.Join(", ", ids.shape)}].", nameof(ids));
        }
        Tensor embedded = embedding.call(ids);                                                   // (batch, seq, emb)
        embedded = AwdDropout.EmbeddingRows(embedded, ids, VocabularySize, Config.EmbeddingDropout, training);
        return ForwardEmbeddings(embedded);
    }

    /// <summary>Encodes given embeddings (fastai <c>from_embeds=True</c>; used by intrinsic attention).</summary>
    /// <param name="embedded">(batch, seq, emb), fp32.</param>
    /// <returns>Raw last-layer output, (batch, seq, emb), in <see cref="ComputeType"/>.</returns>
    public Tensor ForwardEmbeddings(Tensor embedded)
    {
        ArgumentNullException.ThrowIfNull(embedded);
        long batch = embedded.shape[0];
        PrepareState(batch);
        bool bf16 = precision == ComputePrecision.BFloat16;
        // bf16 layers cast their input themselves (input dropout stays in fp32, as do the masks between layers).
        Tensor x = bf16 || embedded.dtype == ComputeType ? embedded : embedded.to(ComputeType);
        x = AwdDropout.Locked(x, Config.InputDropout, training);                                 // (batch, seq, emb)
        for (int l = 0; l < layers.Length; l++)
        {
            var (output, h, c) = bf16 && layers[l].HiddenSize <= FusedBf16MaxHidden
                ? FusedBf16(layers[l], x, hiddenState[l]!, cellState[l]!)
                : layers[l].Forward(x, hiddenState[l]!, cellState[l]!, bf16);                     // (batch, seq, H_l)
            Keep(ref hiddenState[l], h);
            Keep(ref cellState[l], c);
            x = l < layers.Length - 1 ? AwdDropout.Locked(output, Config.HiddenDropout, training) : output;
        }
        return x;
    }

    // A small layer in bf16 mode: libtorch's fused kernel in bf16 (the bf16-GEMM layer's separate per-step ops cost more
    // than they save at this size); the carried state stays fp32 as in the bf16-GEMM layer.
    private static (Tensor Output, Tensor Hidden, Tensor Cell) FusedBf16(WeightDroppedLstm layer, Tensor x, Tensor hidden, Tensor cell)
    {
        var (output, h, c) = layer.Forward(x.to(ScalarType.BFloat16), hidden.to(ScalarType.BFloat16), cell.to(ScalarType.BFloat16));
        return (output, h.to(StateType), c.to(StateType));
    }

    /// <summary>fastai's splitter for the encoder: [embedding], [rnn 0], …, [rnn last].</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups()
    {
        var groups = new List<ParameterGroup> { new("embedding", new[] { new NamedParameter("encoder.weight", embeddingWeight) }) };
        for (int l = 0; l < layers.Length; l++)
        {
            groups.Add(new ParameterGroup($"rnn{l}", layers[l].named_parameters()
                .Select(p => new NamedParameter($"rnns.{l}.{p.name}", p.parameter)).ToArray()));
        }
        return groups;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Reset();
        }
        base.Dispose(disposing);
    }

    // fp32 in every mode: the bf16 layers keep h and c in fp32 (h holds bf16-exact values), the others compute in fp32.
    private const ScalarType StateType = ScalarType.Float32;

    private void PrepareState(long batch)
    {
        for (int l = 0; l < layers.Length; l++)
        {
            long size = layers[l].HiddenSize;
            Resize(ref hiddenState[l], batch, size);
            Resize(ref cellState[l], batch, size);
        }
    }

    // State lives outside every DisposeScope (it outlives the batch); the previous one is disposed by hand.
    private void Resize(ref Tensor? state, long batch, long size)
    {
        if (state is not null && state.dtype != StateType)
        {
            state.Dispose();
            state = null;
        }
        if (state is null)
        {
            state = torch.zeros(new[] { 1, batch, size }, dtype: StateType).DetachFromDisposeScope();
            return;
        }
        long rows = state.shape[1];
        if (rows == batch)
        {
            return;
        }
        Tensor resized;
        if (rows < batch)
        {
            using Tensor zeros = torch.zeros(new[] { 1, batch - rows, size }, dtype: StateType);
            resized = torch.cat(new[] { state, zeros }, 1);                 // zero-extend at the bottom
        }
        else
        {
            using Tensor first = state.narrow(1, 0, batch);                 // keep the first rows
            resized = first.contiguous().clone();
        }
        resized.DetachFromDisposeScope();
        state.Dispose();
        state = resized;
    }

    private static void Keep(ref Tensor? state, Tensor next)
    {
        Tensor detached = next.detach().DetachFromDisposeScope();
        state?.Dispose();
        state = detached;
    }
}

/// <summary>
/// fastai <c>LinearDecoder</c>: locked output dropout, then a linear map to the vocabulary whose weight is the encoder's
/// embedding matrix when tied. The tied matrix is held by reference and not registered here, so it appears once in
/// <c>parameters()</c> and is never decayed or clipped twice (torchsharp-notes §12). Keys: <c>decoder.bias</c>
/// (+ <c>decoder.weight</c> untied).
/// </summary>
public sealed class LinearDecoder : nn.Module<Tensor, Tensor>
{
    /// <summary>No automatic registration: every key is registered explicitly so the state dict mirrors fastai's.</summary>
    /// <remarks>TorchSharp's default registers every Module/Parameter/Tensor field under its field name (run when a parent
    /// registers this module), which would add duplicate, non-fastai keys such as <c>embeddingWeight</c>.</remarks>
    protected override void RegisterComponents()
    {
    }

    private readonly Parameter weight;
    private readonly Parameter? bias;

    /// <summary>Creates the decoder; <paramref name="tiedWeight"/> (vocab, emb) is used as the weight when given.</summary>
    public LinearDecoder(int vocabularySize, int embeddingSize, double outputDropout, Parameter? tiedWeight, bool outputBias)
        : base(nameof(LinearDecoder))
    {
        OutputDropout = outputDropout;
        var holder = new ParameterHolder("Linear");
        weight = tiedWeight ?? holder.Add("weight", torch.empty(vocabularySize, embeddingSize).uniform_(-0.1, 0.1));
        bias = outputBias ? holder.Add("bias", torch.zeros(vocabularySize)) : null;
        register_module("decoder", holder);
        IsTied = tiedWeight is not null;
    }

    /// <summary>Locked dropout applied to the encoder output (fastai <c>output_p</c>).</summary>
    public double OutputDropout { get; set; }

    /// <summary>Whether the weight is the embedding matrix.</summary>
    public bool IsTied { get; }

    /// <summary>The decoder matrix (vocab, emb).</summary>
    public Parameter Weight => weight;

    /// <summary>The decoder bias (vocab), if any.</summary>
    public Parameter? Bias => bias;

    /// <summary>Applies output dropout: (batch, seq, emb) → (batch, seq, emb).</summary>
    public Tensor Dropout(Tensor raw) => AwdDropout.Locked(raw, OutputDropout, training);

    /// <summary>Logits in fp32 for already-dropped features: (…, emb) → (…, vocab). The matmul runs in the input's dtype.</summary>
    public override Tensor forward(Tensor dropped)
    {
        ArgumentNullException.ThrowIfNull(dropped);
        ScalarType dtype = dropped.dtype;
        Tensor w = weight.dtype == dtype ? weight : weight.to(dtype);
        Tensor logits = nn.functional.linear(dropped, w);
        logits = logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32);
        return bias is null ? logits : logits.add_(bias, Scalars.One);
    }
}

/// <summary>What the language model returns: fastai's <c>(logits, raw, dropped)</c> minus the logits, which are computed
/// by <see cref="AwdLstmLanguageModel.Decode"/> or, fused with the loss, by the chunked cross-entropy.</summary>
/// <param name="Raw">Last-layer output before output dropout (batch, seq, emb), compute dtype — feeds TAR.</param>
/// <param name="Dropped">After output dropout (batch, seq, emb), compute dtype — feeds the decoder and AR.</param>
public sealed record LanguageModelOutput(Tensor Raw, Tensor Dropped);

/// <summary>
/// fastai's AWD-LSTM language model (<c>SequentialRNN(AWD_LSTM, LinearDecoder)</c>): keys <c>0.*</c> = encoder,
/// <c>1.decoder.bias</c> = decoder (the tied weight is <c>0.encoder.weight</c>).
/// </summary>
public sealed class AwdLstmLanguageModel : nn.Module<Tensor, LanguageModelOutput>
{
    /// <summary>No automatic registration: every key is registered explicitly so the state dict mirrors fastai's.</summary>
    /// <remarks>TorchSharp's default registers every Module/Parameter/Tensor field under its field name (run when a parent
    /// registers this module), which would add duplicate, non-fastai keys such as <c>embeddingWeight</c>.</remarks>
    protected override void RegisterComponents()
    {
    }

    /// <summary>Builds a freshly initialised model.</summary>
    public AwdLstmLanguageModel(int vocabularySize, AwdLstmConfig config) : base(nameof(AwdLstmLanguageModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        Encoder = new AwdLstmEncoder(vocabularySize, config);
        Decoder = new LinearDecoder(vocabularySize, config.EmbeddingSize, config.OutputDropout,
            config.TieWeights ? Encoder.EmbeddingWeight : null, config.OutputBias);
        register_module("0", Encoder);
        register_module("1", Decoder);
    }

    /// <summary>The encoder (save it with <see cref="ModelWeights.SaveEncoder"/> for the classifier).</summary>
    public AwdLstmEncoder Encoder { get; }

    /// <summary>The tied decoder.</summary>
    public LinearDecoder Decoder { get; }

    /// <summary>Sizes and dropouts.</summary>
    public AwdLstmConfig Config => Encoder.Config;

    /// <summary>Vocabulary size.</summary>
    public int VocabularySize => Encoder.VocabularySize;

    /// <summary>Compute dtype (see <see cref="ComputePrecision"/>).</summary>
    public ComputePrecision Precision
    {
        get => Encoder.Precision;
        set => Encoder.Precision = value;
    }

    /// <summary>Forgets the carried state.</summary>
    public void Reset() => Encoder.Reset();

    /// <summary>Runs the encoder and output dropout on a chunk, continuing the carried state.</summary>
    /// <param name="ids">(batch, seq) int64.</param>
    public override LanguageModelOutput forward(Tensor ids)
    {
        Tensor raw = Encoder.call(ids);                 // (batch, seq, emb)
        Tensor dropped = Decoder.Dropout(raw);          // (batch, seq, emb)
        return new LanguageModelOutput(raw, dropped);
    }

    /// <summary>Full fp32 logits (batch, seq, vocab) for dropped features (matmul in <see cref="AwdLstmEncoder.DecoderType"/>).
    /// Training uses the chunked loss instead.</summary>
    public Tensor Decode(Tensor dropped)
    {
        ArgumentNullException.ThrowIfNull(dropped);
        ScalarType type = Encoder.DecoderType;
        return Decoder.call(dropped.dtype == type ? dropped : dropped.to(type));
    }

    /// <summary>Replaces the dropout probabilities (sizes unchanged).</summary>
    public void SetDropouts(AwdLstmConfig config)
    {
        Encoder.SetDropouts(config);
        Decoder.OutputDropout = config.OutputDropout;
    }

    /// <summary>fastai <c>awd_lstm_lm_split</c>: [rnn0], [rnn1], …, [embedding = decoder weight, decoder bias]; the bias
    /// is excluded from weight decay (a Linear bias).</summary>
    public IReadOnlyList<ParameterGroup> ParameterGroups()
    {
        IReadOnlyList<ParameterGroup> encoderGroups = Encoder.ParameterGroups();
        var groups = encoderGroups.Skip(1).Select(g => new ParameterGroup(g.Name, g.Parameters.Select(p => p with { Name = "0." + p.Name }).ToArray())).ToList();
        var last = new List<NamedParameter> { new("0.encoder.weight", Encoder.EmbeddingWeight) };
        if (!Decoder.IsTied)
        {
            last.Add(new NamedParameter("1.decoder.weight", Decoder.Weight));
        }
        if (Decoder.Bias is { } bias)
        {
            last.Add(new NamedParameter("1.decoder.bias", bias, WeightDecay: false));
        }
        groups.Add(new ParameterGroup("embedding+decoder", last));
        return groups;
    }
}
