using FastText.Engine.Models;
using FastText.Engine.Native;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Interpretation;

/// <summary>A tagged sentence in the model's tokens.</summary>
/// <param name="Ids">Token ids: <c>xxbos</c>, then every word's tokens in order.</param>
/// <param name="WordPositions">Per word, the index in <paramref name="Ids"/> of its first token that is not a special
/// token (<c>xxmaj</c>, <c>xxup</c>, <c>xxrep</c>, …), or −1 when the word has none (it is skipped).</param>
public sealed record AlignedSentence(int[] Ids, int[] WordPositions);

/// <summary>How well a linear probe reads the tags off one layer.</summary>
/// <param name="Layer">"embedding" or "lstm 1" … "lstm N".</param>
/// <param name="Dimensions">Width of the layer's output.</param>
/// <param name="TrainAccuracy">Accuracy on the probe's training words.</param>
/// <param name="TestAccuracy">Accuracy on the held-out sentences' words.</param>
/// <param name="AmbiguousAccuracy">Accuracy on the held-out words that had more than one tag in the training words
/// ("that", "to", "like"): where the word alone does not say the tag and context must.</param>
/// <param name="UnseenAccuracy">Accuracy on the held-out words absent from the training words (NaN if none).</param>
public sealed record LayerProbe(string Layer, int Dimensions, double TrainAccuracy, double TestAccuracy, double AmbiguousAccuracy, double UnseenAccuracy);

/// <summary>What <see cref="SyntaxProbe.TrainLinearProbe"/> learned.</summary>
/// <param name="TrainAccuracy">Accuracy on the training rows.</param>
/// <param name="TestAccuracy">Accuracy on the test rows.</param>
/// <param name="TestPredictions">The predicted class of every test row.</param>
public sealed record LinearProbeFit(double TrainAccuracy, double TestAccuracy, IReadOnlyList<int> TestPredictions);

/// <summary>Per-layer probe accuracies and the baselines they are to be read against.</summary>
/// <param name="Tags">The tag set (ordinal order).</param>
/// <param name="Layers">Embedding first, then each LSTM layer.</param>
/// <param name="MajorityTag">The most frequent tag among the training words.</param>
/// <param name="MajorityBaseline">Test accuracy of always answering <paramref name="MajorityTag"/>.</param>
/// <param name="WordIdentityBaseline">Test accuracy of the training words' most frequent tag per word (lower-cased;
/// an unseen word gets <paramref name="MajorityTag"/>): what knowing the word alone, without context, gives.</param>
/// <param name="TrainWords">Words the probes were trained on.</param>
/// <param name="TestWords">Held-out words.</param>
/// <param name="SkippedWords">Words with no token of their own (see <see cref="AlignedSentence"/>).</param>
/// <param name="AmbiguousWords">Held-out words with more than one tag among the training words.</param>
/// <param name="WordIdentityOnAmbiguous">The word-identity baseline on those.</param>
/// <param name="UnseenWords">Held-out words absent from the training words (word identity gives them the majority tag).</param>
/// <param name="MajorityOnUnseen">The majority tag's share among those (the word-identity baseline on them).</param>
/// <param name="PreviousWordBaseline">A lookup with one word of context: the training words' most frequent tag for
/// (previous word, word), backing off to word identity when the pair was not seen (the previous word of a sentence's
/// first word is none); what a probe that reads context has to beat.</param>
/// <param name="PreviousWordOnAmbiguous">That baseline on the ambiguous words.</param>
public sealed record SyntaxProbeReport(IReadOnlyList<string> Tags, IReadOnlyList<LayerProbe> Layers, string MajorityTag, double MajorityBaseline,
    double WordIdentityBaseline, int TrainWords, int TestWords, int SkippedWords, int AmbiguousWords, double WordIdentityOnAmbiguous,
    int UnseenWords, double MajorityOnUnseen, double PreviousWordBaseline, double PreviousWordOnAmbiguous);

/// <summary>Settings of <see cref="SyntaxProbe"/>.</summary>
/// <param name="Steps">Full-batch Adam steps of each probe.</param>
/// <param name="LearningRate">Adam's learning rate (on standardised features).</param>
/// <param name="WeightDecay">Decoupled weight decay of the probe's weights.</param>
/// <param name="TestEvery">Sentence i is held out when i % TestEvery == TestEvery − 1 (every fifth by default: 20%).</param>
public sealed record SyntaxProbeOptions(int Steps = 300, double LearningRate = 0.05, double WeightDecay = 1e-4, int TestEvery = 5);

