using FastText.Engine.Data;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Models.Classifier;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;
using FastText.Engine.Training;
using FastText.Engine.Training.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Interpretation;

/// <summary>A tiny classifier trained on texts whose label is 1 exactly when token 7 occurs (trained once per class).</summary>
public sealed class SignalModel : IDisposable
{
    public const int Signal = 7;

    public SignalModel()
    {
        var random = new Random(5);
        var documents = new List<int[]>();
        var labels = new List<int>();
        for (int i = 0; i < 200; i++)
        {
            int[] doc = Enumerable.Range(0, random.Next(6, 20)).Select(_ => 8 + random.Next(ClassifierExplainerTests.Vocabulary - 9)).ToArray();
            int label = i % 2;
            if (label == 1)
            {
                doc[random.Next(doc.Length)] = Signal;
            }
            documents.Add(doc);
            labels.Add(label);
        }
        var corpus = new InMemoryTokenCorpus(documents, labels, ["no", "yes"]);
        var train = new ClassifierLoader(corpus, ClassifierLoaderOptions.Training with { BatchSize = 16, SequenceLength = 12, Seed = 3 },
            Enumerable.Range(0, 160).ToArray());
        TorchTestSetup.Use();
        torch.manual_seed(5);
        Model = TextClassifier.Create(ClassifierExplainerTests.Vocabulary, TinyModels.Config(), 2, bptt: 12, maxLength: 240);
        using (var learner = new Learner<ClassifierBatch>(new ClassifierTask(Model), train))
        {
            learner.FitOneCycle(5, 5e-2);
        }
        HeldOut = Enumerable.Range(160, 40).Select(i => (documents[i], labels[i])).ToList();
    }

    public TextClassifier Model { get; }

    public IReadOnlyList<(int[] Document, int Label)> HeldOut { get; }

    public void Dispose() => Model.Dispose();
}

[Collection(SequentialTorchCollection.Name)]
public sealed class ClassifierExplainerTests(SignalModel signal) : IClassFixture<SignalModel>
{
    internal const int Vocabulary = 50;

    private static TextClassifier Untrained(int seed, int maxLength = 16)
    {
        torch.manual_seed(seed);
        return TextClassifier.Create(Vocabulary, TinyModels.Config(), 2, bptt: 12, maxLength: maxLength);
    }

