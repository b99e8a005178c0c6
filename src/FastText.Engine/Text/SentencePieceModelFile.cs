using System.Text;

namespace FastText.Engine.Text;

/// <summary>
/// Checks a SentencePiece <c>.model</c> file (a serialized <c>ModelProto</c>) before Microsoft.ML.Tokenizers sees it,
/// and works around what that library (2.0.1) cannot load.
/// </summary>
/// <remarks>
/// fastai trains its SentencePiece models with <c>--bos_id=-1 --eos_id=-1</c> (no sentence markers: the rules already
/// start every text with <c>xxbos</c>). Microsoft.ML.Tokenizers 2.0.1 indexes its piece table with those ids and
/// fails with an <see cref="IndexOutOfRangeException"/> on such a model. The fix appends, for each absent marker, one
/// control piece at the end of the piece table and a trainer-spec record naming it (protobuf merges a repeated
/// embedded message into the first, so nothing is rewritten): every existing piece keeps its id, control pieces are
/// never produced by encoding and are skipped by decoding, and the markers are not added (the tokenizer is created
/// without them). The reader only walks the protobuf structure it needs; anything malformed is reported with the
/// file's name instead of the library's bare parse error.
/// </remarks>
internal static class SentencePieceModelFile
{
    // ModelProto fields.
    private const int PiecesField = 1, TrainerSpecField = 2;

    // ModelProto.SentencePiece fields and the CONTROL type.
    private const int PieceTextField = 1, PieceScoreField = 2, PieceTypeField = 3;

    // TrainerSpec fields.
    private const int ModelTypeField = 3, UnknownIdField = 40, BosIdField = 41, EosIdField = 42, BosPieceField = 46, EosPieceField = 47;

    /// <summary>Piece types of <c>ModelProto.SentencePiece.Type</c>.</summary>
    internal enum PieceType : byte
    {
        Normal = 1,
        Unknown = 2,
        Control = 3,
        UserDefined = 4,
        Unused = 5,
        Byte = 6,
    }

    /// <summary>What <see cref="Prepare"/> found.</summary>
    /// <param name="Proto">The bytes to hand to Microsoft.ML.Tokenizers.</param>
    /// <param name="Pieces">Every piece's text, by id (the model as trained, without appended control pieces).</param>
    /// <param name="Types">Every piece's type, by id.</param>
    /// <param name="UnknownId">Id of the unknown piece.</param>
    /// <param name="IsBpe">A BPE model (otherwise unigram).</param>
    /// <param name="UserDefined">The user-defined symbols (fastai's special tokens), longest first.</param>
    internal sealed record Prepared(byte[] Proto, string[] Pieces, PieceType[] Types, int UnknownId, bool IsBpe, string[] UserDefined)
    {
        /// <summary>Ids of the user-defined symbols.</summary>
        public Dictionary<string, int> IdOf { get; } = UserDefined.ToDictionary(u => u, u => Array.IndexOf(Pieces, u), StringComparer.Ordinal);
    }

    /// <summary>Validates <paramref name="proto"/> (named <paramref name="name"/> in errors) and returns loadable bytes.</summary>
    /// <exception cref="InvalidDataException">Not a SentencePiece model, or a kind Microsoft.ML.Tokenizers cannot run.</exception>
    public static Prepared Prepare(byte[] proto, string name)
    {
        int unknownId = 0, bosId = 1, eosId = 2, modelType = 1;
        var pieceTexts = new List<string>();
        var pieceTypes = new List<PieceType>();
        try
        {
            var reader = new Reader(proto);
            while (!reader.End)
            {
                var (field, wire) = reader.Tag();
                if (field == PiecesField && wire == 2)
                {
                    var piece = new Reader(reader.Bytes());
                    string text = "";
                    var type = PieceType.Normal;
                    while (!piece.End)
                    {
                        var (pieceField, pieceWire) = piece.Tag();
                        if (pieceField == PieceTextField && pieceWire == 2)
                        {
                            text = Encoding.UTF8.GetString(piece.Bytes());
                        }
                        else if (pieceField == PieceTypeField && pieceWire == 0)
                        {
                            type = (PieceType)piece.Varint();
                        }
                        else
                        {
                            piece.Skip(pieceWire);
                        }
                    }
                    pieceTexts.Add(text);
                    pieceTypes.Add(type);
                }
                else if (field == TrainerSpecField && wire == 2)
                {
                    var spec = new Reader(reader.Bytes());
                    while (!spec.End)
                    {
                        var (specField, specWire) = spec.Tag();
                        switch (specField)
                        {
                            case ModelTypeField when specWire == 0: modelType = (int)spec.Varint(); break;
                            case UnknownIdField when specWire == 0: unknownId = (int)spec.Varint(); break;
                            case BosIdField when specWire == 0: bosId = (int)spec.Varint(); break;
                            case EosIdField when specWire == 0: eosId = (int)spec.Varint(); break;
                            default: spec.Skip(specWire); break;
                        }
                    }
                }
                else
                {
                    reader.Skip(wire);
                }
            }
        }
        catch (FormatException error)
        {
            throw new InvalidDataException($"'{name}' is not a SentencePiece model file: {error.Message}", error);
        }
        int pieces = pieceTexts.Count;
        if (pieces == 0)
        {
            throw new InvalidDataException($"'{name}' is not a SentencePiece model file: it has no pieces.");
        }
        if (modelType is not (1 or 2))
        {
            throw new InvalidDataException($"'{name}' is a SentencePiece {(modelType == 3 ? "word" : modelType == 4 ? "char" : $"type-{modelType}")} model; only unigram and BPE models are supported.");
        }
        if ((uint)unknownId >= (uint)pieces)
        {
            throw new InvalidDataException($"'{name}': the unknown-piece id {unknownId} is outside its {pieces} pieces.");
        }
        // SentencePiece itself refuses a model that defines a piece twice ("already defined"); so does this reader,
        // before the piece → id maps are built (a repeated special token was an ArgumentException from a dictionary).
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string piece in pieceTexts)
        {
            if (piece.Length == 0)
            {
                // SentencePiece: "piece must not be empty". An empty user-defined symbol matched everywhere and never
                // advanced the encoder (the fuzzer's four hangs).
                throw new InvalidDataException($"'{name}' is not a valid SentencePiece model: piece {seen.Count} is empty.");
            }
            if (!seen.Add(piece))
            {
                throw new InvalidDataException($"'{name}' is not a valid SentencePiece model: the piece '{piece}' is defined twice.");
            }
        }
        string[] userDefined = pieceTexts.Where((_, i) => pieceTypes[i] == PieceType.UserDefined)
            .OrderByDescending(t => t.Length).ThenBy(t => t, StringComparer.Ordinal).ToArray();
        if (bosId >= 0 && eosId >= 0)
        {
            return new Prepared(proto, [.. pieceTexts], [.. pieceTypes], unknownId, modelType == 2, userDefined);
        }
        var texts = new HashSet<string>(pieceTexts, StringComparer.Ordinal);

