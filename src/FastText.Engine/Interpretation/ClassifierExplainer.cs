using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Models.Classifier;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Interpretation;

/// <summary>
/// Why did the classifier decide? One score per token of a document, by two gradient methods on the embedding layer:
/// <list type="bullet">
/// <item><b>Intrinsic attention</b> (fastai v1's <c>intrinsic_attention</c>, Graves' "sequential Jacobian"): the gradient
/// of the class probability with respect to each token's embedding, its L1 norm per token, divided by the largest.
/// One backward pass; unsigned.</item>
/// <item><b>Integrated gradients</b> (Sundararajan et al. 2017): the gradient averaged along the straight path from a
/// baseline (every position holding the padding token's embedding) to the text, times the difference, summed per
/// token. Signed (positive = pushes towards the class); the scores add up to f(text) − f(baseline), which
/// <see cref="IntegratedGradients.CompletenessGap"/> checks.</item>
/// </list>
/// </summary>
/// <remarks>
/// <para>The function explained is the class probability the predictor returns: the encoder runs over the whole text in
/// eval mode (no dropout, BatchNorm on its running statistics) from a zero state, and the head pools the last
/// <see cref="ClassifierOptions.MaxLength"/> outputs, as the chunked <see cref="SentenceEncoder"/> does (chunking and
/// the detached state between chunks change no value, only which gradients a training step keeps). A text is explained
/// as a batch of one row without padding, so no pad enters the pooling.</para>
/// <para>Differences from fastai v1, on purpose: the max-length window is kept (fastai's ran the whole text through the
/// pooling too, so its explanation of a text longer than <c>max_len</c> explained another function than the one that
/// predicted); gradients are taken in fp32 whatever the model's <see cref="ComputePrecision"/> (bf16's rounding would
/// put noise of ~1e-2 into path integrals that must add up within 1 %), so a bf16 model's explained probability can
/// differ from its bf16 prediction in the third decimal.</para>
/// <para>A backwards classifier reads each text reversed: the explainer reverses the ids for the model and returns
/// scores in reading order.</para>
/// </remarks>
public sealed class ClassifierExplainer
{
    private readonly TextClassifier model;
    private readonly AwdLstmEncoder encoder;

