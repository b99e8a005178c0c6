namespace FastText.Engine.Models.Pretrained;

/// <summary>A Python global named by a pickle (<c>GLOBAL</c>/<c>STACK_GLOBAL</c>). Never resolved to code.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;

    public override string ToString() => FullName;
}

/// <summary>
/// An object the pickle asked to construct from a global we do not know (e.g. numpy scalars in a fastai optimizer
/// state). Kept as inert data: the reader never executes anything a file names.
/// </summary>
internal sealed class PickleObject(PickleGlobal type, object?[] arguments)
{
    public PickleGlobal Type { get; } = type;

    public object?[] Arguments { get; } = arguments;

    public object? State { get; set; }

    public override string ToString() => $"<{Type.FullName} object>";
}

/// <summary>A Python <c>dict</c> or <c>collections.OrderedDict</c>, in insertion order.</summary>
internal sealed class PickleDictionary
{
    private readonly List<KeyValuePair<object?, object?>> items = [];
    private readonly Dictionary<string, int> stringKeys = new(StringComparer.Ordinal);

    public IReadOnlyList<KeyValuePair<object?, object?>> Items => items;

    /// <summary>Instance attributes set by a <c>BUILD</c> (PyTorch's state dicts carry <c>_metadata</c> there).</summary>
    public object? Attributes { get; set; }

    public void Set(object? key, object? value)
    {
        if (key is string text)
        {
            if (stringKeys.TryGetValue(text, out int index))
            {
                items[index] = new(key, value);
                return;
            }
            stringKeys[text] = items.Count;
        }
        items.Add(new(key, value));
    }

    public bool TryGetValue(string key, out object? value)
    {
        if (stringKeys.TryGetValue(key, out int index))
        {
            value = items[index].Value;
            return true;
        }
        value = null;
        return false;
    }
}

/// <summary>A persistent reference to tensor storage: <c>('storage', torch.FloatStorage, key, location, numel)</c>.</summary>
/// <param name="Key">The storage key: the record name <c>data/&lt;key&gt;</c> (zip) or the key in the legacy file.</param>
/// <param name="DataType">The element type named by the storage class.</param>
/// <param name="ElementCount">Number of elements of the storage (all of it, not one tensor's view).</param>
/// <param name="ElementOffset">Legacy view storages only: where the view starts inside the root storage.</param>
internal sealed record PickleStorage(string Key, TorchDataType DataType, long ElementCount, long ElementOffset);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)</c> describes it.</summary>
internal sealed record PickleTensor(PickleStorage Storage, long StorageOffset, long[] Shape, long[] Strides);
