using FastText.Engine.Recipes;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;
using TorchSharp;

namespace FastText.Engine.Tests.Recipes;

/// <summary>The preset's gradient clipping reaches every training step (1 torch thread; the test owns torch's global
/// RNG, which the dropout masks draw from, so runs compare bit for bit).</summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class GradientClipSettingTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    public void Dispose() => temporary.Dispose();

    [Fact]
    public void The_clip_setting_clips_every_step_only_where_it_binds()
    {
        TorchTestSetup.Use();
        Dictionary<string, torch.Tensor> Pretrained(string name, double clip)
        {
            var run = new UlmfitPipeline(temporary.Combine(name), PipelineTests.Micro with { GradientClip = clip });
            using TextDataset general = run.Tokenize("general", PipelineTests.EasyTexts().English);
            using var lm = run.Pretrain(general).LoadModel();
            return TinyModels.Snapshot(lm);
        }
        var free = Pretrained("free", 0);
        var loose = Pretrained("loose", 1e9);      // never binds: the same steps
        var tight = Pretrained("tight", 1e-9);     // binds at every step: Adam's eps then dominates and the steps shrink

        Assert.All(free, p => Assert.True(TinyModels.Same(p.Value, loose[p.Key]), $"{p.Key} differs under a clip that never binds"));
        Assert.Contains(free, p => !TinyModels.Same(p.Value, tight[p.Key]));
    }
}