/// <summary>
/// Does the language model learn syntax? Linear part-of-speech probes per layer (after Hewitt and Manning's and
/// Tenney et al.'s probing classifiers): the forward model runs over each tagged sentence (eval mode, no dropout, fp32,
/// from a zero state, one sentence at a time after <c>xxbos</c>), the outputs of the embedding and of every LSTM layer
/// are taken at each word's position, and one multinomial logistic regression per layer learns the tags from the
/// training sentences' words and is scored on the held-out sentences'. Read the accuracies against the majority and
/// word-identity baselines and against the same probe on a randomly initialised model of the same sizes (the
/// control): a probe on random features still learns word identity, so only what the trained model adds is its own.
/// </summary>
public sealed class SyntaxProbe
{
    private readonly Tokenization tokenization;
    private readonly Vocabulary vocabulary;
    private readonly SyntaxProbeOptions options;

    /// <summary>A probe for models whose tokens <paramref name="tokenization"/> and <paramref name="vocabulary"/> make.</summary>
    public SyntaxProbe(Tokenization tokenization, Vocabulary vocabulary, SyntaxProbeOptions? options = null)
    {
        this.tokenization = tokenization ?? throw new ArgumentNullException(nameof(tokenization));
        this.vocabulary = vocabulary ?? throw new ArgumentNullException(nameof(vocabulary));
        this.options = options ?? new SyntaxProbeOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.Steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(this.options.TestEvery, 2);
    }

    /// <summary>
    /// A tagged sentence in the model's tokens. Each word is tokenized on its own with the model's tokenization (its
    /// <c>xxbos</c> dropped), so every token belongs to exactly one word; fastai's rules put <c>xxmaj</c> before a
    /// capitalised word and <c>xxup</c> before an all-caps one, and a word may split into several tokens ("don't",
    /// subword pieces). The word's position is its first token that is not one of those special tokens: the state
    /// there has read the word itself (<c>xxunk</c> counts: it is where an unknown word is read).
    /// </summary>
    public AlignedSentence Align(IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        var ids = new List<int> { SpecialTokens.BeginningOfStreamId };
        var positions = new int[words.Count];
        for (int w = 0; w < words.Count; w++)
        {
            positions[w] = -1;
            int[] pieces = tokenization.Numericalize(words[w], vocabulary);
            foreach (int id in pieces.AsSpan(pieces.Length > 0 && pieces[0] == SpecialTokens.BeginningOfStreamId ? 1 : 0))
            {
                if (positions[w] < 0 && !IsMarker(id))
                {
                    positions[w] = ids.Count;
                }
                ids.Add(id);
            }
        }
        return new AlignedSentence(ids.ToArray(), positions);
    }

    /// <summary>
    /// The output of the embedding and of every LSTM layer at every position of one run over <paramref name="ids"/>
    /// (eval mode, no dropout, fp32, zero initial state), each (T, width). The last one is what the encoder returns.
    /// Dispose the tensors (or create them inside a dispose scope).
    /// </summary>
    public static IReadOnlyList<Tensor> LayerOutputs(AwdLstmLanguageModel model, IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0 || ids.Any(i => i < 0 || i >= model.VocabularySize))
        {
            throw new ArgumentException($"The ids must be non-empty and inside the vocabulary of {model.VocabularySize}.", nameof(ids));
        }
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            using Tensor index = tensor(ids.Select(i => (long)i).ToArray(), ScalarType.Int64);
            // The lookup the encoder's embedding does (embedding dropout is off in eval mode), then each layer from zeros.
            Tensor x = model.Encoder.EmbeddingWeight.index_select(0, index).to(ScalarType.Float32).unsqueeze(0);   // (1, T, emb)
            var outputs = new List<Tensor> { x.squeeze(0) };
            foreach (WeightDroppedLstm layer in model.Encoder.Layers)
            {
                using Tensor h0 = zeros(1, 1, layer.HiddenSize), c0 = zeros(1, 1, layer.HiddenSize);
                var (output, h, c) = layer.Forward(x, h0, c0, bf16MatrixProducts: false);                     // (1, T, H)
                h.Dispose();
                c.Dispose();
                outputs.Add(output.squeeze(0));
                x = output;
            }
            return outputs;
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>The control: the same probes on a freshly initialised model of <paramref name="config"/>'s sizes
    /// (torch's generator seeded with <paramref name="seed"/>), over this probe's vocabulary.</summary>
    public SyntaxProbeReport RunRandomControl(AwdLstmConfig config, int seed, IReadOnlyList<TaggedSentence> sentences, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        manual_seed(seed);
        using var control = new AwdLstmLanguageModel(vocabulary.Count, config);
        return Run(control, sentences, progress);
    }