        var patch = new List<byte>(64);
        var spec2 = new List<byte>(32);
        int next = pieces;
        if (bosId < 0)
        {
            string bosPiece = Unused(texts, "<s>");
            AppendControlPiece(patch, bosPiece);
            WriteVarintField(spec2, BosIdField, next++);
            WriteBytesField(spec2, BosPieceField, Encoding.UTF8.GetBytes(bosPiece));
        }
        if (eosId < 0)
        {
            string eosPiece = Unused(texts, "</s>");
            AppendControlPiece(patch, eosPiece);
            WriteVarintField(spec2, EosIdField, next++);
            WriteBytesField(spec2, EosPieceField, Encoding.UTF8.GetBytes(eosPiece));
        }
        WriteBytesField(patch, TrainerSpecField, [.. spec2]);
        byte[] patched = new byte[proto.Length + patch.Count];
        proto.CopyTo(patched, 0);
        patch.CopyTo(patched, proto.Length);
        return new Prepared(patched, [.. pieceTexts], [.. pieceTypes], unknownId, modelType == 2, userDefined);
    }

    private static string Unused(HashSet<string> texts, string preferred)
    {
        string candidate = preferred;
        for (int i = 1; texts.Contains(candidate); i++)
        {
            candidate = $"{preferred}#{i}";
        }
        texts.Add(candidate);
        return candidate;
    }

    private static void AppendControlPiece(List<byte> output, string text)
    {
        var piece = new List<byte>(16);
        WriteBytesField(piece, PieceTextField, Encoding.UTF8.GetBytes(text));
        WriteVarint(piece, ((ulong)PieceScoreField << 3) | 5);
        piece.AddRange(new byte[4]); // score 0.0f
        WriteVarintField(piece, PieceTypeField, (long)PieceType.Control);
        WriteBytesField(output, PiecesField, [.. piece]);
    }

    private static void WriteVarintField(List<byte> output, int field, long value)
    {
        WriteVarint(output, (ulong)field << 3);
        WriteVarint(output, (ulong)value);
    }

    private static void WriteBytesField(List<byte> output, int field, byte[] value)
    {
        WriteVarint(output, ((ulong)field << 3) | 2);
        WriteVarint(output, (ulong)value.Length);
        output.AddRange(value);
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }

    /// <summary>A protobuf wire-format cursor; every overrun is a <see cref="FormatException"/> with the offset.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> data = data;
        private int position;

        public readonly bool End => position >= data.Length;

        public (int Field, int Wire) Tag()
        {
            int at = position;
            ulong tag = Varint();
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            if (field == 0 || tag >> 3 > int.MaxValue || wire is 3 or 4 or 6 or 7)
            {
                throw new FormatException($"bad protobuf field tag 0x{tag:X} at byte {at}");
            }
            return (field, wire);
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (position >= data.Length)
                {
                    throw new FormatException($"truncated number at byte {position}");
                }
                byte b = data[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
            throw new FormatException($"number longer than 10 bytes before byte {position}");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            int at = position;
            ulong length = Varint();
            if (length > (ulong)(data.Length - position))
            {
                throw new FormatException($"a {length}-byte record at byte {at} runs past the end ({data.Length - position} bytes left)");
            }
            ReadOnlySpan<byte> value = data.Slice(position, (int)length);
            position += (int)length;
            return value;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case 2: Bytes(); break;
                case 5: Advance(4); break;
                default: throw new FormatException($"bad protobuf wire type {wire} before byte {position}");
            }
        }

        private void Advance(int count)
        {
            if (data.Length - position < count)
            {
                throw new FormatException($"truncated record at byte {position}");
            }
            position += count;
        }
    }
}
