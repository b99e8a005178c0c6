using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;
using FastText.Engine.IO;

namespace FastText.Engine.Models.Pretrained;

/// <summary>
/// Reads and writes PyTorch state dicts (<c>torch.save(model.state_dict(), path)</c>) without Python: the zip format
/// (read and write) and the legacy pre-1.6 format (read). The pickle inside is interpreted as data only — no code named
/// by the file is ever run — so untrusted downloads are safe to open.
/// </summary>
/// <remarks>
/// Written files use only what PyTorch's weights-only loader allows, so <c>torch.load(path, weights_only=True)</c>
/// reads them; tensors that share memory (tied weights) are written once and come back sharing one storage, as with
/// <c>torch.save</c>. Storages are little-endian raw bytes; big-endian files are refused.
/// </remarks>
internal static class PyTorchCheckpointFile
{
    private const string ArchiveName = "archive";
    private static readonly BigInteger LegacyMagicNumber = BigInteger.Parse("119547037146038801333356",
        System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads the state dict stored in <paramref name="path"/>: a bare state dict, or fastai's
    /// <c>{'model': state_dict, 'opt': optimizer_state}</c> (the optimizer part is skipped without loading its tensors).
    /// </summary>
    /// <exception cref="PretrainedWeightsException">The file is not a PyTorch checkpoint holding a state dict.</exception>
    public static PyTorchStateDictionary Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        TorchRuntime();
        if (!File.Exists(path))
        {
            throw new PretrainedWeightsException(path, null, "file not found");
        }
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[16];
        int length = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        file.Position = 0;
        head = head[..length];
        try
        {
            if (head.StartsWith("PK\u0003\u0004"u8))
            {
                return ReadZip(file, path);
            }
            if (head.Length >= 4 && head[0] == 0x80 && head[1] == 2 && head[2] == 0x8a && head[3] == 10)
            {
                return ReadLegacy(file, path);
            }
        }
        catch (Exception exception) when (exception is EndOfStreamException or InvalidDataException)
        {
            throw new PretrainedWeightsException(path, null, "truncated or damaged checkpoint: " + exception.Message, exception);
        }
        throw new PretrainedWeightsException(path, null, "not a PyTorch checkpoint: expected the zip archive " +
            "torch.save writes (starts with 'PK') or its legacy pickle format" + Describe(head));
    }

