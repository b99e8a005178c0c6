using FastText.Engine.Data;
using FastText.Engine.Data.Augmentation;
using FastText.Engine.Native;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>
/// Contextual augmentation with the fine-tuned language model itself (after Kobayashi, 2018): in a copy, each word is
/// replaced with probability <c>rate</c> by a word the model predicts at that position from the text before it. The
/// predictions are made once, before training: for every word position of every training document,
/// <c>candidates</c> words sampled from the model's next-token distribution (at <c>temperature</c>, restricted to words),
/// so that an epoch's copy costs no model call. The first token (<c>xxbos</c>) has no prediction and is never resampled.
/// </summary>
/// <remarks>
/// Kobayashi's model is bidirectional and conditioned on the label; ULMFiT's is one direction and unconditioned, so a
/// resampled word fits what precedes it but not necessarily what follows. In a backwards run the model is the backwards
/// one and "before" is the text after the word.
/// </remarks>
internal sealed class LanguageModelAugmenter : IDocumentAugmenter
{
    private const int BatchRows = 8;           // documents per model call
    private const int ChunkLength = 128;       // positions per call: 8 × 128 logits of a 30k vocabulary are 123 MB

    private readonly Dictionary<int, int[]> samples;   // per document: (length × candidates) ids, −1 where not a word
    private readonly int candidates;
    private readonly double rate;

    private LanguageModelAugmenter(Dictionary<int, int[]> samples, int candidates, double rate, string description)
    {
        this.samples = samples;
        this.candidates = candidates;
        this.rate = rate;
        Description = description;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>Samples the candidates of <paramref name="documents"/> (their first <paramref name="maxLength"/> tokens).</summary>
    /// <param name="model">The fine-tuned language model (read only; its mode and state are restored).</param>
    /// <param name="vocabulary">Its vocabulary (words are its lowercase alphabetic tokens).</param>
    /// <param name="corpus">The documents in the order the model reads them.</param>
    /// <param name="documents">The training documents.</param>
    /// <param name="maxLength">Tokens per document the classifier reads (longer ones are cut there).</param>
    /// <param name="rate">Probability that a word of a copy is resampled (0, 1].</param>
    /// <param name="candidates">Samples kept per position.</param>
    /// <param name="temperature">Softmax temperature of the samples.</param>
    /// <param name="seed">Seed of the sampling.</param>
    public static LanguageModelAugmenter Build(AwdLstmLanguageModel model, Vocabulary vocabulary, ITokenCorpus corpus, IReadOnlyList<int> documents,
        int maxLength, double rate, int candidates = 8, double temperature = 1.0, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(documents);
        if (!(rate > 0 && rate <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The resampling rate must be in (0, 1].");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(candidates, 1);
        if (!(temperature > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive.");
        }
        if (model.VocabularySize != vocabulary.Count)
        {
            throw new ArgumentException($"The language model has {model.VocabularySize} tokens, the vocabulary {vocabulary.Count}.", nameof(vocabulary));
        }
        bool[] isWord = WordTokens.Of(vocabulary);
        var result = new Dictionary<int, int[]>();
        bool wasTraining = model.training;
        model.eval();
        using Generator generator = new((ulong)(uint)seed);
        using Tensor wordMask = torch.tensor(isWord.Select(w => w ? 0f : float.NegativeInfinity).ToArray());   // (vocab)
        using Scalar inverseTemperature = 1.0 / temperature;
        // Longest first, so a batch's rows have similar lengths (rows that end early run on pads, which is harmless:
        // a position's prediction only reads what comes before it).
        int[] order = documents.Distinct().OrderByDescending(d => Math.Min(corpus.DocumentLength(d), maxLength)).ToArray();
        try
        {
            using (torch.no_grad())
            {
                for (int first = 0; first < order.Length; first += BatchRows)
                {
                    int rows = Math.Min(BatchRows, order.Length - first);
                    int width = Math.Min(corpus.DocumentLength(order[first]), maxLength);
                    var ids = new long[rows * width];
                    var tokens = new int[width];
                    Array.Fill(ids, SpecialTokens.PaddingId);
                    for (int r = 0; r < rows; r++)
                    {
                        int length = Math.Min(corpus.DocumentLength(order[first + r]), maxLength);
                        corpus.CopyTokens(order[first + r], 0, tokens.AsSpan(0, length));
                        for (int t = 0; t < length; t++)
                        {
                            ids[r * width + t] = tokens[t];
                        }
                        result[order[first + r]] = new int[length * candidates];
                        Array.Fill(result[order[first + r]], -1);
                    }
                    model.Reset();
                    using Tensor batch = torch.tensor(ids, [rows, width]);
                    for (int start = 0; start + 1 < width; start += ChunkLength)
                    {
                        using var scope = torch.NewDisposeScope();
                        int length = Math.Min(ChunkLength, width - 1 - start);       // predicts positions start+1 … start+length
                        LanguageModelOutput output = model.call(batch.narrow(1, start, length));
                        Tensor logits = model.Decode(output.Dropped).reshape(rows * length, -1);   // (rows·length, vocab) fp32
                        Tensor probabilities = logits.mul_(inverseTemperature).add_(wordMask, Scalars.One).softmax(1);   // logits are this call's own
                        long[] drawn = torch.multinomial(probabilities, candidates, replacement: true, generator: generator).data<long>().ToArray();
                        for (int r = 0; r < rows; r++)
                        {
                            int document = order[first + r];
                            int[] slots = result[document];
                            int documentLength = slots.Length / candidates;
                            for (int t = 0; t < length && start + 1 + t < documentLength; t++)
                            {
                                int position = start + 1 + t;
                                if (!isWord[(int)ids[r * width + position]])
                                {
                                    continue;                            // only words are resampled
                                }
                                for (int k = 0; k < candidates; k++)
                                {
                                    slots[position * candidates + k] = (int)drawn[(r * length + t) * candidates + k];
                                }
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            model.Reset();
            model.train(wasTraining);
        }
        // The samples' digest goes into the loader's signature: a resumed run whose samples came out differently (another
        // thread count can change the logits' last bits) is refused instead of continuing on other copies.
        ulong digest = BatchSources.StableHash(result.OrderBy(r => r.Key).SelectMany(r => r.Value.Prepend(r.Key)).ToArray());
        string description = FormattableString.Invariant($"contextual (language model) rate {rate} candidates {candidates} temperature {temperature} digest {digest:x16}");
        return new LanguageModelAugmenter(result, candidates, rate, description);
    }

    /// <inheritdoc />
    public void Augment(int document, ReadOnlySpan<int> tokens, List<int> output, ref DeterministicRandom random)
    {
        if (!samples.TryGetValue(document, out int[]? slots))
        {
            output.AddRange(tokens);
            return;
        }
        int known = slots.Length / candidates;
        for (int t = 0; t < tokens.Length; t++)
        {
            int token = tokens[t];
            if (t < known && slots[t * candidates] >= 0 && random.NextDouble() < rate)
            {
                token = slots[t * candidates + random.Next(candidates)];
            }
            output.Add(token);
        }
    }
}
