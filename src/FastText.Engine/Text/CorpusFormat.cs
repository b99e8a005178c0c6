using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace FastText.Engine.Text;

/// <summary>
/// Layout of a numericalized corpus file (little-endian). A 256-byte header, then 8-byte-aligned sections:
/// token ids (1, 2 or 4 bytes each: the narrowest that holds the vocabulary), document offsets (int64, one more
/// than documents), labels (int32 per document, −1 = unlabeled; optional), splits (one byte per document), class
/// names (int32 byte length + UTF-8, per class).
/// </summary>
/// <remarks>
/// The header's fields and their byte offsets are <see cref="Header"/>'s explicit layout, the one place they are
/// written down; bytes 0–15 (magic "FTCORPUS", format version, header size) and 112 (FNV-1a hash of bytes 0–111) are
/// set around it, and bytes 128–255 are zero. The body digest (XXH3-64 of bytes 256 to the end) is checked when a
/// corpus is opened (one pass over the mapped file at several GB/s), together with
/// the ids' range and the offsets' order: a flipped bit is refused at open, naming the file, instead of surfacing as
/// libtorch's "index out of range" in the middle of an epoch. Version 1 had no body digest and is refused.
/// </remarks>
internal static class CorpusFormat
{
    public const int HeaderSize = 256;
    public const int Version = 2;
    public static ReadOnlySpan<byte> Magic => "FTCORPUS"u8;

    // Where the header's own checksum lies (it covers the bytes before it), and its last field.
    private const int ChecksumOffset = 112, BodyDigestOffset = 120;

    [Flags]
    public enum Flags
    {
        None = 0,
        HasLabelSection = 1,
        AllLabeled = 2,
    }

    /// <summary>The header as it lies in the file (little-endian; the offsets are the format's).</summary>
    [StructLayout(LayoutKind.Explicit, Size = HeaderSize)]
    public struct Header
    {
        [FieldOffset(16)] public int IdWidth;
        [FieldOffset(20)] public int VocabularySize;
        [FieldOffset(24)] public ulong VocabularyHash;
        [FieldOffset(32)] public long Documents;
        [FieldOffset(40)] public long Tokens;
        [FieldOffset(48)] public int Classes;
        [FieldOffset(52)] public Flags Flags;
        [FieldOffset(56)] public long TokensOffset;
        [FieldOffset(64)] public long OffsetsOffset;
        [FieldOffset(72)] public long LabelsOffset;
        [FieldOffset(80)] public long SplitsOffset;
        [FieldOffset(88)] public long ClassNamesOffset;
        [FieldOffset(96)] public long ClassNamesLength;
        [FieldOffset(104)] public long FileLength;
        [FieldOffset(BodyDigestOffset)] public ulong BodyDigest;
    }

    public static void Write(Span<byte> buffer, in Header header)
    {
        EnsureLittleEndian();
        MemoryMarshal.Write(buffer, in header);
        // Every byte outside the fields is set here, whatever a copy of the struct carried in its gaps.
        buffer[(BodyDigestOffset + 8)..HeaderSize].Clear();
        Magic.CopyTo(buffer);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(buffer[12..], HeaderSize);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[ChecksumOffset..], Checksum(buffer[..ChecksumOffset]));
    }

    // The struct is the file's bytes: a big-endian host would read every field byte-swapped.
    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Corpus files are little-endian; this host is big-endian.");
        }
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
        if (BinaryPrimitives.ReadUInt64LittleEndian(buffer[ChecksumOffset..]) != Checksum(buffer[..ChecksumOffset]))
        {
            throw new InvalidDataException($"{path}: corpus header is damaged (checksum mismatch).");
        }
        EnsureLittleEndian();
        Header header = MemoryMarshal.Read<Header>(buffer);
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
