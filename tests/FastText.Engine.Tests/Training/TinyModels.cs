using FastText.Engine.Data;
using FastText.Engine.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Training;

internal static class TinyModels
{
    public static AwdLstmConfig Config(int layers = 3) => new(EmbeddingSize: 8, HiddenSize: 16, Layers: layers);

    public static AwdLstmLanguageModel LanguageModel(int vocabulary = 40, int seed = 0, AwdLstmConfig? config = null)
    {
        torch.manual_seed(seed);
        return new AwdLstmLanguageModel(vocabulary, config ?? Config());
    }

    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    public static Dictionary<string, Tensor> Snapshot(nn.Module module) =>
        module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
}

/// <summary>Tests that rely on torch's global RNG (seeded runs compared bit for bit) must not share the process with
/// tests drawing from it concurrently.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SequentialTorchCollection
{
    public const string Name = "Sequential torch RNG";
}
