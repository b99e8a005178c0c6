using System.Buffers.Binary;

namespace FastText.Engine.Text;

/// <summary>
/// Layout of a numericalized corpus file (little-endian). A 256-byte header, then 8-byte-aligned sections:
/// token ids (1, 2 or 4 bytes each: the narrowest that holds the vocabulary), document offsets (int64, one more
/// than documents), labels (int32 per document, −1 = unlabeled; optional), splits (one byte per document), class
/// names (int32 byte length + UTF-8, per class).
/// </summary>
/// <remarks>
/// Header fields: 0 magic "FTCORPUS" · 8 format version · 12 header size · 16 id width · 20 vocabulary size ·
/// 24 vocabulary hash · 32 documents · 40 tokens · 48 classes · 52 flags · 56 tokens offset · 64 offsets offset ·
/// 72 labels offset · 80 splits offset · 88 class names offset · 96 class names length · 104 file length ·
/// 112 FNV-1a hash of bytes 0–111 · 120 XXH3-64 of the body (bytes 256 to the end).
/// The body digest is checked when a corpus is opened (one pass over the mapped file at several GB/s), together with
/// the ids' range and the offsets' order: a flipped bit is refused at open, naming the file, instead of surfacing as
/// libtorch's "index out of range" in the middle of an epoch. Version 1 had no body digest and is refused.
/// </remarks>
internal static class CorpusFormat
{
    public const int HeaderSize = 256;
    public const int Version = 2;
    public static ReadOnlySpan<byte> Magic => "FTCORPUS"u8;

    [Flags]
    public enum Flags
    {
        None = 0,
        HasLabelSection = 1,
        AllLabeled = 2,
    }

    public struct Header
    {
        public int IdWidth;
        public int VocabularySize;
        public ulong VocabularyHash;
        public long Documents;
        public long Tokens;
        public int Classes;
        public Flags Flags;
        public long TokensOffset;
        public long OffsetsOffset;
        public long LabelsOffset;
        public long SplitsOffset;
        public long ClassNamesOffset;
        public long ClassNamesLength;
        public long FileLength;
        public ulong BodyDigest;
    }

