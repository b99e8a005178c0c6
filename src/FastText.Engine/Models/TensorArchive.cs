using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;
using FastText.Engine.IO;

namespace FastText.Engine.Models;

/// <summary>
/// The engine's weights container: a magic number, a JSON header (what the file holds, for clear mismatch errors), then
/// named tensors (dtype, shape, raw bytes). Written to a temporary file and renamed, so a crash never leaves half a file.
/// </summary>
internal static class TensorArchive
{
    private const uint Magic = 0x57545846; // "FTXW"
    private const int Version = 1;

    /// <summary>Writes <paramref name="tensors"/> (and an optional extra payload) atomically.</summary>
    public static void Write(string path, object header, IEnumerable<KeyValuePair<string, Tensor>> tensors, Action<BinaryWriter>? extra = null)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(JsonSerializer.Serialize(header, header.GetType()));
            var list = tensors.ToList();
            writer.Write(list.Count);
            foreach (var (name, tensor) in list)
            {
                WriteTensor(writer, name, tensor);
            }
            writer.Write(extra is not null);
            extra?.Invoke(writer);
        });
    }

    /// <summary>Reads a file written by <see cref="Write"/>; the caller owns (disposes) the tensors.</summary>
    public static (T Header, Dictionary<string, Tensor> Tensors) Read<T>(string path, Action<T, BinaryReader>? extra = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            if (stream.Length < 8 || reader.ReadUInt32() != Magic)
            {
                throw new InvalidDataException($"'{path}' is not a FastText.Engine weights file (bad magic number).");
            }
            int version = reader.ReadInt32();
            if (version != Version)
            {
                throw new InvalidDataException($"'{path}' has format version {version}; this build reads version {Version}.");
            }
            T header = JsonSerializer.Deserialize<T>(reader.ReadString())
                ?? throw new InvalidDataException($"'{path}' has an empty header.");
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
        catch
        {
            foreach (Tensor t in tensors.Values)
            {
                t.Dispose();
            }
            throw;
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
        string name = reader.ReadString();
        var dtype = (ScalarType)reader.ReadInt32();
        int rank = reader.ReadInt32();
        if (rank is < 0 or > 8)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' has an invalid rank {rank}.");
        }
        var shape = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            shape[d] = reader.ReadInt64();
        }
        long length = reader.ReadInt64();
        Tensor tensor = torch.empty(shape, dtype: dtype);
        long expected = tensor.NumberOfElements * tensor.ElementSize;
        if (length != expected)
        {
            tensor.Dispose();
            throw new InvalidDataException($"'{path}': tensor '{name}' has {length} bytes, its shape needs {expected}.");
        }
        byte[] buffer = reader.ReadBytes(checked((int)length));
        if (buffer.Length != length)
        {
            tensor.Dispose();
            throw new EndOfStreamException();
        }
        tensor.bytes = buffer;
        return (name, tensor.DetachFromDisposeScope());
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
