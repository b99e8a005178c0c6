using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using FastText.Engine.IO;

namespace FastText.Engine.Text;

/// <summary>
/// Streams a corpus file (see <see cref="CorpusFormat"/>): token ids go straight into a temporary file, per-document
/// metadata into temporary side files, so memory does not grow with the corpus. <see cref="Complete"/> appends the
/// sections, writes the header and renames the file into place; <see cref="Dispose"/> without it deletes everything.
/// </summary>
internal sealed class CorpusFileWriter : IDisposable
{
    private const int BufferSize = 1 << 20;

    private readonly string path;
    private readonly string temporaryPath;
    private readonly FileStream tokens;
    private readonly FileStream offsets;
    private readonly FileStream labels;
    private readonly FileStream splits;
    private readonly byte[] scratch = new byte[BufferSize];
    private int idWidth;
    private int vocabularySize;
    private ulong vocabularyHash;
    private long tokenCount;
    private long documentTokens;
    private long documentCount;
    private bool anyLabeled;
    private bool allLabeled = true;
    private bool completed;

    public CorpusFileWriter(string path)
    {
        this.path = Path.GetFullPath(path);
        temporaryPath = AtomicFile.TemporaryPathFor(this.path);
        tokens = Create(temporaryPath);
        offsets = Create(temporaryPath + ".offsets");
        labels = Create(temporaryPath + ".labels");
        splits = Create(temporaryPath + ".splits");
        tokens.Write(new byte[CorpusFormat.HeaderSize]);
        WriteInt64(offsets, 0);
    }

    private static FileStream Create(string file) =>
        new(file, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, BufferSize, FileOptions.SequentialScan);

    /// <summary>Fixes the vocabulary (and so the id width); must come before the first <see cref="WriteTokens"/>.</summary>
    public void SetVocabulary(Vocabulary vocabulary)
    {
        vocabularySize = vocabulary.Count;
        vocabularyHash = vocabulary.Hash;
        idWidth = CorpusFormat.IdWidthFor(vocabulary.Count);
    }

    /// <summary>Appends token ids (already final vocabulary ids) to the current document.</summary>
    public void WriteTokens(ReadOnlySpan<int> ids)
    {
        if (idWidth == 0)
        {
            throw new InvalidOperationException("SetVocabulary must be called before writing tokens.");
        }
        while (!ids.IsEmpty)
        {
            int count = Math.Min(ids.Length, BufferSize / idWidth);
            Span<byte> target = scratch.AsSpan(0, count * idWidth);
            switch (idWidth)
            {
                case 1:
                    for (int i = 0; i < count; i++)
                    {
                        target[i] = (byte)ids[i];
                    }
                    break;
                case 2:
                    Span<ushort> shorts = MemoryMarshal.Cast<byte, ushort>(target);
                    for (int i = 0; i < count; i++)
                    {
                        shorts[i] = (ushort)ids[i];
                    }
                    break;
                default:
                    MemoryMarshal.AsBytes(ids[..count]).CopyTo(target);
                    break;
            }
            tokens.Write(target);
            tokenCount += count;
            ids = ids[count..];
        }
    }

    /// <summary>Records one document's metadata (its tokens may be written before or after, in document order).</summary>
    public void AddDocument(int length, int label, DocumentSplit split)
    {
        documentTokens += length;
        documentCount++;
        WriteInt64(offsets, documentTokens);
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(four, label);
        labels.Write(four);
        splits.WriteByte((byte)split);
        anyLabeled |= label >= 0;
        allLabeled &= label >= 0;
    }

    /// <summary>Finishes the file: <paramref name="labelMap"/> turns the labels given to <see cref="AddDocument"/> into class indices.</summary>
    public void Complete(IReadOnlyList<string> classNames, ReadOnlySpan<int> labelMap)
    {
        if (documentTokens != tokenCount)
        {
            throw new InvalidOperationException($"Documents cover {documentTokens} tokens but {tokenCount} were written.");
        }
        var header = new CorpusFormat.Header
        {
            IdWidth = idWidth == 0 ? 1 : idWidth,
            VocabularySize = vocabularySize,
            VocabularyHash = vocabularyHash,
            Documents = documentCount,
            Tokens = tokenCount,
            Classes = anyLabeled ? classNames.Count : 0,
            TokensOffset = CorpusFormat.HeaderSize,
        };
        Align(tokens);
        header.OffsetsOffset = tokens.Position;
        Append(offsets, null);
        if (anyLabeled)
        {
            Align(tokens);
            header.LabelsOffset = tokens.Position;
            header.Flags |= CorpusFormat.Flags.HasLabelSection | (allLabeled ? CorpusFormat.Flags.AllLabeled : 0);
            Append(labels, labelMap.ToArray());
        }
        header.SplitsOffset = tokens.Position;
        Append(splits, null);
        Align(tokens);
        header.ClassNamesOffset = tokens.Position;
        if (anyLabeled)
        {
            Span<byte> four = stackalloc byte[4];
            foreach (string name in classNames)
            {
                byte[] utf8 = Encoding.UTF8.GetBytes(name);
                BinaryPrimitives.WriteInt32LittleEndian(four, utf8.Length);
                tokens.Write(four);
                tokens.Write(utf8);
            }
        }
        header.ClassNamesLength = tokens.Position - header.ClassNamesOffset;
        header.FileLength = tokens.Position;
        header.BodyDigest = BodyDigest(tokens, header.FileLength);
        byte[] headerBytes = new byte[CorpusFormat.HeaderSize];
        CorpusFormat.Write(headerBytes, header);
        tokens.Position = 0;
        tokens.Write(headerBytes);
        tokens.Flush(flushToDisk: true);
        tokens.Dispose();
        AtomicFile.Commit(temporaryPath, path);
        completed = true;
        DisposeSideFiles();
    }

    private void Append(FileStream source, int[]? labelMap)
    {
        source.Flush();
        source.Position = 0;
        int read;
        while ((read = source.Read(scratch, 0, scratch.Length)) > 0)
        {
            if (labelMap is not null)
            {
                Span<int> values = MemoryMarshal.Cast<byte, int>(scratch.AsSpan(0, read));
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = values[i] < 0 ? -1 : labelMap[values[i]];
                }
            }
            tokens.Write(scratch, 0, read);
        }
    }

    // The body just written, read back (from the page cache) and hashed: one pass at several GB/s, simpler than
    // hashing every section on its way in.
    private static ulong BodyDigest(FileStream file, long length)
    {
        file.Flush();
        file.Position = CorpusFormat.HeaderSize;
        var hash = new System.IO.Hashing.XxHash3();
        hash.Append(file);
        if (file.Position != length)
        {
            throw new InvalidOperationException($"Corpus body is {file.Position} bytes, expected {length}.");
        }
        return hash.GetCurrentHashAsUInt64();
    }

    private static void Align(FileStream stream)
    {
        int padding = (int)((8 - (stream.Position % 8)) % 8);
        for (int i = 0; i < padding; i++)
        {
            stream.WriteByte(0);
        }
    }

    private static void WriteInt64(FileStream stream, long value)
    {
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(eight, value);
        stream.Write(eight);
    }

    private void DisposeSideFiles()
    {
        foreach (FileStream stream in new[] { offsets, labels, splits })
        {
            string name = stream.Name;
            stream.Dispose();
            File.Delete(name);
        }
    }

    public void Dispose()
    {
        if (completed)
        {
            return;
        }
        tokens.Dispose();
        File.Delete(temporaryPath);
        DisposeSideFiles();
        completed = true;
    }
}
