using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using FastText.Engine.IO;

namespace FastText.Engine.Models;

/// <summary>
/// The engine's weights container: a magic number, a JSON header (what the file holds, for clear mismatch errors), then
/// named tensors (dtype, shape, raw bytes), then the SHA-256 of everything before it. Written to a temporary file and
/// renamed, so a crash never leaves half a file; the digest is checked before anything is parsed, so a flipped bit
/// anywhere (a weight, a shape, the header) is refused instead of loading other numbers.
/// </summary>
/// <remarks>Version 1 had no digest; such files are refused with a message saying so (the engine cannot tell a damaged
/// one from a good one). SHA-256 rather than a CRC: it costs ~0.5 ms per MB on these machines, nothing next to
/// training, and no accidental corruption passes it.</remarks>
internal static class TensorArchive
{
    private const uint Magic = 0x57545846; // "FTXW"
    private const int Version = 2;
    private const int DigestSize = SHA256.HashSizeInBytes;

    /// <summary>Writes <paramref name="tensors"/> (and an optional extra payload) atomically.</summary>
    /// <remarks>A floating-point tensor holding NaN or ±∞ is refused before anything is written: weights like that
    /// predict nothing, and the file they would replace is kept.</remarks>
    public static void Write(string path, object header, IEnumerable<KeyValuePair<string, Tensor>> tensors, Action<BinaryWriter>? extra = null)
    {
        var list = tensors.ToList();
        foreach (var (name, tensor) in list)
        {
            if (tensor.is_floating_point() && !IsFinite(tensor))
            {
                throw new InvalidDataException($"Refusing to write '{path}': '{name}' holds NaN or infinite values (training diverged); the previous file, if any, is kept.");
            }
        }
        AtomicFile.Write(path, file =>
        {
            using var stream = new DigestingStream(file);
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(JsonSerializer.Serialize(header, header.GetType(), HeaderJson));
            writer.Write(list.Count);
            foreach (var (name, tensor) in list)
            {
                WriteTensor(writer, name, tensor);
            }
            writer.Write(extra is not null);
            extra?.Invoke(writer);
            writer.Flush();
            file.Write(stream.Digest());
        });
    }