    private static int[] Document(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => 2 + random.Next(Vocabulary - 2)).ToArray();
    }

    [Fact]
    public void Gauss_legendre_integrates_polynomials_of_degree_2n_minus_1_exactly()
    {
        var (nodes, weights) = GaussLegendre.OnUnitInterval(5);
        Assert.Equal(1.0, weights.Sum(), 12);
        Assert.Equal(0.1, nodes.Zip(weights, (x, w) => w * Math.Pow(x, 9)).Sum(), 12);       // ∫₀¹ t⁹ = 1/10
        Assert.NotEqual(1.0 / 11, nodes.Zip(weights, (x, w) => w * Math.Pow(x, 10)).Sum(), 6); // degree 10 is not exact
        Assert.True(nodes.Zip(nodes.Skip(1), (a, b) => a < b).All(x => x) && nodes[0] > 0 && nodes[^1] < 1);
        var (one, oneWeight) = GaussLegendre.OnUnitInterval(1);
        Assert.Equal(0.5, one[0], 12);
        Assert.Equal(1.0, oneWeight[0], 12);
    }

    [Theory]
    [InlineData(5)]      // shorter than a chunk
    [InlineData(30)]     // several chunks, all pooled
    [InlineData(45)]     // longer than the pooled window: the first 29 outputs are not pooled
    public void The_explained_probability_is_the_predictors(int length)
    {
        using TextClassifier model = Untrained(seed: 1);
        int[] ids = Document(length, seed: length);
        float[] predicted = new ClassifierPredictor(model, ["a", "b"]).Probabilities([ids])[0];
        TokenAttribution explained = new ClassifierExplainer(model).Explain(ids, steps: 4);
        Assert.Equal(predicted[0], explained.Probabilities[0], 5);
        Assert.Equal(predicted[1], explained.Probabilities[1], 5);
        Assert.Equal(length, explained.IntrinsicAttention.Length);
        Assert.Equal(length, explained.IntegratedGradients.Scores.Length);
    }

    [Fact]
    public void Integrated_gradients_add_up_to_the_probability_change_from_the_baseline()
    {
        using TextClassifier model = Untrained(seed: 2);
        var explainer = new ClassifierExplainer(model);
        foreach (int length in new[] { 6, 25, 40 })
        {
            IntegratedGradients ig = explainer.Explain(Document(length, seed: 100 + length)).IntegratedGradients;
            Assert.True(ig.IsComplete, $"length {length}: Σ {ig.Sum:G6} vs f(x) − f(b) = {ig.AtText - ig.AtBaseline:G6}, gap {ig.CompletenessGap:P3}");
            Assert.InRange(ig.Steps, ClassifierExplainer.DefaultSteps, ClassifierExplainer.DefaultMaxSteps);
        }
        // One path point is a midpoint rule: far from complete on a curved path, so the check can fail.
        IntegratedGradients coarse = explainer.Explain(Document(40, seed: 140), steps: 1, maxSteps: 1).IntegratedGradients;
        Assert.Equal(1, coarse.Steps);
        IntegratedGradients fine = explainer.Explain(Document(40, seed: 140)).IntegratedGradients;
        Assert.True(coarse.CompletenessGap > fine.CompletenessGap, $"1 step {coarse.CompletenessGap:P3}, 50 steps {fine.CompletenessGap:P3}");
    }

    [Fact]
    public void The_refinement_halves_the_parts_that_miss_and_converges_to_the_fine_integral_token_by_token()
    {
        using TextClassifier model = Untrained(seed: 2);
        // Embeddings 8× and the head's linear layers 4× as large: the LSTMs saturate and the logits grow, so the
        // probability bends sharply along the path and one point over the whole of it misses by far; the refinement may
        // add six halvings (16 points each half).
        using (torch.no_grad())
        {
            using Scalar four = 4, eight = 8;
            model.AwdLstmEncoder.EmbeddingWeight.mul_(eight);
            foreach (var weight in model.Head.parameters().Where(p => p.dim() == 2))
            {
                weight.mul_(four);
            }
        }
        var explainer = new ClassifierExplainer(model);
        int[] ids = Document(40, seed: 140);
        IntegratedGradients single = explainer.IntegratedGradientsAt(ids, 0, 1);
        Assert.False(single.IsComplete, $"one point: Σ {single.Sum:G6}, f(x) {single.AtText:G6}, f(b) {single.AtBaseline:G6}");
        TokenAttribution explained = explainer.Explain(ids, steps: 1, maxSteps: 1 + 6 * 2 * ClassifierExplainer.PointsPerRefinedPart);
        IntegratedGradients refined = explained.IntegratedGradients;
        Assert.True(refined.PathParts > 1, $"{refined.PathParts} parts");
        Assert.Equal(1 + (refined.PathParts - 1) * 2 * ClassifierExplainer.PointsPerRefinedPart, refined.Steps);
        Assert.True(refined.IsComplete, $"gap {refined.CompletenessGap:P3} with {refined.Steps} points in {refined.PathParts} parts");
        // Not only the sum: every token's score is the path integral a fine single rule computes.
        IntegratedGradients reference = explainer.IntegratedGradientsAt(ids, explained.ClassIndex, 400);
        Assert.Equal(1, reference.PathParts);
        float scale = reference.Scores.Max(Math.Abs);
        for (int i = 0; i < ids.Length; i++)
        {
            Assert.True(Math.Abs(refined.Scores[i] - reference.Scores[i]) <= 0.02 * scale,
                $"token {i}: refined {refined.Scores[i]:G5}, 400-point rule {reference.Scores[i]:G5} (largest {scale:G5})");
        }
    }

    [Fact]
    public void Intrinsic_attention_is_the_normalised_gradient_norm_per_token()
    {
        using TextClassifier model = Untrained(seed: 3);
        var explainer = new ClassifierExplainer(model);
        int[] ids = Document(10, seed: 3);
        TokenAttribution a = explainer.Explain(ids, steps: 2);
        Assert.Equal(1f, a.IntrinsicAttention.Max(), 6);
        // Central differences of p(class) in each embedding dimension of two tokens, from the embedding matrix itself.
        double L1(int position)
        {
            double sum = 0;
            for (int d = 0; d < TinyModels.Config().EmbeddingSize; d++)
            {
                sum += Math.Abs(Difference(model, explainer, ids, position, d, a.ClassIndex));
            }
            return sum;
        }
        int top = a.Ranking(AttributionMethod.IntrinsicAttention)[0], other = a.Ranking(AttributionMethod.IntrinsicAttention)[^1];
        double ratio = L1(other) / L1(top);
        Assert.InRange(a.IntrinsicAttention[other], ratio * 0.9 - 0.01, ratio * 1.1 + 0.01);
    }

    // ∂p/∂e[d] at one position, by perturbing that token's embedding row (the token occurs once in the text).
    private static double Difference(TextClassifier model, ClassifierExplainer explainer, int[] ids, int position, int dimension, int classIndex)
    {
        // A fresh id whose row is a copy of the token's, perturbed: other occurrences of the token stay unchanged.
        const int Spare = Vocabulary - 1;
        var copy = (int[])ids.Clone();
        copy[position] = Spare;
        Tensor weight = model.AwdLstmEncoder.EmbeddingWeight;
        const float h = 2e-2f;
        double Probability(float delta)
        {
            using (torch.no_grad())
            {
                weight[Spare].copy_(weight[ids[position]]);
                weight[Spare, dimension].add_(delta);
            }
            return explainer.Probabilities(copy)[classIndex];
        }
        using (torch.no_grad())
        {
            using Tensor saved = weight[Spare].clone();
            double derivative = (Probability(h) - Probability(-h)) / (2 * h);
            weight[Spare].copy_(saved);
            return derivative;
        }
    }

    [Fact]
    public void On_a_model_that_learned_one_signal_token_both_methods_point_at_it()
    {
        var explainer = new ClassifierExplainer(signal.Model);
        int right = 0, igFirst = 0, iaAboveMedian = 0, complete = 0, positives = 0;
        foreach (var (doc, label) in signal.HeldOut)
        {
            TokenAttribution a = explainer.Explain(doc);
            right += a.ClassIndex == label ? 1 : 0;
            if (label == 1 && a.ClassIndex == 1)
            {
                positives++;
                int at = Array.IndexOf(doc, SignalModel.Signal);
                igFirst += a.Ranking(AttributionMethod.IntegratedGradients)[0] == at ? 1 : 0;
                iaAboveMedian += Array.IndexOf(a.Ranking(AttributionMethod.IntrinsicAttention), at) < doc.Length / 2 ? 1 : 0;
                complete += a.IntegratedGradients.IsComplete ? 1 : 0;
            }
        }
        Assert.True(right >= 36, $"the model learned the rule on {right}/40 held-out texts");
        Assert.True(igFirst >= positives * 0.9, $"integrated gradients ranked the signal first in {igFirst}/{positives}");
        // The gradient norm saturates where the model is sure (p ≈ 0.99 here), so intrinsic attention is the weaker
        // method: on this model one run put the signal first in 1 of 20 texts, but in the upper half in 18 of 20.
        Assert.True(iaAboveMedian >= positives * 0.7, $"intrinsic attention ranked the signal in the upper half in {iaAboveMedian}/{positives}");
        Assert.Equal(positives, complete);          // refined until Σ IG is within 1 % of f(x) − f(b)
    }

    [Fact]
    public void Deleting_the_top_attributed_token_costs_more_than_deleting_a_random_one()
    {
        var positives = signal.HeldOut.Where(x => x.Label == 1).Select(x => x.Document).ToList();
        DeletionResult result = new DeletionCurve(new ClassifierExplainer(signal.Model)) { RandomDraws = 2 }.Measure(positives, [1, 3]);
        DeletionPoint one = result.Points[0];
        Assert.Equal((1, positives.Count), (one.Deleted, one.Texts));
        Assert.True(one.IntegratedGradients > 0.25, $"deleting the top IG token dropped p by {one.IntegratedGradients:F3} (it is the signal; random {one.Random:F3})");
        Assert.True(one.IntegratedGradients > 4 * one.Random, $"IG {one.IntegratedGradients:F3} vs random {one.Random:F3}");
        Assert.True(result.Points[1].Random > one.Random, "three random deletions hit the signal more often than one");
        Assert.Equal(positives.Count, result.CompletenessGaps.Count);
        Assert.Throws<ArgumentException>(() => new DeletionCurve(new ClassifierExplainer(signal.Model)).Measure(positives, [0]));
    }

    [Fact]
    public void Each_method_alone_gives_what_the_full_explanation_gives()
    {
        using TextClassifier model = Untrained(seed: 7);
        var explainer = new ClassifierExplainer(model, backwards: true);
        int[] ids = Document(15, seed: 7);
        TokenAttribution full = explainer.Explain(ids, target: 0, steps: 12, maxSteps: 12);
        Assert.Equal(full.IntrinsicAttention, explainer.IntrinsicAttention(ids, 0));
        IntegratedGradients alone = explainer.IntegratedGradientsAt(ids, 0, 12);
        Assert.Equal(full.IntegratedGradients.Scores, alone.Scores);
        Assert.Equal(full.IntegratedGradients.Sum, alone.Sum, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => explainer.IntrinsicAttention(ids, 5));
    }

    [Fact]
    public void A_backwards_model_is_explained_in_reading_order()
    {
        using TextClassifier model = Untrained(seed: 4);
        int[] ids = Document(20, seed: 4);
        TokenAttribution backwards = new ClassifierExplainer(model, backwards: true).Explain(ids, steps: 8);
        TokenAttribution reversed = new ClassifierExplainer(model).Explain(ids.Reverse().ToArray(), steps: 8);
        Assert.Equal(reversed.Probabilities, backwards.Probabilities);
        Assert.Equal(reversed.IntrinsicAttention.Reverse(), backwards.IntrinsicAttention);
        Assert.Equal(reversed.IntegratedGradients.Scores.Reverse(), backwards.IntegratedGradients.Scores);
    }

    [Fact]
    public void Explaining_leaves_the_model_as_it_was_and_refuses_bad_ids_clearly()
    {
        using TextClassifier model = Untrained(seed: 6);
        model.Precision = ComputePrecision.BFloat16;
        model.train();
        model.parameters().First().requires_grad = false;                          // as after freeze_to: stays frozen
        bool[] trainable = model.parameters().Select(p => p.requires_grad).ToArray();
        var explainer = new ClassifierExplainer(model);
        explainer.Explain(Document(8, seed: 6), steps: 2);
        Assert.Equal(ComputePrecision.BFloat16, model.Precision);
        Assert.True(model.training);
        Assert.Equal(trainable, model.parameters().Select(p => p.requires_grad));  // out of autograd only while explaining
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => explainer.Explain([3, 4, Vocabulary + 5]));
        Assert.Contains("position 2", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => explainer.Explain([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => explainer.Explain([3, 4], target: 2));
    }
}