    public static void Write(Span<byte> buffer, in Header header)
    {
        buffer[..HeaderSize].Clear();
        Magic.CopyTo(buffer);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[12..], HeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[16..], header.IdWidth);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[20..], header.VocabularySize);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[24..], header.VocabularyHash);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[32..], header.Documents);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[40..], header.Tokens);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[48..], header.Classes);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[52..], (int)header.Flags);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[56..], header.TokensOffset);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[64..], header.OffsetsOffset);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[72..], header.LabelsOffset);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[80..], header.SplitsOffset);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[88..], header.ClassNamesOffset);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[96..], header.ClassNamesLength);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[104..], header.FileLength);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[112..], Checksum(buffer[..112]));
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[120..], header.BodyDigest);
    }

    /// <summary>Parses and validates a header; <paramref name="actualLength"/> is the file's size on disk.</summary>
    public static Header Read(ReadOnlySpan<byte> buffer, long actualLength, string path)
    {
        if (buffer.Length < 8 || !buffer[..8].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{path}: not a FastText.Engine corpus file (expected the magic 'FTCORPUS' at byte 0).");
        }
        if (buffer.Length < HeaderSize)
        {
            throw new InvalidDataException($"{path}: truncated corpus file: {actualLength} bytes, shorter than the {HeaderSize}-byte header.");
        }
        int version = BinaryPrimitives.ReadInt32LittleEndian(buffer[8..]);
        if (version != Version)
        {
            throw new InvalidDataException(version == 1
                ? $"{path}: corpus format version 1, written before corpus files carried a checksum of their tokens; this build reads version {Version} only. Tokenize the text again."
                : $"{path}: corpus format version {version} is not supported (this build reads version {Version}).");
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(buffer[112..]) != Checksum(buffer[..112]))
        {
            throw new InvalidDataException($"{path}: corpus header is damaged (checksum mismatch).");
        }
        var header = new Header
        {
            IdWidth = BinaryPrimitives.ReadInt32LittleEndian(buffer[16..]),
            VocabularySize = BinaryPrimitives.ReadInt32LittleEndian(buffer[20..]),
            VocabularyHash = BinaryPrimitives.ReadUInt64LittleEndian(buffer[24..]),
            Documents = BinaryPrimitives.ReadInt64LittleEndian(buffer[32..]),
            Tokens = BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]),
            Classes = BinaryPrimitives.ReadInt32LittleEndian(buffer[48..]),
            Flags = (Flags)BinaryPrimitives.ReadInt32LittleEndian(buffer[52..]),
            TokensOffset = BinaryPrimitives.ReadInt64LittleEndian(buffer[56..]),
            OffsetsOffset = BinaryPrimitives.ReadInt64LittleEndian(buffer[64..]),
            LabelsOffset = BinaryPrimitives.ReadInt64LittleEndian(buffer[72..]),
            SplitsOffset = BinaryPrimitives.ReadInt64LittleEndian(buffer[80..]),
            ClassNamesOffset = BinaryPrimitives.ReadInt64LittleEndian(buffer[88..]),
            ClassNamesLength = BinaryPrimitives.ReadInt64LittleEndian(buffer[96..]),
            FileLength = BinaryPrimitives.ReadInt64LittleEndian(buffer[104..]),
            BodyDigest = BinaryPrimitives.ReadUInt64LittleEndian(buffer[120..]),
        };
        if (header.FileLength != actualLength)
        {
            throw new InvalidDataException(actualLength < header.FileLength
                ? $"{path}: truncated corpus file: {actualLength} bytes, the header says {header.FileLength}."
                : $"{path}: corpus file has {actualLength - header.FileLength} unexpected trailing bytes (header says {header.FileLength}).");
        }
        if (header.IdWidth is not (1 or 2 or 4) || header.Documents is < 0 or > int.MaxValue || header.Tokens < 0 || header.Classes < 0)
        {
            throw new InvalidDataException($"{path}: corpus header has impossible values (id width {header.IdWidth}, {header.Documents} documents, {header.Tokens} tokens).");
        }
        CheckSection(path, "tokens", header.TokensOffset, header.Tokens * header.IdWidth, actualLength);
        CheckSection(path, "offsets", header.OffsetsOffset, (header.Documents + 1) * 8, actualLength);
        if ((header.Flags & Flags.HasLabelSection) != 0)
        {
            CheckSection(path, "labels", header.LabelsOffset, header.Documents * 4, actualLength);
        }
        CheckSection(path, "splits", header.SplitsOffset, header.Documents, actualLength);
        CheckSection(path, "class names", header.ClassNamesOffset, header.ClassNamesLength, actualLength);
        return header;
    }

    private static void CheckSection(string path, string name, long offset, long length, long fileLength)
    {
        if (offset < HeaderSize || length < 0 || offset > fileLength || length > fileLength - offset)
        {
            throw new InvalidDataException($"{path}: corpus section '{name}' ({length} bytes at {offset}) lies outside the {fileLength}-byte file.");
        }
    }

    /// <summary>The narrowest id width (bytes) for a vocabulary of <paramref name="vocabularySize"/> entries.</summary>
    public static int IdWidthFor(int vocabularySize) => vocabularySize <= byte.MaxValue + 1 ? 1 : vocabularySize <= ushort.MaxValue + 1 ? 2 : 4;

    /// <summary>XXH3-64 of a file's body, read in chunks from <paramref name="body"/> (spans are limited to 2 GB).</summary>
    public static unsafe ulong BodyDigestOf(byte* body, long length)
    {
        var hash = new System.IO.Hashing.XxHash3();
        for (long done = 0; done < length;)
        {
            int chunk = (int)Math.Min(1L << 30, length - done);
            hash.Append(new ReadOnlySpan<byte>(body + done, chunk));
            done += chunk;
        }
        return hash.GetCurrentHashAsUInt64();
    }

    public static ulong Checksum(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * 0x100000001B3UL;
        }
        return hash;
    }
}
