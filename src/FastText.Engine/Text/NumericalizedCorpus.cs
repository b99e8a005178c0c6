using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text;

namespace FastText.Engine.Text;

/// <summary>
/// A numericalized corpus file opened memory-mapped (the result of <see cref="CorpusBuilder"/>). Opening reads only
/// the 256-byte header and the class names, so it takes the same time whatever the corpus size; any document is
/// read straight from the mapping. Safe for concurrent reads. A truncated, damaged or foreign file is rejected
/// with an <see cref="InvalidDataException"/> naming the file and the problem.
/// </summary>
public sealed unsafe class NumericalizedCorpus : ITokenCorpus, IDisposable
{
    private readonly MemoryMappedFile file;
    private readonly MemoryMappedViewAccessor view;
    private readonly byte* basePointer;
    private readonly CorpusFormat.Header header;
    private readonly long* offsets;
    private readonly int* labels;
    private readonly byte* splits;
    private readonly byte* tokens;
    private bool disposed;

    private NumericalizedCorpus(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, CorpusFormat.Header header, string[] classNames)
    {
        Path = path;
        this.file = file;
        this.view = view;
        this.header = header;
        ClassNames = classNames;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        basePointer = pointer + view.PointerOffset;
        offsets = (long*)(basePointer + header.OffsetsOffset);
        labels = (header.Flags & CorpusFormat.Flags.HasLabelSection) != 0 ? (int*)(basePointer + header.LabelsOffset) : null;
        splits = basePointer + header.SplitsOffset;
        tokens = basePointer + header.TokensOffset;
    }

    /// <summary>The file this corpus was opened from.</summary>
    public string Path { get; }

    /// <summary>Number of vocabulary entries the ids refer to.</summary>
    public int VocabularySize => header.VocabularySize;

    /// <summary>Fingerprint of the vocabulary the corpus was numericalized with (<see cref="Vocabulary.Hash"/>).</summary>
    public ulong VocabularyHash => header.VocabularyHash;

    /// <summary>Bytes per stored token id (1, 2 or 4: the narrowest that holds the vocabulary).</summary>
    public int IdWidth => header.IdWidth;

    /// <inheritdoc />
    public int DocumentCount => (int)header.Documents;

    /// <inheritdoc />
    public long TokenCount => header.Tokens;

    /// <inheritdoc />
    public bool HasLabels => (header.Flags & CorpusFormat.Flags.AllLabeled) != 0 && header.Documents > 0;

    /// <inheritdoc />
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>
    /// Opens <paramref name="path"/>. With <paramref name="vocabulary"/>, also checks that the corpus was built with it.
    /// </summary>
    public static NumericalizedCorpus Open(string path, Vocabulary? vocabulary = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        CorpusFormat.Header header;
        string[] classNames;
        using (var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None))
        {
            Span<byte> buffer = stackalloc byte[CorpusFormat.HeaderSize];
            int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            header = CorpusFormat.Read(buffer[..read], stream.Length, full);
            classNames = ReadClassNames(stream, header, full);
        }
        if (vocabulary is not null && (vocabulary.Hash != header.VocabularyHash || vocabulary.Count != header.VocabularySize))
        {
            throw new InvalidDataException($"{full}: built with a different vocabulary ({header.VocabularySize} entries, hash {header.VocabularyHash:x16}) than the one given ({vocabulary.Count} entries, hash {vocabulary.Hash:x16}).");
        }
        MemoryMappedFile file = MemoryMappedFile.CreateFromFile(full, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            MemoryMappedViewAccessor view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            var corpus = new NumericalizedCorpus(full, file, view, header, classNames);
            try
            {
                corpus.Verify();
            }
            catch
            {
                corpus.Dispose();
                throw;
            }
            return corpus;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    // The body digest, then what a well-written body holds anyway (checked too: a file can be rewritten with a valid
    // digest by other tools): offsets rising from 0 to the token count, ids inside the vocabulary, labels inside the
    // classes, splits known.
    private void Verify()
    {
        if (CorpusFormat.BodyDigestOf(basePointer + CorpusFormat.HeaderSize, header.FileLength - CorpusFormat.HeaderSize) != header.BodyDigest)
        {
            throw new InvalidDataException($"{Path}: corpus file is damaged: the checksum of its tokens, offsets and labels does not match (a flipped bit, an edited or partly copied file). Tokenize the text again.");
        }
        if (offsets[0] != 0 || offsets[header.Documents] != header.Tokens)
        {
            throw new InvalidDataException($"{Path}: corpus offsets run from {offsets[0]} to {offsets[header.Documents]}, not from 0 to its {header.Tokens} tokens.");
        }
        for (long d = 0; d < header.Documents; d++)
        {
            if (offsets[d + 1] < offsets[d])
            {
                throw new InvalidDataException($"{Path}: document {d} ends before it starts (offsets {offsets[d]} → {offsets[d + 1]}).");
            }
            if (labels is not null && (labels[d] < -1 || labels[d] >= header.Classes))
            {
                throw new InvalidDataException($"{Path}: document {d} has label {labels[d]}, outside its {header.Classes} classes.");
            }
            if (splits[d] > (byte)DocumentSplit.Validation)
            {
                throw new InvalidDataException($"{Path}: document {d} has an unknown split {splits[d]}.");
            }
        }
        long largest = LargestId();
        if (header.Tokens > 0 && largest >= header.VocabularySize)
        {
            throw new InvalidDataException($"{Path}: token id {largest} is outside the corpus's vocabulary of {header.VocabularySize} entries.");
        }
    }

    // Spans hold at most 2³¹ elements: the stream is scanned in chunks.
    private long LargestId()
    {
        long largest = 0;
        for (long start = 0; start < header.Tokens; start += 1 << 30)
        {
            int count = (int)Math.Min(1 << 30, header.Tokens - start);
            largest = Math.Max(largest, header.IdWidth switch
            {
                1 => Largest(new ReadOnlySpan<byte>(tokens + start, count)),
                2 => Largest(new ReadOnlySpan<ushort>(tokens + (start * 2), count)),
                // As unsigned, a negative id is larger than any vocabulary.
                _ => Largest(new ReadOnlySpan<uint>(tokens + (start * 4), count)),
            });
        }
        return largest;
    }

    private static long Largest<T>(ReadOnlySpan<T> values)
        where T : unmanaged, System.Numerics.INumber<T>
    {
        var wide = System.Numerics.Vector<T>.Zero;
        int i = 0;
        for (; i <= values.Length - System.Numerics.Vector<T>.Count; i += System.Numerics.Vector<T>.Count)
        {
            wide = System.Numerics.Vector.Max(wide, new System.Numerics.Vector<T>(values.Slice(i)));
        }
        T largest = T.Zero;
        for (int lane = 0; lane < System.Numerics.Vector<T>.Count; lane++)
        {
            largest = T.Max(largest, wide[lane]);
        }
        for (; i < values.Length; i++)
        {
            largest = T.Max(largest, values[i]);
        }
        return long.CreateTruncating(largest);
    }

    private static string[] ReadClassNames(FileStream stream, CorpusFormat.Header header, string path)
    {
        if (header.Classes == 0)
        {
            return [];
        }
        var bytes = new byte[header.ClassNamesLength];
        stream.Position = header.ClassNamesOffset;
        stream.ReadExactly(bytes);
        var names = new string[header.Classes];
        int position = 0;
        for (int i = 0; i < names.Length; i++)
        {
            if (position + 4 > bytes.Length)
            {
                throw new InvalidDataException($"{path}: class name section is shorter than its {header.Classes} names.");
            }
            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(position));
            position += 4;
            if (length < 0 || position + length > bytes.Length)
            {
                throw new InvalidDataException($"{path}: class name {i} runs past its section.");
            }
            names[i] = Encoding.UTF8.GetString(bytes, position, length);
            position += length;
        }
        return names;
    }

