using FastText.Benchmarks.Infrastructure;

namespace FastText.Benchmarks.Models;

/// <summary>
/// Shape of a language-model training step: embedding → LSTM layers (AWD-LSTM sizes: emb → hidden → … → emb)
/// → linear decoder → cross-entropy → Adam. Work is counted as matmul FLOPs, training = 3 × forward.
/// </summary>
public sealed record LmShape(string Name, int Vocab, int Embedding, int Hidden, int Layers, int Batch, int Bptt) : IWorkload
{
    /// <summary>A small model: quick to run, per-op overhead visible.</summary>
    public static LmShape Small { get; } = new("small", Vocab: 8000, Embedding: 128, Hidden: 256, Layers: 3, Batch: 32, Bptt: 72);

    /// <summary>fastai's LM shape (emb 400, hidden 1152, 3 layers, vocab 60008 = fastai's 60000 cap + padding), bs 32, bptt 72.</summary>
    public static LmShape Fastai { get; } = new("fastai-lm", Vocab: 60008, Embedding: 400, Hidden: 1152, Layers: 3, Batch: 32, Bptt: 72);

    /// <summary>Both shapes, for <c>[ParamsSource]</c>.</summary>
    public static IEnumerable<LmShape> All => new[] { Small, Fastai };

    /// <summary>Input size of layer <paramref name="layer"/>.</summary>
    public int InputSize(int layer) => layer == 0 ? Embedding : Hidden;

    /// <summary>Hidden size of layer <paramref name="layer"/> (the last one is the embedding size, so the decoder can be tied).</summary>
    public int HiddenSize(int layer) => layer == Layers - 1 ? Embedding : Hidden;

    /// <inheritdoc />
    public double TokensPerOperation => (double)Batch * Bptt;

    /// <inheritdoc />
    public double FlopsPerOperation
    {
        get
        {
            double perToken = 2.0 * Embedding * Vocab; // decoder
            for (int l = 0; l < Layers; l++)
            {
                perToken += 2.0 * 4 * HiddenSize(l) * (InputSize(l) + HiddenSize(l)); // 4 gates, input + recurrent matmuls
            }
            return 3 * perToken * TokensPerOperation;
        }
    }

    /// <inheritdoc />
    public double BytesPerOperation => 0;

    /// <inheritdoc />
    public override string ToString() => Name;
}
