using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>Embedding rows and decoder-bias entries of a pretrained model, re-indexed for another vocabulary.</summary>
/// <param name="Weights">(new vocabulary size, embedding size).</param>
/// <param name="Bias">(new vocabulary size), or null when no bias was given.</param>
/// <param name="Matched">New tokens found in the pretrained vocabulary.</param>
/// <param name="New">New tokens not found (given the mean row and mean bias).</param>
internal sealed record MatchedEmbeddings(Tensor Weights, Tensor? Bias, int Matched, int New) : IDisposable
{
    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Weights.Dispose();
        Bias?.Dispose();
    }
}
