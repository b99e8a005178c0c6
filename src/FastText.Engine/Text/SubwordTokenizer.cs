using System.Text;
using Microsoft.ML.Tokenizers;

namespace FastText.Engine.Text;

/// <summary>
/// Subword tokenization (fastai's <c>SentencePieceTokenizer</c> route) through a Microsoft.ML.Tokenizers model
/// (SentencePiece <c>.model</c>, BPE <c>vocab.json</c> + <c>merges.txt</c>, …): fastai's eight rules run first,
/// then the model splits the resulting text; the special tokens (<c>xxbos</c>, <c>xxmaj</c>, …) stay whole when
/// the model knows them (special tokens of a BPE model, user-defined symbols of a SentencePiece model). The corpus
/// builder then counts and numericalizes the pieces like words (fastai's <c>Numericalize</c> after
/// <c>SentencePieceTokenizer</c>).
/// </summary>
/// <remarks>
/// <para>On a SentencePiece model the pieces and ids are the ones <c>spm_encode</c> gives for the text after the
/// rules (tested against Debian's SentencePiece 0.1.97 on unigram and BPE models; unknown characters come back as
/// their own text with the unknown id, as <c>spm_encode</c> prints them).</para>
/// <para>Microsoft.ML.Tokenizers returns a string per piece, so this mode allocates per token (the word mode does not).
/// One instance per thread.</para>
/// </remarks>
public sealed class SubwordTokenizer : IDocumentTokenizer
{
    /// <summary>SentencePiece's word-boundary meta symbol (U+2581), which starts every piece that follows a space.</summary>
    public const char WordBoundary = '\u2581';

    // SentencePiece's surface of an unknown id when decoding ids (spm's default unk_surface, " ⁇ ").
    private const string UnknownSurface = " \u2047 ";

    private readonly Tokenizer model;
    private readonly SentencePieceModelFile.Prepared? sentencePiece;
    private readonly FastaiTokenizer rules;
    private readonly CharBuffer decoded = new(1 << 16);
    private readonly List<(int Id, string Piece)> pieces = [];

    /// <summary>Wraps <paramref name="model"/>.</summary>
    /// <param name="model">The subword model.</param>
    /// <param name="addBeginningOfStream">Start every document with <c>xxbos</c> (fastai's default).</param>
    public SubwordTokenizer(Tokenizer model, bool addBeginningOfStream = true)
        : this(model, null, addBeginningOfStream)
    {
    }

