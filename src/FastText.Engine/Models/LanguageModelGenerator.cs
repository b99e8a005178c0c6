using FastText.Engine.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>Sampling options (fastai <c>LMLearner.predict</c>).</summary>
/// <param name="Temperature">Softmax temperature: probabilities ∝ p^(1/T) (fastai <c>temperature</c>, 1).</param>
/// <param name="NoUnknown">Never sample <c>xxunk</c> (fastai <c>no_unk</c>, true).</param>
/// <param name="UnknownToken">Id of <c>xxunk</c> (0).</param>
/// <param name="MinimumProbability">Zero probabilities below this before sampling (fastai <c>min_p</c>), or null.</param>
/// <param name="Seed">Seed of a private generator (reproducible samples), or null for torch's global generator.</param>
public sealed record GenerationOptions(double Temperature = 1.0, bool NoUnknown = true, int UnknownToken = 0,
    double? MinimumProbability = null, long? Seed = null);

/// <summary>
/// Text generation from an <see cref="AwdLstmLanguageModel"/>, incremental: the prompt runs once, then each step feeds only
/// the newly sampled token with the recurrent state carried — O(n), where fastai re-runs the whole text each step (O(n²)).
/// The result is ids; decode them with the vocabulary (and the special-token rules) of the text pipeline.
/// </summary>
public static class LanguageModelGenerator
{
    /// <summary>Samples <paramref name="count"/> ids following <paramref name="prompt"/> (which should start with <c>xxbos</c>).</summary>
    public static int[] Generate(AwdLstmLanguageModel model, IReadOnlyList<int> prompt, int count, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (prompt.Count == 0)
        {
            throw new ArgumentException("The prompt must hold at least one id (xxbos).", nameof(prompt));
        }
        options ??= new GenerationOptions();
        if (!(options.Temperature > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Temperature, "The temperature must be positive.");
        }
        bool wasTraining = model.training;
        using Generator? generator = options.Seed is { } seed ? new Generator((ulong)seed) : null;
        var result = new int[count];
        model.eval();
        model.Reset();
        try
        {
            using (torch.no_grad())
            {
                using Tensor promptIds = torch.tensor(prompt.Select(i => (long)i).ToArray(), ScalarType.Int64).unsqueeze(0);  // (1, len)
                Tensor? last = LastLogits(model, promptIds);                                                                       // (vocab)
                for (int i = 0; i < count; i++)
                {
                    using var scope = torch.NewDisposeScope();
                    // Masks are applied to logits (−∞), not by zeroing probabilities: at low temperature every other
                    // probability can underflow to 0, and zeroing the one survivor would leave nothing to sample.
                    Tensor logits = last!.clone();
                    if (options.NoUnknown)
                    {
                        logits[options.UnknownToken] = float.NegativeInfinity;
                    }
                    if (options.MinimumProbability is { } minimum)
                    {
                        Tensor tooRare = logits.softmax(0) < minimum;          // fastai applies min_p at temperature 1
                        if (!tooRare.all().item<bool>())
                        {
                            logits.masked_fill_(tooRare, Scalars.NegativeInfinity);
                        }
                    }
                    Tensor probabilities = (logits / options.Temperature).softmax(0);   // ≡ p^(1/T), renormalised
                    long next = torch.multinomial(probabilities, 1, generator: generator).item<long>();
                    result[i] = (int)next;
                    last.Dispose();
                    using Tensor nextId = torch.tensor(new[] { next }, ScalarType.Int64).unsqueeze(0);                            // (1, 1)
                    last = LastLogits(model, nextId).MoveToOuterDisposeScope();
                }
                last?.Dispose();
            }
        }
        finally
        {
            model.Reset();
            model.train(wasTraining);
        }
        return result;
    }

    // Decodes only the last position: generation never needs the other positions' logits.
    private static Tensor LastLogits(AwdLstmLanguageModel model, Tensor ids)
    {
        using var scope = torch.NewDisposeScope();
        LanguageModelOutput output = model.call(ids);                               // (1, len, emb)
        Tensor lastFeature = output.Dropped.select(1, -1);                          // (1, emb)
        return model.Decode(lastFeature).squeeze(0).MoveToOuterDisposeScope();       // (vocab) fp32
    }
}
