using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Interpretation;

/// <summary>One candidate for the next token.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Token">The token as the vocabulary spells it.</param>
/// <param name="Probability">The model's probability for it.</param>
public sealed record NextToken(int Id, string Token, double Probability);

/// <summary>A token near another in the embedding space.</summary>
/// <param name="Id">Token id.</param>
/// <param name="Token">The token.</param>
/// <param name="Cosine">Cosine similarity of the two embedding rows.</param>
public sealed record Neighbour(int Id, string Token, double Cosine);

/// <summary>How surprised the language model was by one token of a text.</summary>
/// <param name="Token">The token.</param>
/// <param name="Probability">p(token | the tokens before it).</param>
/// <param name="Expected">What the model expected there instead, most likely first.</param>
public sealed record TokenSurprisal(string Token, double Probability, IReadOnlyList<NextToken> Expected)
{
    /// <summary>Surprisal in bits, −log₂ p.</summary>
    public double Bits => -Math.Log2(Math.Max(Probability, 1e-300));
}

/// <summary>
/// What did the language model learn? Two views of a forward <see cref="AwdLstmLanguageModel"/> (eval mode, no
/// dropout, from a zero state, as <c>generate</c> runs it): the most likely next tokens after a prompt, and the surprisal
/// of every token of a text given the ones before it (where is the model surprised?). 2^(mean bits) of a text is the
/// model's perplexity on it.
/// </summary>
public sealed class LanguageModelLens
{
    private const int PositionsPerDecode = 256;   // logits of 256 positions × a 60k vocabulary: 61 MB at a time
    private readonly AwdLstmLanguageModel model;
    private readonly Vocabulary vocabulary;

    /// <summary>Views of <paramref name="model"/>, whose tokens <paramref name="vocabulary"/> spells.</summary>
    public LanguageModelLens(AwdLstmLanguageModel model, Vocabulary vocabulary)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        this.vocabulary = vocabulary ?? throw new ArgumentNullException(nameof(vocabulary));
    }

    /// <summary>The <paramref name="count"/> most likely tokens to follow <paramref name="prompt"/> (ids, reading order).</summary>
    public IReadOnlyList<NextToken> NextTokens(IReadOnlyList<int> prompt, int count = 10)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        using var scope = NewDisposeScope();
        Tensor logProbabilities = LogProbabilities(prompt, prompt.Count - 1, 1);           // (1, vocab)
        return Top(logProbabilities[0], count);
    }

    /// <summary>Per token after the first (which has nothing before it): its probability and the model's top
    /// <paramref name="alternatives"/> at that position.</summary>
    public IReadOnlyList<TokenSurprisal> Surprisal(IReadOnlyList<int> ids, int alternatives = 3)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfNegative(alternatives);
        var result = new List<TokenSurprisal>(Math.Max(0, ids.Count - 1));
        if (ids.Count < 2)
        {
            return result;
        }
        using var scope = NewDisposeScope();
        Tensor all = LogProbabilities(ids, 0, ids.Count - 1);                                  // (T − 1, vocab): position t predicts t + 1
        for (int t = 1; t < ids.Count; t++)
        {
            Tensor row = all[t - 1];
            double p = Math.Exp(row[ids[t]].item<float>());
            result.Add(new TokenSurprisal(vocabulary[ids[t]], p, alternatives == 0 ? [] : Top(row, alternatives)));
        }
        return result;
    }

    /// <summary>The <paramref name="count"/> tokens whose embeddings are closest by cosine to <paramref name="token"/>'s
    /// (the tied embedding: the same matrix scores the decoder's outputs), or null when the vocabulary lacks the token.</summary>
    public IReadOnlyList<Neighbour>? Neighbours(string token, int count = 10)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (!vocabulary.Contains(token))
        {
            return null;
        }
        int id = vocabulary.IdOf(token);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor weight = model.Encoder.EmbeddingWeight.detach().to(ScalarType.Float32);
        Tensor unit = nn.functional.normalize(weight, p: 2, dim: 1);                      // rows of length 1
        Tensor cosine = unit.matmul(unit[id]);                                             // (vocab)
        cosine[id].fill_(Scalars.NegativeInfinity);                                        // not itself
        var (values, indices) = cosine.topk(Math.Min(count, (int)cosine.shape[0] - 1));
        float[] v = values.data<float>().ToArray();
        long[] i = indices.data<long>().ToArray();
        return v.Select((c, k) => new Neighbour((int)i[k], vocabulary[(int)i[k]], c)).ToList();
    }

    // Log-probabilities of the next token at positions [first, first + count) of one run over ids.
    private Tensor LogProbabilities(IReadOnlyList<int> ids, int first, int count)
    {
        if (ids.Count == 0)
        {
            throw new ArgumentException("The text needs at least one token (xxbos).", nameof(ids));
        }
        for (int i = 0; i < ids.Count; i++)
        {
            if (ids[i] < 0 || ids[i] >= vocabulary.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Token id {ids[i]} at position {i} is outside the vocabulary of {vocabulary.Count}.");
            }
        }
        bool wasTraining = model.training;
        model.eval();
        model.Reset();
        try
        {
            using var noGrad = no_grad();
            using Tensor input = tensor(ids.Select(i => (long)i).ToArray(), ScalarType.Int64).unsqueeze(0);
            Tensor features = model.call(input).Dropped.squeeze(0);                             // (T, emb), no dropout in eval
            var parts = new List<Tensor>();
            for (int start = first; start < first + count; start += PositionsPerDecode)
            {
                int n = Math.Min(PositionsPerDecode, first + count - start);
                parts.Add(model.Decode(features.narrow(0, start, n)).to(ScalarType.Float32).log_softmax(1));
            }
            return parts.Count == 1 ? parts[0] : cat(parts, 0);
        }
        finally
        {
            model.Reset();
            model.train(wasTraining);
        }
    }

    private List<NextToken> Top(Tensor logProbabilities, int count)
    {
        var (values, indices) = logProbabilities.topk(Math.Min(count, (int)logProbabilities.shape[0]));
        float[] v = values.data<float>().ToArray();
        long[] i = indices.data<long>().ToArray();
        return v.Select((lp, k) => new NextToken((int)i[k], vocabulary[(int)i[k]], Math.Exp(lp))).ToList();
    }
}

/// <summary>Lenses on saved language models.</summary>
public static class LanguageModelArtifactLens
{
    /// <summary>A lens on <paramref name="model"/> (forward models only: a backwards model predicts what precedes).</summary>
    /// <exception cref="InvalidDataException">The model reads text backwards.</exception>
    public static LanguageModelLens CreateLens(this LanguageModelArtifact artifact, AwdLstmLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        artifact.EnsureDirection(false, "the language model", "the next-token and surprisal views");
        return new LanguageModelLens(model, artifact.Vocabulary);
    }
}