    /// <summary>
    /// Writes <paramref name="stateDictionary"/> as <c>torch.save(state_dict, path)</c> would (zip format, key order
    /// kept). Entries that are the same tensor memory (e.g. tied embedding/decoder weights) share one storage. The
    /// file is written to a temporary name and renamed into place.
    /// </summary>
    /// <exception cref="PretrainedWeightsException">A key repeats, or a tensor has an unsupported element type.</exception>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> stateDictionary)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(stateDictionary);
        TorchRuntime();
        using var scope = torch.NewDisposeScope();
        var entries = new List<(string Key, PickleTensor Tensor)>();
        var storages = new List<Tensor>(); // contiguous CPU data, index = storage key
        var storageByIdentity = new Dictionary<(nint Address, ScalarType Type, long Count), int>();
        var seenKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, tensor) in stateDictionary)
        {
            if (!seenKeys.Add(key))
            {
                throw new PretrainedWeightsException(path, key, "the key appears twice in the state dict to write");
            }
            var type = TorchDataType.FromScalarType(tensor.dtype) ?? throw new PretrainedWeightsException(path, key,
                $"element type {tensor.dtype} has no PyTorch storage class supported by this writer");
            Tensor data = tensor.device_type == DeviceType.CPU ? tensor.detach() : tensor.detach().cpu();
            if (!data.is_contiguous())
            {
                data = data.contiguous();
            }
            var identity = (DataAddress(data), data.dtype, data.numel());
            if (identity.Item1 == 0 || !storageByIdentity.TryGetValue(identity, out int storageIndex))
            {
                storageIndex = storages.Count;
                storages.Add(data);
                if (identity.Item1 != 0)
                {
                    storageByIdentity[identity] = storageIndex;
                }
            }
            var storage = new PickleStorage(storageIndex.ToString(System.Globalization.CultureInfo.InvariantCulture),
                type, data.numel(), 0);
            entries.Add((key, new PickleTensor(storage, 0, data.shape, ContiguousStrides(data.shape))));
        }

        AtomicFile.Write(path, stream =>
        {
            var zip = new StoredZipWriter(stream, path);
            using (var pickle = new MemoryStream())
            {
                new PickleWriter(pickle).WriteStateDictionary(entries);
                zip.Add($"{ArchiveName}/data.pkl", pickle.GetBuffer().AsSpan(0, (int)pickle.Length));
            }
            zip.Add($"{ArchiveName}/byteorder", "little"u8);
            for (int i = 0; i < storages.Count; i++)
            {
                zip.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ArchiveName}/data/{i}"),
                    storages[i].bytes);
            }
            zip.Add($"{ArchiveName}/version", "3\n"u8);
            zip.Finish();
        });
    }

    private static PyTorchStateDictionary ReadZip(FileStream file, string path)
    {
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException exception)
        {
            throw new PretrainedWeightsException(path, null, "damaged zip archive: " + exception.Message, exception);
        }
        using (archive)
        {
            var pickleEntry = archive.Entries.FirstOrDefault(e =>
                e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) &&
                e.FullName.IndexOf('/', StringComparison.Ordinal) == e.FullName.Length - "/data.pkl".Length)
                ?? throw new PretrainedWeightsException(path, null,
                    "zip archive without '<name>/data.pkl': not written by torch.save");
            string prefix = pickleEntry.FullName[..^"data.pkl".Length];
            if (archive.GetEntry(prefix + "code/") is not null ||
                archive.Entries.Any(e => e.FullName.StartsWith(prefix + "code/", StringComparison.Ordinal)))
            {
                throw new PretrainedWeightsException(path, null,
                    "this is a TorchScript archive (torch.jit.save), not a state dict saved with torch.save");
            }
            if (archive.GetEntry(prefix + "byteorder") is { } byteOrder)
            {
                using var reader = new StreamReader(byteOrder.Open(), Encoding.ASCII);
                string order = reader.ReadToEnd().Trim();
                if (order != "little")
                {
                    throw new PretrainedWeightsException(path, null, $"storages are '{order}'-endian; only little-endian is supported");
                }
            }

            object? root;
            using (var pickle = new MemoryStream())
            {
                using (var entryStream = pickleEntry.Open())
                {
                    entryStream.CopyTo(pickle);
                }
                CheckCrc(path, pickleEntry, pickle.GetBuffer().AsSpan(0, (int)pickle.Length));
                pickle.Position = 0;
                root = new PickleReader(pickle, path, id => StorageReference(id, path, legacy: false)).Load();
            }
            var (items, wrapped) = StateDictionaryItems(root, path);
            return Materialize(path, PyTorchCheckpointFormat.Zip, wrapped, items, storage =>
            {
                var entry = archive.GetEntry(prefix + "data/" + storage.Key) ?? throw new PretrainedWeightsException(
                    path, null, $"storage record '{prefix}data/{storage.Key}' is missing from the archive");
                long expected = checked(storage.ElementCount * storage.DataType.ElementSize);
                if (entry.Length != expected)
                {
                    throw new PretrainedWeightsException(path, null,
                        $"storage record '{entry.FullName}' has {entry.Length} bytes, expected {expected}");
                }
                // Read straight into the tensor's memory: no managed copy of the (possibly 100 MB) storage.
                var whole = torch.empty(storage.ElementCount, storage.DataType.ScalarType).DetachFromDisposeScope();
                using (var data = entry.Open())
                {
                    data.ReadExactly(whole.bytes);
                }
                CheckCrc(path, entry, whole.bytes);
                return whole;
            });
        }
    }

    private static PyTorchStateDictionary ReadLegacy(FileStream file, string path)
    {
        var buffered = new BufferedStream(file, 1 << 16);
        object? magic = new PickleReader(buffered, path).Load();
        if (magic is not BigInteger number || number != LegacyMagicNumber)
        {
            throw new PretrainedWeightsException(path, null, "starts like a pickle but not with torch.save's magic number");
        }
        object? protocol = new PickleReader(buffered, path).Load();
        if (protocol is not long version || version != 1001)
        {
            throw new PretrainedWeightsException(path, null, $"unsupported legacy serialization protocol {protocol}");
        }
        if (new PickleReader(buffered, path).Load() is PickleDictionary systemInformation &&
            systemInformation.TryGetValue("little_endian", out object? littleEndian) && littleEndian is false)
        {
            throw new PretrainedWeightsException(path, null, "written on a big-endian machine; only little-endian is supported");
        }
        var referenced = new Dictionary<string, PickleStorage>(StringComparer.Ordinal);
        object? root = new PickleReader(buffered, path, id =>
        {
            var storage = StorageReference(id, path, legacy: true);
            referenced.TryAdd(storage.Key, storage);
            return storage;
        }).Load();
        var keys = new PickleReader(buffered, path).Load() as List<object?>
            ?? throw new PretrainedWeightsException(path, null, "the legacy storage key list is missing");

        // The raw storages follow in key-list order: int64 element count, then the bytes.
        var (items, wrapped) = StateDictionaryItems(root, path);
        var needed = new Dictionary<string, PickleStorage>(StringComparer.Ordinal);
        foreach (var (_, tensor) in items)
        {
            needed.TryAdd(tensor.Storage.Key, tensor.Storage);
        }
        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Span<byte> countBytes = stackalloc byte[8];
        foreach (object? keyObject in keys)
        {
            string key = keyObject as string ?? throw new PretrainedWeightsException(path, null, "non-string storage key");
            buffered.ReadExactly(countBytes);
            long count = BinaryPrimitives.ReadInt64LittleEndian(countBytes);
            if (count < 0 || count > (buffered.Length - buffered.Position) / (referenced.GetValueOrDefault(key)?.DataType.ElementSize ?? 1))
            {
                throw new PretrainedWeightsException(path, null, $"storage '{key}' claims {count} elements, more than the file holds");
            }
            if (needed.TryGetValue(key, out var storage))
            {
                if (count < storage.ElementCount)
                {
                    throw new PretrainedWeightsException(path, null,
                        $"storage '{key}' holds {count} elements, the pickle expects {storage.ElementCount}");
                }
                var whole = torch.empty(count, storage.DataType.ScalarType).DetachFromDisposeScope();
                storages[key] = whole;
                buffered.ReadExactly(whole.bytes);
            }
            else if (referenced.TryGetValue(key, out var unused))
            {
                // A storage only the optimizer state uses: skipped, not loaded.
                buffered.Seek(checked(count * unused.DataType.ElementSize), SeekOrigin.Current);
            }
            else
            {
                throw new PretrainedWeightsException(path, null, $"storage '{key}' is not referenced by the pickle");
            }
        }
        // Materialize disposes the storages it asks for; the rest were never created.
        return Materialize(path, PyTorchCheckpointFormat.Legacy, wrapped, items, storage => storages.TryGetValue(
            storage.Key, out Tensor? whole)
            ? whole
            : throw new PretrainedWeightsException(path, null, $"storage '{storage.Key}' is missing from the file"));
    }

    /// <summary>Interprets a persistent id: <c>('storage', torch.FloatStorage, key, location, numel[, view])</c>.</summary>
    private static PickleStorage StorageReference(object? id, string path, bool legacy)
    {
        if (id is not object?[] { Length: >= 5 } tuple || tuple[0] is not "storage")
        {
            throw new PretrainedWeightsException(path, null, $"unsupported persistent id {id}; expected a tensor storage");
        }
        var storageClass = tuple[1] as PickleGlobal;
        var type = storageClass is { Module: "torch" } ? TorchDataType.FromStorageClass(storageClass.Name) : null;
        if (type is null)
        {
            throw new PretrainedWeightsException(path, null,
                $"unsupported storage type {storageClass?.FullName ?? tuple[1]?.ToString()}");
        }
        string key = tuple[2] as string ?? throw new PretrainedWeightsException(path, null, "storage key is not a string");
        long count = PickleReader.ToInt64(tuple[4]);
        if (legacy && tuple.Length >= 6 && tuple[5] is object?[] { Length: 3 } view)
        {
            // (view_key, offset, view_size): a view into the root storage `key` (PyTorch < 1.0 files).
            return new PickleStorage(key, type, count, PickleReader.ToInt64(view[1]));
        }
        return new PickleStorage(key, type, count, 0);
    }

    /// <summary>Finds the state dict (bare or under <c>'model'</c>) and checks every value is a tensor.</summary>
    private static (List<(string Key, PickleTensor Tensor)> Items, bool Wrapped) StateDictionaryItems(object? root, string path)
    {
        if (root is not PickleDictionary dictionary)
        {
            throw new PretrainedWeightsException(path, null,
                $"the file holds a {Describe(root)}, not a state dict (a dict of tensors)");
        }
        bool wrapped = false;
        if (dictionary.TryGetValue("model", out object? model) && model is PickleDictionary inner)
        {
            dictionary = inner;
            wrapped = true;
        }
        var items = new List<(string, PickleTensor)>(dictionary.Items.Count);
        foreach (var (keyObject, value) in dictionary.Items)
        {
            string key = keyObject as string ?? throw new PretrainedWeightsException(path, null,
                $"state dict key {keyObject} is not a string");
            items.Add((key, value as PickleTensor ?? throw new PretrainedWeightsException(path, key,
                $"the value is a {Describe(value)}, not a tensor")));
        }
        return (items, wrapped);
    }

    /// <summary>Creates one tensor per distinct view; views of a whole storage share its memory. The storage loader
    /// returns a storage's elements as a 1-D tensor and is called once per storage key.</summary>
    private static PyTorchStateDictionary Materialize(string path, PyTorchCheckpointFormat format, bool wrapped,
        List<(string Key, PickleTensor Tensor)> items, Func<PickleStorage, Tensor> loadStorage)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>(items.Count);
        var wholeByKey = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var byView = new Dictionary<(string, long, string, string), Tensor>();
        try
        {
            foreach (var (key, description) in items)
            {
                var storage = description.Storage;
                var view = (storage.Key, storage.ElementOffset + description.StorageOffset,
                    string.Join(',', description.Shape), string.Join(',', description.Strides));
                if (!byView.TryGetValue(view, out Tensor? tensor))
                {
                    if (!wholeByKey.TryGetValue(storage.Key, out Tensor? whole))
                    {
                        whole = loadStorage(storage);
                        wholeByKey[storage.Key] = whole;
                    }
                    tensor = CreateView(path, key, description, whole);
                    byView[view] = tensor;
                }
                tensors.Add(new(key, tensor));
            }
        }
        catch
        {
            foreach (var tensor in byView.Values)
            {
                tensor.Dispose();
            }
            throw;
        }
        finally
        {
            // Only the wrappers: views that share a storage keep its memory alive.
            foreach (var whole in wholeByKey.Values)
            {
                whole.Dispose();
            }
        }
        return new PyTorchStateDictionary(path, format, wrapped, tensors);
    }

    private static Tensor CreateView(string path, string key, PickleTensor description, Tensor whole)
    {
        long storageCount = whole.numel();
        long offset = description.Storage.ElementOffset + description.StorageOffset;
        long lastElement = offset;
        if (description.Shape.Length != description.Strides.Length)
        {
            throw new PretrainedWeightsException(path, key, "size and stride have different lengths");
        }
        for (int i = 0; i < description.Shape.Length; i++)
        {
            if (description.Shape[i] < 0 || description.Strides[i] < 0)
            {
                throw new PretrainedWeightsException(path, key, "negative size or stride");
            }
            if (description.Shape[i] == 0)
            {
                lastElement = -1;
                break;
            }
            lastElement += (description.Shape[i] - 1) * description.Strides[i];
        }
        if (lastElement >= storageCount || offset > storageCount)
        {
            throw new PretrainedWeightsException(path, key,
                $"shape [{string.Join(", ", description.Shape)}] with strides [{string.Join(", ", description.Strides)}] " +
                $"at offset {offset} does not fit its storage of {storageCount} elements");
        }
        using var scope = torch.NewDisposeScope();
        var tensor = whole.as_strided(description.Shape, description.Strides, offset);
        // A view covering less than its storage is copied so the rest of the storage can be freed.
        var result = tensor.numel() == storageCount && tensor.is_contiguous() ? tensor : tensor.contiguous();
        return result.MoveToOuterDisposeScope().DetachFromDisposeScope();
    }

    /// <summary>.NET's zip reader does not verify checksums of stored entries; a flipped bit in a weight would pass
    /// silently, so compare against the archive's CRC-32 (one extra pass over the bytes).</summary>
    private static void CheckCrc(string path, ZipArchiveEntry entry, ReadOnlySpan<byte> data)
    {
        uint actual = StoredZipWriter.Crc32.Compute(data);
        if (actual != entry.Crc32)
        {
            throw new PretrainedWeightsException(path, null,
                $"record '{entry.FullName}' is damaged (CRC-32 {actual:x8}, the archive says {entry.Crc32:x8})");
        }
    }

    private static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= Math.Max(shape[i], 1);
        }
        return strides;
    }

    private static unsafe nint DataAddress(Tensor contiguous)
    {
        if (contiguous.numel() == 0)
        {
            return 0;
        }
        fixed (byte* data = &MemoryMarshal.GetReference(contiguous.bytes))
        {
            return (nint)data;
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        PickleObject instance => $"Python object of type {instance.Type.FullName}",
        PickleTensor => "tensor",
        List<object?> list => $"list of {list.Count} items",
        object?[] tuple => $"tuple of {tuple.Length} items",
        string => "string",
        _ => value.GetType().Name,
    };

    private static string Describe(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 10 && head[8] == (byte)'{' && head[9] == (byte)'"')
        {
            return " (this looks like a safetensors file)";
        }
        if (head.Length >= 2 && head[0] == 0x80)
        {
            return " (this is a plain Python pickle, not torch.save output)";
        }
        return head.Length == 0 ? " (the file is empty)" : "";
    }

    private static void TorchRuntime() => Native.TorchRuntime.Initialize();
}
