using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Data;

/// <summary>
/// One reusable block of int64 host memory that a tensor wraps without copying. On the CPU it is a managed
/// <c>long[]</c> wrapped by <c>torch.from_array</c> (which pins the array once, for the life of the tensor — one large
/// pinned block per buffer instead of a pin per batch, so the GC heap does not fragment). For CUDA training it is
/// page-locked native memory (<c>pin_memory()</c>), so device copies can be asynchronous.
/// </summary>
internal sealed unsafe class HostBuffer : IDisposable
{
    private readonly long[]? array;
    private readonly long* pointer;
    private readonly Tensor flat;

    private HostBuffer(int capacity, bool pinned)
    {
        Capacity = capacity;
        if (pinned)
        {
            // pin_memory() throws on CPU-only libtorch builds; callers decide with LoaderDevice (guarded by cuda.is_available()).
            using Tensor pageable = torch.empty(capacity, ScalarType.Int64);
            flat = pageable.pin_memory().DetachFromDisposeScope();
            using var storage = flat.storage<long>();
            pointer = (long*)storage.data_ptr();
        }
        else
        {
            array = new long[capacity];
            flat = torch.from_array(array).DetachFromDisposeScope();
        }
    }

    /// <summary>Number of int64 elements.</summary>
    public int Capacity { get; }

    /// <summary>Whether the memory is page-locked (CUDA path).</summary>
    public bool IsPinned => array is null;

    /// <summary>The whole buffer as a span (the producer fills it; the tensor views see the writes).</summary>
    public Span<long> Span => array is not null ? array.AsSpan() : new Span<long>(pointer, Capacity);

    /// <summary>Allocates a buffer of <paramref name="capacity"/> elements, page-locked when <paramref name="pinned"/>.</summary>
    public static HostBuffer Allocate(int capacity, bool pinned) => new(Math.Max(1, capacity), pinned);

    /// <summary>
    /// A (rows, columns) tensor over the first rows·columns elements; it shares this buffer's memory. The view is
    /// detached from any dispose scope: the owner (the buffer's slot) caches and disposes it.
    /// </summary>
    public Tensor View(int rows, int columns)
    {
        long count = (long)rows * columns;
        if (count > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"A {rows}×{columns} view needs {count} elements; the buffer holds {Capacity}.");
        }
        using Tensor prefix = flat.narrow(0, 0, count);
        return prefix.view(rows, columns).DetachFromDisposeScope();
    }

    /// <summary>A 1-D tensor over the first <paramref name="count"/> elements (detached from dispose scopes).</summary>
    public Tensor View(int count)
    {
        if (count > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"A view of {count} elements exceeds the buffer's {Capacity}.");
        }
        return flat.narrow(0, 0, count).DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose() => flat.Dispose();
}
