namespace FastText.Engine.Models;

/// <summary>Dtype the LSTMs and matmuls run in. Master weights, optimizer state, loss, softmax and AR/TAR stay fp32.</summary>
public enum ComputePrecision
{
    /// <summary>Everything in fp32.</summary>
    Float32,

    /// <summary>bf16 matrix multiplies in the LSTMs and the decoder, fp32 for everything element-wise; no loss scaling
    /// needed.</summary>
    /// <remarks>The LSTM layers run a custom autograd function (one bf16 GEMM for the input projection of all time steps,
    /// a per-step bf16 recurrence GEMM, the weight gradients as single bf16 GEMMs) with gates, cell state, state carried
    /// between batches and gate gradients in fp32; dropout masks stay fp32. <see cref="AwdLstmEncoder.FusedBf16MaxHidden"/>
    /// opts small layers into libtorch's fused bf16 kernel (faster there, less accurate). Why not libtorch's own bf16 LSTM
    /// everywhere: its backward
    /// was slower than fp32 at hidden 1152, and the earlier mode built on it (bf16 cell state and dropout masks) cost +4.1%
    /// perplexity on a short Brown run. Measured figures:
    /// perf-results/BareLstmBaselineBenchmarks.md (speed), perf-results/BrownMixedPrecision.md (perplexity).</remarks>
    BFloat16,

    /// <summary>
    /// LSTMs in fp32 (libtorch's fused kernel), decoder matmuls in bf16: logits are rounded to bf16 by the matmul, then
    /// log-softmax and loss run in fp32. The LSTMs are exactly those of <see cref="Float32"/>. Usually slower than
    /// <see cref="BFloat16"/>, but on a heavily loaded machine it measured faster at hidden 256, where the bf16 layer's
    /// many small per-step ops suffer most (perf-results/BareLstmBaselineBenchmarks.md).
    /// </summary>
    BFloat16Decoder,
}

/// <summary>The one place a <see cref="ComputePrecision"/> is named: the CLI's <c>--precision</c> values, the config
/// file's <c>precision</c> key and the run report all go through here.</summary>
public static class ComputePrecisions
{
    /// <summary>The accepted names, in the order the help lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["fp32", "bf16", "bf16-decoder"];

    /// <summary>The short name of <paramref name="precision"/> (fp32, bf16, bf16-decoder).</summary>
    public static string Name(this ComputePrecision precision) => precision switch
    {
        ComputePrecision.Float32 => "fp32",
        ComputePrecision.BFloat16 => "bf16",
        ComputePrecision.BFloat16Decoder => "bf16-decoder",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, null),
    };

    /// <summary>What <paramref name="precision"/> runs in, as the run report states it.</summary>
    public static string Describe(this ComputePrecision precision) => precision switch
    {
        ComputePrecision.Float32 => "fp32",
        ComputePrecision.BFloat16 => "bf16 matrix products, fp32 master weights, gates, cell state and loss",
        _ => "bf16 decoder matrix products only (the classifier has none: fp32), fp32 elsewhere",
    };

    /// <summary>Parses a name of <see cref="Names"/> (case-insensitive); false for any other text.</summary>
    public static bool TryParse(string? name, out ComputePrecision precision)
    {
        foreach (ComputePrecision candidate in Enum.GetValues<ComputePrecision>())
        {
            if (string.Equals(candidate.Name(), name, StringComparison.OrdinalIgnoreCase))
            {
                precision = candidate;
                return true;
            }
        }
        precision = default;
        return false;
    }

    /// <summary>Parses a name of <see cref="Names"/> (case-insensitive).</summary>
    /// <param name="name">The name.</param>
    /// <param name="source">Where the name came from, for the error (e.g. "--precision" or "FASTTEXT_PEER_PRECISION").</param>
    /// <exception cref="ArgumentException">Not one of <see cref="Names"/>; the message names <paramref name="source"/>.</exception>
    public static ComputePrecision Parse(string? name, string source) => TryParse(name, out ComputePrecision precision)
        ? precision
        : throw new ArgumentException($"{source}: '{name}' is not {NameList}.");

    // "fp32, bf16 or bf16-decoder"
    internal static string NameList => $"{string.Join(", ", Names.Take(Names.Count - 1))} or {Names[^1]}";
}
