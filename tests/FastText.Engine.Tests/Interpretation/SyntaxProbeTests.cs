using FastText.Engine.Data;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Tests.Training;
using FastText.Engine.Training;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Interpretation;

[Collection(SequentialTorchCollection.Name)]
public sealed class SyntaxProbeTests
{
    private static readonly Vocabulary Words = Vocabulary.FromTokens([.. SpecialTokens.All, "the", "jury", "said", "do", "n't", "d", "p", "x", ".", "a", "b"]);

    private static int Id(string token) => Words.IdOf(token);

    [Fact]
    public void Each_word_is_read_at_its_first_token_that_is_not_a_case_marker()
    {
        var probe = new SyntaxProbe(Tokenization.Words, Words);
        AlignedSentence aligned = probe.Align(["The", "JURY", "said", "don't", "zebra", "."]);
        // fastai's rules: xxmaj before a capitalised word, xxup before an all-caps one, "don't" → do n't; unknown → xxunk.
        Assert.Equal(new[] { SpecialTokens.BeginningOfStreamId, SpecialTokens.CapitalizedId, Id("the"), SpecialTokens.AllCapsId, Id("jury"),
            Id("said"), Id("do"), Id("n't"), SpecialTokens.UnknownId, Id(".") }, aligned.Ids);
        Assert.Equal(new[] { 2, 4, 5, 6, 8, 9 }, aligned.WordPositions);
        Assert.Equal([-1], probe.Align([" "]).WordPositions);                               // no token of its own: skipped
    }