    /// <summary>Probes every layer of <paramref name="model"/> on <paramref name="sentences"/>.</summary>
    /// <exception cref="ArgumentException">Too few sentences for a training and a test split, or a sentence whose tag
    /// count differs from its word count.</exception>
    public SyntaxProbeReport Run(AwdLstmLanguageModel model, IReadOnlyList<TaggedSentence> sentences, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sentences);
        if (sentences.Count < options.TestEvery)
        {
            throw new ArgumentException($"The probe needs at least {options.TestEvery} sentences (one in {options.TestEvery} is held out); got {sentences.Count}.", nameof(sentences));
        }
        string[] tags = sentences.SelectMany(s => s.Tags).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var tagIndex = tags.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        using Split training = new(), held = new();
        Split[] split = [training, held];
        int skipped = 0;
        int layerCount = model.Encoder.Layers.Count + 1;
        for (int s = 0; s < sentences.Count; s++)
        {
            TaggedSentence sentence = sentences[s];
            if (sentence.Words.Count != sentence.Tags.Count)
            {
                throw new ArgumentException($"Sentence {s + 1} has {sentence.Words.Count} words and {sentence.Tags.Count} tags.", nameof(sentences));
            }
            AlignedSentence aligned = Align(sentence.Words);
            int[] kept = Enumerable.Range(0, sentence.Words.Count).Where(w => aligned.WordPositions[w] >= 0).ToArray();
            skipped += sentence.Words.Count - kept.Length;
            if (kept.Length == 0)
            {
                continue;
            }
            Split part = split[s % options.TestEvery == options.TestEvery - 1 ? 1 : 0];
            using (var scope = NewDisposeScope())
            {
                IReadOnlyList<Tensor> outputs = LayerOutputs(model, aligned.Ids);
                using Tensor at = tensor(kept.Select(w => (long)aligned.WordPositions[w]).ToArray(), ScalarType.Int64);
                for (int l = 0; l < layerCount; l++)
                {
                    part.Features(l).Add(outputs[l].index_select(0, at).DetachFromDisposeScope());
                }
            }
            foreach (int w in kept)
            {
                part.Words.Add(sentence.Words[w].ToLowerInvariant());
                part.Previous.Add(w == 0 ? "" : sentence.Words[w - 1].ToLowerInvariant());
                part.Labels.Add(tagIndex[sentence.Tags[w]]);
            }
            progress?.Report(s + 1);
        }
        if (split[0].Labels.Count == 0 || split[1].Labels.Count == 0)
        {
            throw new ArgumentException("No word of the training or of the test sentences has a token of its own in this vocabulary.", nameof(sentences));
        }
        int majority = split[0].Labels.GroupBy(t => t).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        var tagsPerWord = split[0].Words.Zip(split[0].Labels).GroupBy(p => p.First, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.GroupBy(p => p.Second).OrderByDescending(t => t.Count()).ThenBy(t => t.Key).Select(t => t.Key).ToArray(), StringComparer.Ordinal);
        List<int> testLabels = split[1].Labels;
        int[] identity = split[1].Words.Select(w => tagsPerWord.TryGetValue(w, out int[]? t) ? t[0] : majority).ToArray();
        var tagPerPair = split[0].Previous.Zip(split[0].Words, (p, w) => (p, w)).Zip(split[0].Labels).GroupBy(x => x.First)
            .ToDictionary(g => g.Key, g => g.GroupBy(x => x.Second).OrderByDescending(t => t.Count()).ThenBy(t => t.Key).First().Key);
        int[] previousWord = Enumerable.Range(0, testLabels.Count)
            .Select(i => tagPerPair.TryGetValue((split[1].Previous[i], split[1].Words[i]), out int t) ? t : identity[i]).ToArray();
        int[] ambiguous = Enumerable.Range(0, testLabels.Count).Where(i => tagsPerWord.TryGetValue(split[1].Words[i], out int[]? t) && t.Length > 1).ToArray();
        int[] unseen = Enumerable.Range(0, testLabels.Count).Where(i => !tagsPerWord.ContainsKey(split[1].Words[i])).ToArray();
        double Share(IReadOnlyList<int> predicted, IEnumerable<int> rows)
        {
            int[] r = rows.ToArray();
            return r.Length == 0 ? double.NaN : r.Count(i => predicted[i] == testLabels[i]) / (double)r.Length;
        }
        var all = Enumerable.Range(0, testLabels.Count);
        var layers = new List<LayerProbe>();
        for (int l = 0; l < layerCount; l++)
        {
            using var scope = NewDisposeScope();
            Tensor train = cat(split[0].Features(l), 0), test = cat(split[1].Features(l), 0);
            LinearProbeFit fit = TrainLinearProbe(train, split[0].Labels, test, testLabels, tags.Length, options);
            layers.Add(new LayerProbe(l == 0 ? "embedding" : $"lstm {l}", (int)train.shape[1], fit.TrainAccuracy, fit.TestAccuracy,
                Share(fit.TestPredictions, ambiguous), Share(fit.TestPredictions, unseen)));
        }
        return new SyntaxProbeReport(tags, layers, tags[majority], Share(Enumerable.Repeat(majority, testLabels.Count).ToArray(), all), Share(identity, all),
            split[0].Labels.Count, testLabels.Count, skipped, ambiguous.Length, Share(identity, ambiguous), unseen.Length, Share(identity, unseen),
            Share(previousWord, all), Share(previousWord, ambiguous));
    }

    /// <summary>
    /// Multinomial logistic regression from <paramref name="train"/> (n, d) to <paramref name="trainLabels"/>: features
    /// standardised with the training rows' mean and deviation, weights from zero (the loss is convex, so the start
    /// only sets which optimum a flat direction reaches), full-batch Adam with decoupled weight decay.
    /// </summary>
    public static LinearProbeFit TrainLinearProbe(Tensor train, IReadOnlyList<int> trainLabels, Tensor test, IReadOnlyList<int> testLabels,
        int classes, SyntaxProbeOptions options)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(trainLabels);
        ArgumentNullException.ThrowIfNull(testLabels);
        ArgumentNullException.ThrowIfNull(options);
        using var scope = NewDisposeScope();
        Tensor mean = train.mean([0L], keepdim: true);
        using Scalar tiny = 1e-6;
        Tensor deviation = train.sub(mean).square().mean([0L], keepdim: true).sqrt().clamp_min(tiny);
        Tensor x = train.sub(mean).div(deviation), xTest = test.sub(mean).div(deviation);
        Tensor y = tensor(trainLabels.Select(t => (long)t).ToArray(), ScalarType.Int64);
        Tensor weight = zeros(x.shape[1], classes).requires_grad_(true), bias = zeros(classes).requires_grad_(true);
        var adam = new[] { new AdamState(weight, options.WeightDecay), new AdamState(bias, 0) };
        for (int step = 1; step <= options.Steps; step++)
        {
            using var stepScope = NewDisposeScope();
            Tensor loss = nn.functional.cross_entropy(x.matmul(weight).add(bias, Scalars.One), y);
            loss.backward();
            using var noGrad = no_grad();
            foreach (AdamState state in adam)
            {
                state.Step(step, options.LearningRate);
            }
        }
        using var evaluation = no_grad();
        double trainAccuracy = x.matmul(weight).add(bias, Scalars.One).argmax(1).eq(y).sum().item<long>() / (double)trainLabels.Count;
        long[] predicted = xTest.matmul(weight).add(bias, Scalars.One).argmax(1).data<long>().ToArray();
        double testAccuracy = predicted.Where((p, i) => p == testLabels[i]).Count() / (double)testLabels.Count;
        return new LinearProbeFit(trainAccuracy, testAccuracy, predicted.Select(p => (int)p).ToArray());
    }

    private static bool IsMarker(int id) => id is SpecialTokens.BeginningOfStreamId or SpecialTokens.EndOfStreamId or SpecialTokens.PaddingId
        or SpecialTokens.FieldId or SpecialTokens.RepeatId or SpecialTokens.WordRepeatId or SpecialTokens.AllCapsId or SpecialTokens.CapitalizedId;

    // One parameter's Adam moments (β = 0.9, 0.999; ε = 1e-8). Scalars are explicit and held for each call
    // (native-notes/traps.md: an implicit Scalar can be freed by the finalizer while libtorch reads it).
    private sealed class AdamState(Tensor parameter, double weightDecay)
    {
        private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
        private readonly Tensor first = zeros_like(parameter), second = zeros_like(parameter);

        public void Step(int step, double learningRate)
        {
            Tensor gradient = parameter.grad!;
            using Scalar beta1 = Beta1, keep1 = 1 - Beta1, beta2 = Beta2, keep2 = 1 - Beta2, epsilon = Epsilon;
            using Scalar decay = 1 - learningRate * weightDecay, correction2 = Math.Sqrt(1 - Math.Pow(Beta2, step));
            using Scalar stepSize = -learningRate / (1 - Math.Pow(Beta1, step));
            first.mul_(beta1).add_(gradient, keep1);
            second.mul_(beta2).addcmul_(gradient, gradient, keep2);
            using Tensor denominator = second.sqrt().div_(correction2).add_(epsilon, Scalars.One);
            parameter.mul_(decay).addcdiv_(first, denominator, stepSize);
            gradient.zero_();
        }
    }

    // One split's words, tags and per-layer features (tensors moved out of the per-sentence scopes, disposed here).
    private sealed class Split : IDisposable
    {
        private readonly List<List<Tensor>> features = [];

        public List<string> Words { get; } = [];

        public List<string> Previous { get; } = [];

        public List<int> Labels { get; } = [];

        public List<Tensor> Features(int layer)
        {
            while (features.Count <= layer)
            {
                features.Add([]);
            }
            return features[layer];
        }

        public void Dispose()
        {
            foreach (Tensor t in features.SelectMany(f => f))
            {
                t.Dispose();
            }
        }
    }
}