    /// <summary>Explains <paramref name="model"/> (an AWD-LSTM classifier).</summary>
    /// <param name="model">The trained classifier.</param>
    /// <param name="backwards">The model was trained on reversed texts (<c>ClassifierArtifact.Backwards</c>).</param>
    public ClassifierExplainer(TextClassifier model, bool backwards = false)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        encoder = model.AwdLstmEncoder;
        Backwards = backwards;
    }

    /// <summary>Whether texts reach the model reversed.</summary>
    public bool Backwards { get; }

    /// <summary>Default path points of integrated gradients (Gauss–Legendre nodes; Captum's default too).</summary>
    public const int DefaultSteps = 50;

    /// <summary>Default cap of the refinement: while the completeness gap exceeds 1 %, the path points double up to this.</summary>
    /// <remarks>The classifier is only piecewise smooth along the path (max pooling switches its argmax, the head's
    /// ReLU its active units), so quadrature converges unevenly: on a tiny trained model 50 points left gaps of 0.1–4 %,
    /// 100 points ≤ 1.04 %, 200 points ≤ 1 %. Refining only the texts that need it keeps the usual cost at 50.</remarks>
    public const int DefaultMaxSteps = 400;

    /// <summary>Token positions per forward + backward pass of integrated gradients: a pass runs this many over the
    /// text's length path points at once (at least one). The recurrent steps are sequential, so more rows per pass is
    /// what makes their matrix products efficient; memory grows with it (at 128/384/3, ~0.7 GB at the default).</summary>
    public int TokensPerPass { get; init; } = 65536;

    /// <summary>
    /// Explains one document: its class probabilities, then both methods' token scores for <paramref name="target"/>
    /// (default: the predicted class).
    /// </summary>
    /// <param name="ids">Token ids in reading order (at least one).</param>
    /// <param name="target">Class whose probability is explained, or null for the predicted one.</param>
    /// <param name="steps">Integrated-gradients path points to start with (≥ 1).</param>
    /// <param name="maxSteps">While the completeness gap exceeds <see cref="IntegratedGradients.CompletenessTolerance"/>,
    /// the points double up to this (give <paramref name="steps"/> to use exactly that many).</param>
    public TokenAttribution Explain(IReadOnlyList<int> ids, int? target = null, int steps = DefaultSteps, int maxSteps = DefaultMaxSteps)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        maxSteps = Math.Max(maxSteps, steps);
        using var mode = new ExplanationMode(model);
        using var scope = NewDisposeScope();
        Tensor embedded = Embed(ids);                                                    // (T, E), detached
        float[] probabilities = Probabilities(embedded.unsqueeze(0)).squeeze(0).data<float>().ToArray();
        int classIndex = target is { } t ? CheckClass(t) : ArgMax(probabilities);
        float[] attention = IntrinsicAttentionOf(embedded, classIndex);
        IntegratedGradients integrated = IntegratedGradientsOf(embedded, classIndex, steps);
        while (!integrated.IsComplete && integrated.Steps * 2 <= maxSteps)
        {
            integrated = IntegratedGradientsOf(embedded, classIndex, integrated.Steps * 2);
        }
        return new TokenAttribution(ids.ToArray(), probabilities, classIndex, InReadingOrder(attention), integrated with
        {
            Scores = InReadingOrder(integrated.Scores),
        });
    }

    /// <summary>Intrinsic attention alone (one forward and one backward pass): per token in reading order, in [0, 1].</summary>
    public float[] IntrinsicAttention(IReadOnlyList<int> ids, int classIndex)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var mode = new ExplanationMode(model);
        using var scope = NewDisposeScope();
        return InReadingOrder(IntrinsicAttentionOf(Embed(ids), CheckClass(classIndex)));
    }

    /// <summary>Integrated gradients alone at exactly <paramref name="steps"/> path points (no refinement); scores in
    /// reading order.</summary>
    public IntegratedGradients IntegratedGradientsAt(IReadOnlyList<int> ids, int classIndex, int steps)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        using var mode = new ExplanationMode(model);
        using var scope = NewDisposeScope();
        IntegratedGradients result = IntegratedGradientsOf(Embed(ids), CheckClass(classIndex), steps);
        return result with { Scores = InReadingOrder(result.Scores) };
    }

    private int CheckClass(int classIndex) => classIndex >= 0 && classIndex < model.ClassCount
        ? classIndex
        : throw new ArgumentOutOfRangeException(nameof(classIndex), classIndex, $"The model has {model.ClassCount} classes.");

    /// <summary>Class probabilities of documents as the explained function computes them (eval, fp32, one row each);
    /// they equal the predictor's up to float rounding. Used by faithfulness checks that delete tokens.</summary>
    public float[] Probabilities(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var mode = new ExplanationMode(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Probabilities(Embed(ids).unsqueeze(0)).squeeze(0).data<float>().ToArray();
    }

    // fastai v1: Σ_dims |∂p/∂emb| per token, over its maximum.
    private float[] IntrinsicAttentionOf(Tensor embedded, int classIndex)
    {
        using var scope = NewDisposeScope();
        Tensor x = embedded.unsqueeze(0).detach().requires_grad_(true);                 // (1, T, E)
        Probabilities(x).select(1, classIndex).sum().backward();
        Tensor perToken = x.grad!.abs().sum(2).squeeze(0);                               // (T)
        float[] scores = perToken.data<float>().ToArray();
        float max = scores.Max();
        if (max > 0)
        {
            for (int i = 0; i < scores.Length; i++)
            {
                scores[i] /= max;
            }
        }
        return scores;
    }

    // ∫₀¹ ∂f/∂x(b + α(x − b)) dα by Gauss–Legendre quadrature (exact for polynomials of degree 2·steps − 1; a
    // Riemann sum needs several times the steps for the same completeness gap), then · (x − b) summed per token.
    private IntegratedGradients IntegratedGradientsOf(Tensor embedded, int classIndex, int steps)
    {
        using var scope = NewDisposeScope();
        long tokens = embedded.shape[0];
        Tensor baseline = encoder.EmbeddingWeight.detach()[encoder.Config.PadToken].expand(tokens, -1);   // (T, E)
        using Scalar minusOne = -1;                                                      // explicit alphas: Native/Scalars.cs
        Tensor difference = embedded.add(baseline, minusOne);
        var (nodes, weights) = GaussLegendre.OnUnitInterval(steps);
        Tensor gradientSum = zeros_like(embedded, dtype: ScalarType.Float64);
        int rowsPerPass = (int)Math.Clamp(TokensPerPass / tokens, 1, steps);
        for (int start = 0; start < steps; start += rowsPerPass)
        {
            int rows = Math.Min(rowsPerPass, steps - start);
            using var pass = NewDisposeScope();
            Tensor alphas = tensor(nodes.AsSpan(start, rows).ToArray(), ScalarType.Float32).view(rows, 1, 1);
            Tensor points = baseline.unsqueeze(0).add(alphas.mul(difference.unsqueeze(0)), Scalars.One).detach().requires_grad_(true);   // (rows, T, E)
            Probabilities(points).select(1, classIndex).sum().backward();
            Tensor w = tensor(weights.AsSpan(start, rows).ToArray(), ScalarType.Float64).view(rows, 1, 1);
            // sum(0, keepdim: …), not sum(0): a literal 0 converts to ScalarType and sum(ScalarType) reduces everything (traps.md).
            gradientSum.add_(points.grad!.to(ScalarType.Float64).mul(w).sum(0, keepdim: false), Scalars.One);
        }
        double[] scores = gradientSum.mul(difference.to(ScalarType.Float64)).sum(1).data<double>().ToArray();
        double atText, atBaseline;
        using (no_grad())
        {
            atText = Probabilities(embedded.unsqueeze(0))[0, classIndex].item<float>();
            atBaseline = Probabilities(baseline.unsqueeze(0))[0, classIndex].item<float>();
        }
        return new IntegratedGradients(scores.Select(s => (float)s).ToArray(), steps, scores.Sum(), atText, atBaseline);
    }

    private Tensor Embed(IReadOnlyList<int> ids)
    {
        if (ids.Count == 0)
        {
            throw new ArgumentException("A text to explain needs at least one token.", nameof(ids));
        }
        long vocabulary = encoder.VocabularySize;
        long[] modelOrder = new long[ids.Count];
        for (int i = 0; i < modelOrder.Length; i++)
        {
            int id = ids[Backwards ? ids.Count - 1 - i : i];
            if (id < 0 || id >= vocabulary)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} at position {i} is outside the model's vocabulary of {vocabulary}.");
            }
            modelOrder[i] = id;
        }
        using Tensor index = tensor(modelOrder, ScalarType.Int64);
        return encoder.EmbeddingWeight.detach().index_select(0, index);                   // (T, E), no embedding dropout
    }

    // (rows, T, E) embeddings → (rows, classes) probabilities; differentiable in the embeddings.
    private Tensor Probabilities(Tensor embedded)
    {
        using var scope = NewDisposeScope();
        long rows = embedded.shape[0], tokens = embedded.shape[1];
        encoder.Reset();
        Tensor output = encoder.ForwardEmbeddings(embedded);                              // (rows, T, E), fp32
        encoder.Reset();
        Tensor padMask = zeros(rows, tokens, ScalarType.Bool);
        long window = model.Options.MaxLength;
        if (tokens > window)
        {
            using Scalar pad = true;
            padMask.narrow(1, 0, tokens - window).fill_(pad);                              // outside the pooled window
        }
        Tensor logits = model.Head.call(output.to(ScalarType.Float32), padMask);
        return nn.functional.softmax(logits.to(ScalarType.Float32), 1).MoveToOuterDisposeScope();
    }

    private float[] InReadingOrder(float[] scores)
    {
        if (Backwards)
        {
            Array.Reverse(scores);
        }
        return scores;
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }

    // Eval mode in fp32 for the explanation, with the parameters out of autograd (the gradients wanted are the inputs'
    // alone: the backward pass then skips every weight-gradient product); the model's own mode, precision, trainable
    // parameters and state afterwards.
    private sealed class ExplanationMode : IDisposable
    {
        private readonly TextClassifier model;
        private readonly bool wasTraining;
        private readonly ComputePrecision precision;
        private readonly List<Parameter> trainable;

        public ExplanationMode(TextClassifier model)
        {
            this.model = model;
            wasTraining = model.training;
            precision = model.Precision;
            model.eval();
            model.Precision = ComputePrecision.Float32;
            trainable = model.parameters().Where(p => p.requires_grad).ToList();
            foreach (Parameter p in trainable)
            {
                p.requires_grad = false;
            }
        }

        public void Dispose()
        {
            foreach (Parameter p in trainable)
            {
                p.requires_grad = true;
            }
            model.AwdLstmEncoder.Reset();
            model.Precision = precision;
            model.train(wasTraining);
        }
    }
}
