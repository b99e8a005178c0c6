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

    /// <summary>Default cap of the refinement: while the completeness gap exceeds 1 %, parts of the path are refined
    /// until this many path points have been used in all.</summary>
    /// <remarks>The classifier is only piecewise smooth along the path (max pooling switches its argmax, the head's
    /// ReLU its active units) and its probability can turn within a few thousandths of the path, so one quadrature
    /// rule over the whole path converges unevenly: doubling a single 50-point rule up to 400 left 7 of 40 demo mails
    /// above 1 % (up to 31 %). The refinement is therefore local (see <see cref="Explain"/>): it spends points only
    /// where the path's own check fails. On the same 40 mails (perf-results/AttributionFaithfulness-demo.md) 9 passed
    /// at 50 points, the median needed 146 and the hardest 786: all 40 within 1 %.</remarks>
    public const int DefaultMaxSteps = 1000;

    /// <summary>Gauss–Legendre points of each half a refined part of the path is split into.</summary>
    internal const int PointsPerRefinedPart = 16;

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
    /// <param name="maxSteps">Cap of the refinement, in path points used in all (give <paramref name="steps"/> to use
    /// exactly that many).</param>
    /// <remarks>The refinement checks each part of the path on its own: the scores a part [a, b] contributes must add
    /// up to f(b) − f(a), just as the whole path's must add up to f(text) − f(baseline) (the parts' differences telescope
    /// to the whole's). While the whole path's gap exceeds <see cref="IntegratedGradients.CompletenessTolerance"/>, the
    /// part with the largest own gap is halved, each half integrated with <see cref="PointsPerRefinedPart"/> points (one
    /// forward pass more for f at the midpoint): the points go where the probability bends or a max-pool switches, not
    /// everywhere.</remarks>
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
        IntegratedGradients integrated = new IntegrationPath(this, embedded, classIndex).Integrate(steps, maxSteps);
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
        IntegratedGradients result = new IntegrationPath(this, Embed(ids), CheckClass(classIndex)).Integrate(steps, steps);
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

    // The straight path from the all-padding baseline b to the text x, integrated part by part:
    // ∫ₐᵇ ∂f/∂x(b + α(x − b)) dα by Gauss–Legendre quadrature (exact for polynomials of degree 2·points − 1; a Riemann
    // sum needs several times the points for the same gap), then · (x − b) summed per token.
    private sealed class IntegrationPath
    {
        private readonly ClassifierExplainer explainer;
        private readonly Tensor baseline, difference;
        private readonly int classIndex;

        public IntegrationPath(ClassifierExplainer explainer, Tensor embedded, int classIndex)
        {
            this.explainer = explainer;
            this.classIndex = classIndex;
            long tokens = embedded.shape[0];
            baseline = explainer.encoder.EmbeddingWeight.detach()[explainer.encoder.Config.PadToken].expand(tokens, -1);   // (T, E)
            using Scalar minusOne = -1;                                                  // explicit alphas: Native/Scalars.cs
            difference = embedded.add(baseline, minusOne);
        }

        // One rule of `steps` points over the whole path, then the worst part halved while the gap is above the
        // tolerance and the points allow.
        public IntegratedGradients Integrate(int steps, int maxSteps)
        {
            var parts = new List<Part> { Over(0, 1, steps, At(0), At(1)) };
            double expected = parts[0].AtTo - parts[0].AtFrom;
            int used = steps;
            while (used + 2 * PointsPerRefinedPart <= maxSteps && !Complete(parts, expected))
            {
                int worst = 0;
                for (int i = 1; i < parts.Count; i++)
                {
                    if (Math.Abs(parts[i].Gap) > Math.Abs(parts[worst].Gap))
                    {
                        worst = i;
                    }
                }
                Part split = parts[worst];
                double middle = (split.From + split.To) / 2, atMiddle = At(middle);
                parts[worst] = Over(split.From, middle, PointsPerRefinedPart, split.AtFrom, atMiddle);
                parts.Insert(worst + 1, Over(middle, split.To, PointsPerRefinedPart, atMiddle, split.AtTo));
                used += 2 * PointsPerRefinedPart;
            }
            var scores = new double[difference.shape[0]];
            foreach (Part part in parts)
            {
                for (int i = 0; i < scores.Length; i++)
                {
                    scores[i] += part.Scores[i];
                }
            }
            return new IntegratedGradients(scores.Select(s => (float)s).ToArray(), used, scores.Sum(), parts[^1].AtTo, parts[0].AtFrom)
            {
                PathParts = parts.Count,
            };
        }

        private static bool Complete(List<Part> parts, double expected) =>
            IntegratedGradients.GapOf(parts.Sum(p => p.Scores.Sum()), expected) <= IntegratedGradients.CompletenessTolerance;

        // f(b + α(x − b)): the explained class's probability at one point of the path.
        private double At(double alpha)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            using Scalar a = alpha;
            Tensor point = baseline.add(difference, a).unsqueeze(0);
            return explainer.Probabilities(point)[0, classIndex].item<float>();
        }

        private Part Over(double from, double to, int points, double atFrom, double atTo)
        {
            using var scope = NewDisposeScope();
            long tokens = difference.shape[0];
            var (nodes, weights) = GaussLegendre.OnUnitInterval(points);
            double width = to - from;
            Tensor gradientSum = zeros_like(difference, dtype: ScalarType.Float64);
            int rowsPerPass = (int)Math.Clamp(explainer.TokensPerPass / tokens, 1, points);
            for (int start = 0; start < points; start += rowsPerPass)
            {
                int rows = Math.Min(rowsPerPass, points - start);
                using var pass = NewDisposeScope();
                float[] alphas = nodes.AsSpan(start, rows).ToArray().Select(x => (float)(from + width * x)).ToArray();
                Tensor alpha = tensor(alphas, ScalarType.Float32).view(rows, 1, 1);
                Tensor path = baseline.unsqueeze(0).add(alpha.mul(difference.unsqueeze(0)), Scalars.One).detach().requires_grad_(true);   // (rows, T, E)
                explainer.Probabilities(path).select(1, classIndex).sum().backward();
                double[] scaled = weights.AsSpan(start, rows).ToArray().Select(w => w * width).ToArray();
                Tensor w = tensor(scaled, ScalarType.Float64).view(rows, 1, 1);
                // sum(0, keepdim: …), not sum(0): a literal 0 converts to ScalarType and sum(ScalarType) reduces everything (traps.md).
                gradientSum.add_(path.grad!.to(ScalarType.Float64).mul(w).sum(0, keepdim: false), Scalars.One);
            }
            double[] scores = gradientSum.mul(difference.to(ScalarType.Float64)).sum(1).data<double>().ToArray();
            return new Part(from, to, scores, atFrom, atTo);
        }

        // A part [From, To] of the path, its per-token scores and its own completeness gap.
        private sealed record Part(double From, double To, double[] Scores, double AtFrom, double AtTo)
        {
            public double Gap => Scores.Sum() - (AtTo - AtFrom);
        }
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
