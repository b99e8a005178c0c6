using Microsoft.ML.Tokenizers;

namespace FastText.Engine.Text;

/// <summary>
/// Subword tokenization (fastai's <c>SentencePieceTokenizer</c> route) through a Microsoft.ML.Tokenizers model
/// (SentencePiece <c>.model</c>, BPE <c>vocab.json</c> + <c>merges.txt</c>, …): fastai's eight rules run first,
/// then the model splits the resulting text; the special tokens (<c>xxbos</c>, <c>xxmaj</c>, …) stay whole when
/// the model knows them (special tokens of a BPE model, user-defined symbols of a SentencePiece model). The corpus builder then counts and numericalizes the pieces like words.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers returns a string per piece, so this mode allocates per token (the word mode does not).
/// One instance per thread.
/// </remarks>
public sealed class SubwordTokenizer : IDocumentTokenizer
{
    private readonly Tokenizer model;
    private readonly FastaiTokenizer rules;
    private readonly CharBuffer decoded = new(1 << 16);

    /// <summary>Wraps <paramref name="model"/>.</summary>
    /// <param name="model">The subword model.</param>
    /// <param name="addBeginningOfStream">Start every document with <c>xxbos</c> (fastai's default).</param>
    public SubwordTokenizer(Tokenizer model, bool addBeginningOfStream = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        rules = new FastaiTokenizer(addBeginningOfStream);
    }

    /// <summary>
    /// A SentencePiece model (<c>.model</c> file). fastai trains its SentencePiece models with the special tokens as
    /// user-defined symbols, which SentencePiece keeps whole; no beginning/end-of-sentence pieces are added (the rules
    /// already start every document with <c>xxbos</c>).
    /// </summary>
    public static SubwordTokenizer FromSentencePiece(Stream modelProto, bool addBeginningOfStream = true)
    {
        ArgumentNullException.ThrowIfNull(modelProto);
        return new SubwordTokenizer(SentencePieceTokenizer.Create(modelProto, addBeginningOfSentence: false, addEndOfSentence: false), addBeginningOfStream);
    }

    /// <summary>Tokenizes a string into pieces.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string ruled = rules.ApplyRules(text);
        return model.EncodeToTokens(ruled, out _).Select(t => t.Value).ToArray();
    }

    /// <inheritdoc />
    public DecodeReport TokenizeUtf8<TSink>(ReadOnlySpan<byte> utf8, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        DecodeReport report = FastaiTokenizer.DecodeUtf8(utf8, decoded);
        string ruled = rules.ApplyRules(decoded.Written.ToString());
        foreach (EncodedToken token in model.EncodeToTokens(ruled, out _))
        {
            sink.Add(token.Value);
        }
        return report;
    }
}
