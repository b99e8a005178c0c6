using System.Buffers;
using Microsoft.ML.Tokenizers;

namespace FastText.Engine.Text;

/// <summary>
/// Our fastai word tokenizer and a <see cref="Vocabulary"/> exposed as a <c>Microsoft.ML.Tokenizers</c>
/// <see cref="Tokenizer"/>, so it plugs into code written against that abstraction (<c>EncodeToIds</c>,
/// <c>EncodeToTokens</c>, <c>CountTokens</c>, <c>Decode</c>). The "normalized text" is the document after fastai's
/// eight rules, and token offsets point into it.
/// </summary>
/// <remarks>Thread-safe: each call uses its own <see cref="FastaiTokenizer"/> from a per-thread cache.</remarks>
public sealed class WordTokenizer : Tokenizer
{
    private readonly ThreadLocal<FastaiTokenizer> tokenizers;
    private readonly ThreadLocal<WordSplitter> splitters = new(() => new WordSplitter());

    /// <summary>Creates the tokenizer over <paramref name="vocabulary"/>.</summary>
    public WordTokenizer(Vocabulary vocabulary, bool addBeginningOfStream = true)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        Vocabulary = vocabulary;
        tokenizers = new ThreadLocal<FastaiTokenizer>(() => new FastaiTokenizer(addBeginningOfStream));
    }

    /// <summary>The vocabulary ids refer to.</summary>
    public Vocabulary Vocabulary { get; }

    /// <inheritdoc />
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        string normalized = tokenizers.Value!.ApplyRules(text ?? textSpan.ToString());
        var sink = new OffsetSink(normalized, Vocabulary, settings.MaxTokenCount);
        splitters.Value!.Split(normalized, ref sink, applyCaseRules: false, addBeginningOfStream: false);
        return new EncodeResults<EncodedToken>
        {
            Tokens = sink.Tokens,
            NormalizedText = normalized,
            CharsConsumed = sink.CharsConsumed,
        };
    }

    /// <inheritdoc />
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        EncodeResults<EncodedToken> tokens = EncodeToTokens(text, textSpan, settings);
        return new EncodeResults<int>
        {
            Tokens = tokens.Tokens.Select(t => t.Id).ToArray(),
            NormalizedText = tokens.NormalizedText,
            CharsConsumed = tokens.CharsConsumed,
        };
    }

    /// <inheritdoc />
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings) =>
        EncodeToTokens(text, textSpan, settings).Tokens.Count;

    /// <inheritdoc />
    public override string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return TokenDecoder.Decode(ids.Select(id => Vocabulary[id]));
    }

    /// <inheritdoc />
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        int[] list = ids.ToArray();
        string text = Decode(list);
        if (text.Length > destination.Length)
        {
            idsConsumed = 0;
            charsWritten = 0;
            return OperationStatus.DestinationTooSmall;
        }
        text.CopyTo(destination);
        idsConsumed = list.Length;
        charsWritten = text.Length;
        return OperationStatus.Done;
    }

    // Tokens are substrings of the normalized text in order ('▁' inside whitespace tokens stands for a space).
    private sealed class OffsetSink(string normalized, Vocabulary vocabulary, int maximum) : ITokenSink
    {
        private int position;

        public List<EncodedToken> Tokens { get; } = [];

        public int CharsConsumed { get; private set; }

        public void Add(ReadOnlySpan<char> token)
        {
            if (Tokens.Count >= maximum)
            {
                return;
            }
            string value = token.ToString();
            string surface = value.Replace('▁', ' ');
            int start = normalized.IndexOf(surface, position, StringComparison.Ordinal);
            if (start < 0)
            {
                start = position;
            }
            position = start + surface.Length;
            CharsConsumed = position;
            Tokens.Add(new EncodedToken(vocabulary.IdOf(token), value, new Range(start, position)));
        }
    }
}