    [Fact]
    public void The_last_layer_output_is_what_the_encoder_returns_in_eval_mode()
    {
        TorchTestSetup.Use();
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: Words.Count, seed: 21);
        int[] ids = [SpecialTokens.BeginningOfStreamId, Id("the"), Id("jury"), Id("said"), Id(".")];
        using var scope = NewDisposeScope();
        IReadOnlyList<Tensor> outputs = SyntaxProbe.LayerOutputs(model, ids);
        Assert.Equal(model.Encoder.Layers.Count + 1, outputs.Count);
        Assert.Equal(new long[] { ids.Length, model.Config.EmbeddingSize }, outputs[0].shape);
        Assert.Equal(new long[] { ids.Length, model.Config.HiddenSize }, outputs[1].shape);
        model.eval();
        model.Reset();
        using (no_grad())
        {
            Tensor raw = model.call(tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0)).Raw.squeeze(0);
            Assert.True(raw.allclose(outputs[^1], rtol: 1e-5, atol: 1e-6));
            Assert.True(model.Encoder.EmbeddingWeight[Id("jury")].allclose(outputs[0][2]));
        }
        model.Reset();
        model.train();
        SyntaxProbe.LayerOutputs(model, ids);
        Assert.True(model.training);                                                         // mode restored
    }

    [Fact]
    public void Probes_read_a_context_planted_tag_from_the_lstm_but_not_from_the_embedding()
    {
        TorchTestSetup.Use();
        // "x" is a NOUN after "d" and a VERB after "p": the tag is a function of the previous token, not of the word.
        // The embedding of "x" is the same in both, so its probe can do no better than word identity; the first LSTM
        // layer has read the previous token (even with random weights), so a linear probe can separate them.
        var random = new Random(5);
        var sentences = new List<TaggedSentence>();
        for (int s = 0; s < 100; s++)
        {
            var words = new List<string>();
            var tags = new List<string>();
            for (int pair = 0; pair < 6; pair++)
            {
                bool noun = random.Next(2) == 0;
                words.AddRange([noun ? "d" : "p", "x"]);
                tags.AddRange([noun ? "DET" : "PRON", noun ? "NOUN" : "VERB"]);
            }
            sentences.Add(new TaggedSentence(words, tags));
        }
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: Words.Count, seed: 22);
        SyntaxProbeReport report = new SyntaxProbe(Tokenization.Words, Words, new SyntaxProbeOptions(Steps: 200, LearningRate: 0.1)).Run(model, sentences);
        Assert.Equal(["DET", "NOUN", "PRON", "VERB"], report.Tags);
        Assert.Equal(960, report.TrainWords);                                                // 80 sentences × 12 words
        Assert.Equal(240, report.TestWords);
        Assert.Equal(0, report.SkippedWords);
        Assert.InRange(report.MajorityBaseline, 0.15, 0.35);                                 // four tags of about a quarter each
        Assert.InRange(report.WordIdentityBaseline, 0.65, 0.85);                             // d, p right; x right half the time
        Assert.Equal(["embedding", "lstm 1", "lstm 2", "lstm 3"], report.Layers.Select(l => l.Layer));
        LayerProbe embedding = report.Layers[0], first = report.Layers[1];
        Assert.InRange(embedding.TestAccuracy, report.WordIdentityBaseline - 0.1, report.WordIdentityBaseline + 0.05);
        Assert.True(first.TestAccuracy >= 0.95, $"lstm 1 probe: {first.TestAccuracy:P1}");
        Assert.True(first.TestAccuracy > report.MajorityBaseline + 0.5);
        // "x" is the ambiguous word (NOUN and VERB in training): word identity gets about half, lstm 1 nearly all.
        Assert.InRange(report.AmbiguousWords, 100, 140);
        Assert.InRange(report.WordIdentityOnAmbiguous, 0.35, 0.65);
        Assert.InRange(embedding.AmbiguousAccuracy, 0.35, 0.65);
        Assert.True(first.AmbiguousAccuracy >= 0.9, $"lstm 1 on x: {first.AmbiguousAccuracy:P1}");
        Assert.Equal(0, report.UnseenWords);
        Assert.True(report.PreviousWordBaseline >= 0.95 && report.PreviousWordOnAmbiguous >= 0.95);          // d/p before x says it
        Assert.True(double.IsNaN(first.UnseenAccuracy));
    }

    [Fact]
    public void Training_puts_a_tag_the_next_word_depends_on_into_the_last_layer()
    {
        TorchTestSetup.Use();
        // "d x a" or "p x b": to predict what follows "x" the model must know which came before it, so a trained model
        // has to encode x's tag (NOUN after d, VERB after p) in its last layer; a random-init one need not.
        static List<TaggedSentence> Sentences(int count, int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, count).Select(_ =>
            {
                bool[] nouns = Enumerable.Range(0, 4).Select(_ => random.Next(2) == 0).ToArray();
                return new TaggedSentence(nouns.SelectMany(n => n ? new[] { "d", "x", "a" } : ["p", "x", "b"]).ToArray(),
                    nouns.SelectMany(n => n ? new[] { "DET", "NOUN", "ADJ" } : ["PRON", "VERB", "ADV"]).ToArray());
            }).ToList();
        }
        long[] Stream(IEnumerable<TaggedSentence> sentences) =>
            sentences.SelectMany(s => s.Words.Select(w => (long)Id(w)).Prepend(SpecialTokens.BeginningOfStreamId)).ToArray();
        var probe = new SyntaxProbe(Tokenization.Words, Words, new SyntaxProbeOptions(Steps: 200, LearningRate: 0.1));
        List<TaggedSentence> probed = Sentences(60, 8);
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: Words.Count, seed: 23);
        LayerProbe before = probe.Run(model, probed).Layers[^1];

        var train = new PatternLanguageModelData(Stream(Sentences(200, 6)), rows: 8, bptt: 13, rotatePerEpoch: true);
        var valid = new PatternLanguageModelData(Stream(Sentences(40, 7)), rows: 4, bptt: 13);
        using (var learner = new Learner<LanguageModelBatch>(new LanguageModelTask(model), train, valid, null, Metrics.LanguageModel))
        {
            learner.FitOneCycle(8, 3e-2);
        }
        LayerProbe after = probe.Run(model, probed).Layers[^1];
        Assert.True(after.AmbiguousAccuracy >= 0.95, $"trained lstm 3 on x: {after.AmbiguousAccuracy:P1} (random-init {before.AmbiguousAccuracy:P1})");
        Assert.True(after.AmbiguousAccuracy > before.AmbiguousAccuracy + 0.15, $"random-init {before.AmbiguousAccuracy:P1} → trained {after.AmbiguousAccuracy:P1}");
        Assert.True(after.TestAccuracy >= 0.95);
    }

    [Fact]
    public void A_linear_probe_learns_separable_classes_and_scores_held_out_rows()
    {
        TorchTestSetup.Use();
        torch.manual_seed(3);
        using var scope = NewDisposeScope();
        Tensor centres = randn(3, 5).mul(3);
        long[] trainLabels = Enumerable.Range(0, 300).Select(i => (long)(i % 3)).ToArray();
        long[] testLabels = Enumerable.Range(0, 90).Select(i => (long)(i % 3)).ToArray();
        Tensor train = centres.index_select(0, tensor(trainLabels)).add(randn(300, 5).mul(0.3), FastText.Engine.Native.Scalars.One);
        Tensor test = centres.index_select(0, tensor(testLabels)).add(randn(90, 5).mul(0.3), FastText.Engine.Native.Scalars.One);
        LinearProbeFit fit = SyntaxProbe.TrainLinearProbe(train, trainLabels.Select(l => (int)l).ToList(), test,
            testLabels.Select(l => (int)l).ToList(), 3, new SyntaxProbeOptions(Steps: 100, LearningRate: 0.1));
        Assert.Equal(1.0, fit.TrainAccuracy);
        Assert.Equal(1.0, fit.TestAccuracy);
        Assert.Equal(testLabels.Select(l => (int)l), fit.TestPredictions);
        // Labels unrelated to the features: the probe cannot generalise (chance is 1/3).
        var shuffled = testLabels.Select((l, i) => (int)((l + i / 3) % 3)).ToList();
        double chance = SyntaxProbe.TrainLinearProbe(train, trainLabels.Select(l => (int)l).ToList(), test, shuffled, 3, new SyntaxProbeOptions(Steps: 100)).TestAccuracy;
        Assert.InRange(chance, 0.2, 0.5);
    }
}
