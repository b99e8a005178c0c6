using FastText.Engine.Models;
using InProcess = FastText.Engine.Tests.Reliability.Cli;
using FastText.Engine.Tests.Training;
using TorchSharp;

namespace FastText.Engine.Tests.Models;

/// <summary>A language model copied with bf16 weights (<c>fasttext compact</c>): smaller, read back as fp32, usable as a start.</summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class CompactModelTests : IDisposable
{
    private readonly TemporaryFolder work = new();

    public void Dispose() => work.Dispose();

    [Fact]
    public void A_compact_copy_is_about_half_the_size_within_bf16_rounding_and_fine_tunes()
    {
        TorchTestSetup.Use();
        var (mails, english) = TinyCorpora.Write(work.Path, seed: 3);
        string P(string name) => work.Combine(name);
        Assert.Equal(0, InProcess.Run("tokenize", "-i", english, "--format", "lines", "-o", P("english"), "--preset", "tiny").Exit);
        Assert.Equal(0, InProcess.Run("tokenize", "-i", mails, "-o", P("spam"), "--preset", "tiny").Exit);
        Assert.Equal(0, InProcess.Run("pretrain", "-c", P("english"), "-o", P("lm"), "--preset", "tiny").Exit);
        InProcess.Result compact = InProcess.Run("compact", "-m", P("lm"), "-o", P("lm-bf16"));
        Assert.True(compact.Exit == 0, compact.ToString());

        LanguageModelArtifact original = LanguageModelArtifact.Open(P("lm")), copy = LanguageModelArtifact.Open(P("lm-bf16"));
        double ratio = (double)new FileInfo(copy.WeightsPath).Length / new FileInfo(original.WeightsPath).Length;
        Assert.InRange(ratio, 0.45, 0.6);
        using AwdLstmLanguageModel a = original.LoadModel(), b = copy.LoadModel();
        var bParameters = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in a.named_parameters())
        {
            torch.Tensor other = bParameters[name];
            Assert.Equal(torch.ScalarType.Float32, other.dtype);
            // bf16 keeps 8 significant bits: each weight within 2⁻⁸ of itself (round to nearest: 2⁻⁹).
            double worst = (other - parameter).abs().div(parameter.abs().clamp_min(1e-30)).max().item<float>();
            Assert.True(worst <= 1.0 / 256, $"{name}: relative error {worst}");
        }
        Assert.Equal(original.Vocabulary.Tokens, copy.Vocabulary.Tokens);

        InProcess.Result tuned = InProcess.Run("fine-tune", "-c", P("spam"), "-p", P("lm-bf16"), "-o", P("tuned"), "--preset", "tiny");
        Assert.True(tuned.Exit == 0, tuned.ToString());
        Assert.Equal(1, InProcess.Run("compact", "-m", P("lm"), "-o", P("lm")).Exit);     // never over itself
    }
}