    /// <summary>Reads a file written by <see cref="Write"/>; the caller owns (disposes) the tensors.</summary>
    public static (T Header, Dictionary<string, Tensor> Tensors) Read<T>(string path, Action<T, BinaryReader>? extra = null)
    {
        using FileStream stream = OpenVerified(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            long payloadEnd = stream.Length - DigestSize;
            T header = ReadHeader<T>(ReadString(reader, path, "header"), path);
            int count = reader.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                var (name, tensor) = ReadTensor(reader, path);
                tensors[name] = tensor;
            }
            if (reader.ReadBoolean())
            {
                if (extra is null)
                {
                    throw new InvalidDataException($"'{path}' carries a payload this reader does not expect.");
                }
                extra(header, reader);
            }
            if (stream.Position != payloadEnd)
            {
                throw new InvalidDataException($"'{path}' has {payloadEnd - stream.Position} bytes this reader does not understand before its checksum.");
            }
            return (header, tensors);
        }
        catch (EndOfStreamException e)
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
            throw new InvalidDataException($"'{path}' is truncated.", e);
        }
        catch (FormatException e)
        {
            // BinaryReader.ReadString's length prefix (a 7-bit varint) running past five bytes.
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
            throw new InvalidDataException($"'{path}' is damaged: {e.Message}", e);
        }
        catch
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Checks that <paramref name="path"/> is a whole file of this format: magic, version and its SHA-256 (what a reader
    /// checks before parsing), without reading tensors.
    /// </summary>
    /// <exception cref="InvalidDataException">It is not; the message names the file and what is wrong.</exception>
    public static void Verify(string path)
    {
        using FileStream stream = OpenVerified(path);
    }

    // The file, its magic, version and digest checked, positioned after the version.
    private static FileStream OpenVerified(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        }
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        try
        {
            Span<byte> start = stackalloc byte[8];
            if (stream.Length < 8 || stream.ReadAtLeast(start, 8, throwOnEndOfStream: false) < 8 || BinaryPrimitives.ReadUInt32LittleEndian(start) != Magic)
            {
                throw new InvalidDataException(stream.Length == 0
                    ? $"'{path}' is empty (0 bytes): not a FastText.Engine weights file."
                    : $"'{path}' is not a FastText.Engine weights file (bad magic number).");
            }
            int version = BinaryPrimitives.ReadInt32LittleEndian(start[4..]);
            if (version != Version)
            {
                throw new InvalidDataException(version == 1
                    ? $"'{path}' has format version 1, written before weights files carried a checksum; this build reads version {Version} only, so that a damaged file is never loaded. Re-create it with this build."
                    : $"'{path}' has format version {version}; this build reads version {Version}.");
            }
            VerifyDigest(stream, path);
            stream.Position = 8;
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The tensors of <paramref name="state"/>, their fp32 ones stored as bf16 (<paramref name="compact"/>) or as they are.</summary>
    internal static IEnumerable<KeyValuePair<string, Tensor>> Stored(IEnumerable<KeyValuePair<string, Tensor>> state, bool compact) =>
        compact ? state.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, kv.Value.dtype == ScalarType.Float32 ? kv.Value.to(ScalarType.BFloat16) : kv.Value)) : state;

    // Headers carry metrics (a learner's history), which are NaN where nothing was measured (no validation set).
    private static readonly JsonSerializerOptions HeaderJson = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static bool IsFinite(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        return torch.isfinite(tensor.detach()).all().item<bool>();
    }

    // SHA-256 of bytes [0, length − 32) against the last 32; leaves the position anywhere.
    private static void VerifyDigest(FileStream stream, string path)
    {
        long payload = stream.Length - DigestSize;
        if (payload < 8)
        {
            throw new InvalidDataException($"'{path}' is truncated ({stream.Length} bytes): shorter than a weights file's header and checksum.");
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            stream.Position = 0;
            for (long left = payload; left > 0;)
            {
                int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                {
                    throw new EndOfStreamException();
                }
                hash.AppendData(buffer, 0, read);
                left -= read;
            }
            Span<byte> stored = stackalloc byte[DigestSize];
            stream.ReadExactly(stored);
            Span<byte> actual = stackalloc byte[DigestSize];
            hash.GetHashAndReset(actual);
            if (!stored.SequenceEqual(actual))
            {
                throw new InvalidDataException($"'{path}' is damaged: its SHA-256 checksum does not match its contents (a truncated copy, a flipped bit or an edited file). Nothing was loaded from it.");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static void WriteTensor(BinaryWriter writer, string name, Tensor tensor)
    {
        using Tensor contiguous = tensor.detach().contiguous();
        writer.Write(name);
        writer.Write((int)contiguous.dtype);
        writer.Write((int)contiguous.dim());
        foreach (long d in contiguous.shape)
        {
            writer.Write(d);
        }
        Span<byte> bytes = contiguous.bytes;
        writer.Write((long)bytes.Length);
        writer.Write(bytes);
    }

    public static (string Name, Tensor Tensor) ReadTensor(BinaryReader reader, string path)
    {
        string name = ReadString(reader, path, "tensor name");
        var dtype = (ScalarType)reader.ReadInt32();
        int rank = reader.ReadInt32();
        if (rank is < 0 or > 8)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' has an invalid rank {rank}.");
        }
        // Everything is checked before libtorch sees it: an unknown dtype, a negative or overflowing shape, or a size
        // the file cannot hold would otherwise surface as libtorch's own error (or a terabyte allocation attempt).
        int elementSize = ElementSize(dtype);     // the element types a file may hold: weights (fp32, or bf16/fp16 in a compact file), state, ids
        if (elementSize == 0)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' has an unknown element type {(int)dtype}.");
        }
        var shape = new long[rank];
        long nonZeroBytes = elementSize;    // the product skips zero dimensions: libtorch refuses [huge, huge, 0] too
        bool empty = false;
        for (int d = 0; d < rank; d++)
        {
            shape[d] = reader.ReadInt64();
            if (shape[d] < 0)
            {
                throw new InvalidDataException($"'{path}': tensor '{name}' has a negative dimension {shape[d]}.");
            }
            if (shape[d] == 0)
            {
                empty = true;
            }
            else if (nonZeroBytes > long.MaxValue / shape[d])
            {
                throw new InvalidDataException($"'{path}': tensor '{name}' has a shape too large to hold ({string.Join('x', shape[..(d + 1)])}).");
            }
            else
            {
                nonZeroBytes *= shape[d];
            }
        }
        long expected = empty ? 0 : nonZeroBytes;
        long length = reader.ReadInt64();
        if (length != expected)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' has {length} bytes, its shape needs {expected}.");
        }
        Stream stream = reader.BaseStream;
        if (length > Array.MaxLength || (stream.CanSeek && length > stream.Length - stream.Position))
        {
            throw new EndOfStreamException();   // more bytes than the file has left: reported as truncated
        }
        byte[] buffer = reader.ReadBytes((int)length);
        if (buffer.Length != length)
        {
            throw new EndOfStreamException();
        }
        Tensor tensor = torch.empty(shape, dtype: dtype);
        tensor.bytes = buffer;
        if (dtype is ScalarType.BFloat16 or ScalarType.Float16)
        {
            // A compact file (a shipped starting model): weights are trained and used in fp32, so widen them here once.
            using Tensor half = tensor;
            tensor = half.to(ScalarType.Float32);
        }
        return (name, tensor.DetachFromDisposeScope());
    }

    // Bytes per element of the types a weights file can hold; 0 for any other value (unknown, complex, quantized).
    private static int ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => 0,
    };

    // BinaryReader.ReadString, with its length checked against the file: a negative one is an IOException there, and a
    // length past the end of the file would be read until the end before failing.
    private static string ReadString(BinaryReader reader, string path, string what)
    {
        int length;
        try
        {
            length = reader.Read7BitEncodedInt();
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"'{path}' is damaged: the {what}'s length is not a valid 7-bit encoded integer.", e);
        }
        Stream stream = reader.BaseStream;
        if (length < 0)
        {
            throw new InvalidDataException($"'{path}' is damaged: the {what} has a negative length {length}.");
        }
        if (stream.CanSeek && length > stream.Length - stream.Position)
        {
            throw new EndOfStreamException();
        }
        byte[] bytes = reader.ReadBytes(length);
        return bytes.Length == length ? Encoding.UTF8.GetString(bytes) : throw new EndOfStreamException();
    }

    private static T ReadHeader<T>(string json, string path)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, HeaderJson)
                ?? throw new InvalidDataException($"'{path}' has an empty header.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' has a header that is not valid JSON for this file: {e.Message}", e);
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="module"/>'s parameters and buffers by name, failing with the
    /// file, key and shapes when anything is missing, unexpected or mis-shaped.
    /// </summary>
    public static void LoadInto(nn.Module module, IReadOnlyDictionary<string, Tensor> source, string origin, ISet<string>? ignoredSourceKeys = null)
    {
        Dictionary<string, Tensor> target = module.state_dict();
        var missing = target.Keys.Where(k => !source.ContainsKey(k)).ToList();
        var unexpected = source.Keys.Where(k => !target.ContainsKey(k) && (ignoredSourceKeys is null || !ignoredSourceKeys.Contains(k))).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            throw new InvalidDataException($"'{origin}' does not match the model: missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", unexpected)}].");
        }
        foreach (var (name, destination) in target)
        {
            Tensor value = source[name];
            if (!value.shape.SequenceEqual(destination.shape))
            {
                throw new InvalidDataException($"'{origin}': '{name}' has shape [{string.Join(", ", value.shape)}], the model needs [{string.Join(", ", destination.shape)}].");
            }
        }
        using (torch.no_grad())
        {
            foreach (var (name, destination) in target)
            {
                destination.copy_(source[name]);
            }
        }
    }
}

/// <summary>A write-only stream that hashes (SHA-256) what passes through it to the stream it wraps (left open).</summary>
internal sealed class DigestingStream(Stream inner) : Stream
{
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>The digest of everything written so far.</summary>
    public byte[] Digest() => hash.GetCurrentHash();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        hash.AppendData(buffer);
        inner.Write(buffer);
    }

    public override void WriteByte(byte value) => Write(new ReadOnlySpan<byte>(in value));

    public override void Flush() => inner.Flush();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
