using System.Runtime.CompilerServices;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Pretrained;

/// <summary>
/// The committed fixture written by real PyTorch (tests/FastText.Engine.Tests/Fixtures/make_fastai_fixture.py) and
/// the values PyTorch recorded about it. Found next to this source file, so nothing needs copying to the output.
/// </summary>
internal static class Fixture
{
    public static readonly string Folder = FindFolder();

    public static string File(string name) => Path.Combine(Folder, name);

    public static string Checkpoint => File("fastai_lm.pth");

    public static string WrappedCheckpoint => File("fastai_lm_wrapped.pth");

    public static string LegacyCheckpoint => File("fastai_lm_legacy.pth");

    public static string Vocabulary => File("fastai_vocab.pkl");

    public static readonly Lazy<JsonElement> Expected = new(() => Load("fastai_lm_expected.json"));

    public static JsonElement Load(string name) =>
        JsonDocument.Parse(System.IO.File.ReadAllText(File(name))).RootElement.Clone();

    public static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    public static float[] Floats(JsonElement array) => Flatten(array).Select(d => (float)d).ToArray();

    public static long[] Longs(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();

    public static IEnumerable<double> Flatten(JsonElement element) => element.ValueKind == JsonValueKind.Array
        ? element.EnumerateArray().SelectMany(Flatten)
        : [element.GetDouble()];

    public static float[] Values(Tensor tensor) => tensor.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();

    /// <summary>Same shape and every element equal (TorchSharp's <c>equal</c> is element-wise).</summary>
    public static bool AllEqual(Tensor first, Tensor second)
    {
        using var scope = torch.NewDisposeScope();
        return first.shape.SequenceEqual(second.shape) && first.eq(second).all().item<bool>();
    }

    /// <summary>Evaluation-mode forward of the fastai LM (no dropout): embedding → 3 LSTMs → tied decoder, using
    /// TorchSharp's own LSTM so the test checks the weights' meaning, not only their bytes.</summary>
    public static Tensor LanguageModelLogits(IReadOnlyDictionary<string, Tensor> fastAiState, long[][] ids, int layers)
    {
        // In float64: libtorch's fp32 nn.LSTM under no_grad runs a oneDNN kernel that is wrong for some shapes on Zen 5
        // (native-notes/onednn-lstm-inference.md), and oneDNN has no float64 kernels, so this reference is right on every CPU.
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        Tensor F64(string key) => fastAiState[key].to(ScalarType.Float64);
        var input = torch.tensor(ids.SelectMany(r => r).ToArray(), [ids.Length, ids[0].Length], ScalarType.Int64);
        var x = F64("0.encoder.weight").index_select(0, input.flatten()).view(ids.Length, ids[0].Length, -1);
        for (int l = 0; l < layers; l++)
        {
            var weightHidden = F64($"0.rnns.{l}.weight_hh_l0_raw");
            var weightInput = F64($"0.rnns.{l}.module.weight_ih_l0");
            using var lstm = nn.LSTM(weightInput.shape[1], weightHidden.shape[1], batchFirst: true, dtype: ScalarType.Float64);
            var parameters = lstm.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            parameters["weight_ih_l0"].copy_(weightInput);
            parameters["weight_hh_l0"].copy_(weightHidden);
            parameters["bias_ih_l0"].copy_(F64($"0.rnns.{l}.module.bias_ih_l0"));
            parameters["bias_hh_l0"].copy_(F64($"0.rnns.{l}.module.bias_hh_l0"));
            x = lstm.call(x, null).Item1;
        }
        var decoderWeight = F64(fastAiState.ContainsKey("1.decoder.weight") ? "1.decoder.weight" : "0.encoder.weight");
        var logits = nn.functional.linear(x, decoderWeight, F64("1.decoder.bias")).to(ScalarType.Float32);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Next to this source file; if the compiler mapped source paths (deterministic CI builds), found by
    /// walking up from the test binaries (tests/FastText.Engine.Tests/bin/…).</summary>
    private static string FindFolder([CallerFilePath] string source = "")
    {
        string besideSource = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source) ?? ".", "..", "Fixtures"));
        if (Directory.Exists(besideSource))
        {
            return besideSource;
        }
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            string candidate = Path.Combine(folder.FullName, "Fixtures");
            if (System.IO.File.Exists(Path.Combine(candidate, "make_fastai_fixture.py")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"The fixture folder was not found beside {source} nor above {AppContext.BaseDirectory}.");
    }
}