    private SubwordTokenizer(Tokenizer model, SentencePieceModelFile.Prepared? sentencePiece, bool addBeginningOfStream)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        this.sentencePiece = sentencePiece;
        rules = new FastaiTokenizer(addBeginningOfStream);
    }

    /// <summary>The subword model (for its own APIs, e.g. <see cref="Tokenizer.CountTokens(string, bool, bool)"/>).</summary>
    public Tokenizer Model => model;

    /// <summary>
    /// A SentencePiece model file (<c>.model</c>, unigram or BPE). fastai trains its SentencePiece models with the
    /// special tokens as user-defined symbols, which SentencePiece keeps whole; no beginning/end-of-sentence pieces are
    /// added (the rules already start every document with <c>xxbos</c>).
    /// </summary>
    /// <param name="modelPath">The <c>.model</c> file.</param>
    /// <param name="addBeginningOfStream">Start every document with <c>xxbos</c> (fastai's default).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a SentencePiece model this library can run; the message names it.</exception>
    public static SubwordTokenizer FromSentencePiece(string modelPath, bool addBeginningOfStream = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"SentencePiece model '{modelPath}' does not exist.", modelPath);
        }
        return Create(File.ReadAllBytes(modelPath), modelPath, addBeginningOfStream);
    }

    /// <summary>A SentencePiece model read from <paramref name="modelProto"/> (see <see cref="FromSentencePiece(string, bool)"/>).</summary>
    /// <param name="modelProto">The serialized model; a <see cref="FileStream"/>'s name appears in errors.</param>
    /// <param name="addBeginningOfStream">Start every document with <c>xxbos</c> (fastai's default).</param>
    /// <exception cref="InvalidDataException">The stream is not a SentencePiece model this library can run.</exception>
    public static SubwordTokenizer FromSentencePiece(Stream modelProto, bool addBeginningOfStream = true)
    {
        ArgumentNullException.ThrowIfNull(modelProto);
        using var copy = new MemoryStream();
        modelProto.CopyTo(copy);
        return Create(copy.ToArray(), (modelProto as FileStream)?.Name ?? "the SentencePiece model stream", addBeginningOfStream);
    }

    private static SubwordTokenizer Create(byte[] proto, string name, bool addBeginningOfStream)
    {
        SentencePieceModelFile.Prepared prepared = SentencePieceModelFile.Prepare(proto, name);
        SentencePieceTokenizer model;
        try
        {
            using var stream = new MemoryStream(prepared.Proto, writable: false);
            model = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // Microsoft.ML.Tokenizers' own parse/validation errors do not say which file they were reading.
            throw new InvalidDataException($"'{name}' could not be loaded as a SentencePiece model: {error.Message}", error);
        }
        return new SubwordTokenizer(model, prepared, addBeginningOfStream);
    }

    /// <summary>Tokenizes a string into pieces (the rules, then the model).</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Encode(rules.ApplyRules(text));
        return pieces.Select(p => p.Piece).ToArray();
    }

    /// <summary>The model's own ids for <paramref name="text"/> after the rules (<c>spm_encode --output_format=id</c>).</summary>
    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Encode(rules.ApplyRules(text));
        return pieces.Select(p => p.Id).ToArray();
    }

    /// <summary>
    /// Text of the model's ids. For a SentencePiece model this is <c>spm_decode --input_format=id</c>: control ids
    /// vanish, an unknown id becomes " ⁇ ", byte pieces are reassembled into UTF-8, <see cref="WordBoundary"/> becomes a
    /// space and the leading space is dropped. Other models decode through Microsoft.ML.Tokenizers.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not one of the model's pieces.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (sentencePiece is null)
        {
            return model.Decode(ids) ?? "";
        }
        var text = new StringBuilder();
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)sentencePiece.Pieces.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"The SentencePiece model has {sentencePiece.Pieces.Length} pieces.");
            }
            string piece = sentencePiece.Pieces[id];
            SentencePieceModelFile.PieceType type = sentencePiece.Types[id];
            if (type == SentencePieceModelFile.PieceType.Byte && piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal)
                && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte value))
            {
                bytes.Add(value);
                continue;
            }
            FlushBytes(text, bytes);
            if (type == SentencePieceModelFile.PieceType.Control)
            {
                continue;
            }
            if (type == SentencePieceModelFile.PieceType.Unknown || id == sentencePiece.UnknownId)
            {
                text.Append(UnknownSurface);
                continue;
            }
            // The dummy prefix: the first piece's leading word boundary is not text.
            text.Append(text.Length == 0 && piece.Length > 0 && piece[0] == WordBoundary ? piece.AsSpan(1) : piece);
        }
        FlushBytes(text, bytes);
        return text.Replace(WordBoundary, ' ').ToString();
    }

    private static void FlushBytes(StringBuilder text, List<byte> bytes)
    {
        if (bytes.Count > 0)
        {
            text.Append(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)));
            bytes.Clear();
        }
    }

    /// <summary>
    /// Text of SentencePiece pieces, e.g. a corpus document read back through its vocabulary
    /// (<c>spm_decode --input_format=piece</c>): the pieces are joined, <see cref="WordBoundary"/> becomes a space and the
    /// leading space SentencePiece adds is dropped. Unknown pieces keep their text. The result is the text after the
    /// rules (<c>xxmaj</c> etc. stay; the model's normalization, e.g. NFKC, stays applied).
    /// </summary>
    public static string DecodePieces(IEnumerable<string> pieces)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        var text = new StringBuilder();
        foreach (string piece in pieces)
        {
            text.Append(piece);
        }
        text.Replace(WordBoundary, ' ');
        return text.Length > 0 && text[0] == ' ' ? text.ToString(1, text.Length - 1) : text.ToString();
    }

    /// <inheritdoc />
    public DecodeReport TokenizeUtf8<TSink>(ReadOnlySpan<byte> utf8, ref TSink sink)
        where TSink : ITokenSink, allows ref struct
    {
        DecodeReport report = FastaiTokenizer.DecodeUtf8(utf8, decoded);
        Encode(rules.ApplyRules(decoded.Written.ToString()));
        foreach (var (_, piece) in pieces)
        {
            sink.Add(piece);
        }
        return report;
    }

    /// <summary>Fills <see cref="pieces"/> with the model's encoding of <paramref name="ruled"/> (text after the rules).</summary>
    /// <remarks>
    /// Two corrections make Microsoft.ML.Tokenizers 2.0.1 agree with SentencePiece itself (<c>spm_encode</c>):
    /// <list type="bullet">
    /// <item>Its BPE model does not keep user-defined symbols whole (it spells <c>xxbos</c> out letter by letter).
    /// SentencePiece matches them first and runs BPE between them; no merge can cross one, so encoding the stretches
    /// between symbols separately (already normalized and escaped, hence <c>considerNormalization: false</c>) gives
    /// SentencePiece's result.</item>
    /// <item>SentencePiece returns a run of unknown characters as one piece with the unknown id and the run's own text;
    /// the library returns one piece per character (BPE: each spelled <c>&lt;unk&gt;</c>).</item>
    /// </list>
    /// </remarks>
    private void Encode(string ruled)
    {
        pieces.Clear();
        if (sentencePiece is null)
        {
            foreach (EncodedToken token in model.EncodeToTokens(ruled, out _))
            {
                pieces.Add((token.Id, token.Value));
            }
            return;
        }
        // The normalized text comes from a full encode: the library's public Normalizer.Normalize skips the model's
        // precompiled character map (2.0.1), so for BPE with user-defined symbols the first encode only serves for that.
        IReadOnlyList<EncodedToken> tokens = model.EncodeToTokens(ruled, out string? normalized);
        normalized ??= ruled;
        if (!sentencePiece.IsBpe || sentencePiece.UserDefined.Length == 0)
        {
            AddMergingUnknown(tokens, normalized);
            return;
        }
        int start = 0, position = 0;
        while (position < normalized.Length)
        {
            string? symbol = UserDefinedAt(normalized, position);
            if (symbol is null)
            {
                position++;
                continue;
            }
            EncodeStretch(normalized, start, position);
            pieces.Add((sentencePiece.IdOf[symbol], symbol));
            position += symbol.Length;
            start = position;
        }
        EncodeStretch(normalized, start, normalized.Length);
    }

    private void EncodeStretch(string normalized, int start, int end)
    {
        if (end > start)
        {
            string stretch = normalized[start..end];
            AddMergingUnknown(model.EncodeToTokens(stretch, out _, considerPreTokenization: false, considerNormalization: false), stretch);
        }
    }

    // Longest user-defined symbol starting at position (SentencePiece's prefix matcher).
    private string? UserDefinedAt(string text, int position)
    {
        foreach (string symbol in sentencePiece!.UserDefined)
        {
            if (text.AsSpan(position).StartsWith(symbol, StringComparison.Ordinal))
            {
                return symbol;
            }
        }
        return null;
    }

    // Offsets index into text (the normalized text, or the stretch that was encoded).
    private void AddMergingUnknown(IReadOnlyList<EncodedToken> tokens, string text)
    {
        int unknown = sentencePiece!.UnknownId;
        int runStart = -1, runEnd = -1;
        foreach (EncodedToken token in tokens)
        {
            (int from, int length) = token.Offset.GetOffsetAndLength(text.Length);
            if (token.Id == unknown)
            {
                if (runStart >= 0 && from == runEnd)
                {
                    runEnd = from + length;
                    continue;
                }
                FlushUnknown(text, runStart, runEnd);
                runStart = from;
                runEnd = from + length;
                continue;
            }
            FlushUnknown(text, runStart, runEnd);
            runStart = -1;
            pieces.Add((token.Id, token.Value));
        }
        FlushUnknown(text, runStart, runEnd);
    }

    private void FlushUnknown(string text, int start, int end)
    {
        if (start >= 0 && end > start)
        {
            pieces.Add((sentencePiece!.UnknownId, text[start..end]));
        }
    }
}