    /// <inheritdoc />
    public int DocumentLength(int document)
    {
        CheckDocument(document);
        return (int)(offsets[document + 1] - offsets[document]);
    }

    /// <summary>Where <paramref name="document"/> starts in the token stream.</summary>
    public long DocumentStart(int document)
    {
        CheckDocument(document);
        return offsets[document];
    }

    /// <inheritdoc />
    public void CopyTokens(int document, int start, Span<int> destination)
    {
        int length = DocumentLength(document);
        if (start < 0 || start > length - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Tokens [{start}, {start + destination.Length}) are outside document {document} of length {length}.");
        }
        CopyStream(offsets[document] + start, destination);
    }

    /// <summary>Copies tokens <c>[position, position + destination.Length)</c> of the whole token stream (documents back to back).</summary>
    public void CopyStream(long position, Span<int> destination)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (position < 0 || position > header.Tokens - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(position), $"Tokens [{position}, {position + destination.Length}) are outside the {header.Tokens}-token stream of {Path}.");
        }
        switch (header.IdWidth)
        {
            case 1:
                var bytes = new ReadOnlySpan<byte>(tokens + position, destination.Length);
                for (int i = 0; i < bytes.Length; i++)
                {
                    destination[i] = bytes[i];
                }
                break;
            case 2:
                var shorts = new ReadOnlySpan<ushort>(tokens + (position * 2), destination.Length);
                for (int i = 0; i < shorts.Length; i++)
                {
                    destination[i] = shorts[i];
                }
                break;
            default:
                new ReadOnlySpan<int>(tokens + (position * 4), destination.Length).CopyTo(destination);
                break;
        }
    }

    /// <summary>Whether <paramref name="document"/> has a class label.</summary>
    public bool IsLabeled(int document)
    {
        CheckDocument(document);
        return labels is not null && labels[document] >= 0;
    }

    /// <inheritdoc />
    public int Label(int document)
    {
        CheckDocument(document);
        if (labels is null)
        {
            throw new InvalidOperationException($"{Path} has no labels.");
        }
        int label = labels[document];
        return label >= 0 ? label : throw new InvalidOperationException($"Document {document} of {Path} has no label (e.g. IMDb unsup); select labeled documents with Select(..., labeledOnly: true).");
    }

    /// <summary>The split <paramref name="document"/> belongs to.</summary>
    public DocumentSplit Split(int document)
    {
        CheckDocument(document);
        return (DocumentSplit)splits[document];
    }

    /// <summary>
    /// The documents of one split (e.g. train vs validation for a classifier), optionally only the labeled ones,
    /// as an <see cref="ITokenCorpus"/> view over this file (no copy).
    /// </summary>
    public TokenCorpusView Select(DocumentSplit split, bool labeledOnly = false)
    {
        var documents = new List<int>();
        for (int d = 0; d < DocumentCount; d++)
        {
            if ((DocumentSplit)splits[d] == split && (!labeledOnly || (labels is not null && labels[d] >= 0)))
            {
                documents.Add(d);
            }
        }
        return new TokenCorpusView(this, documents.ToArray(), labels is null ? null : IsLabeled);
    }

    private void CheckDocument(int document)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if ((uint)document >= (ulong)header.Documents)
        {
            throw new ArgumentOutOfRangeException(nameof(document), $"Document {document} is outside the {header.Documents} documents of {Path}.");
        }
    }

    /// <summary>Unmaps the file. Do not dispose while another thread still reads.</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }
        disposed = true;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        file.Dispose();
    }
}
