namespace FastText.Engine.Data;

/// <summary>
/// A pool of reusable batch slots (host buffers + cached tensor views + batch objects). A slot is leased while its
/// batch is being filled, queued or used by the trainer, and comes back when the trainer disposes the batch. The pool
/// grows only when every slot is leased, which after warm-up no well-behaved consumer causes.
/// </summary>
/// <remarks>One lock (<see cref="Gate"/>) guards both the pool and the prefetch queue built on it, so returning a slot
/// from any thread wakes a producer waiting for one.</remarks>
internal sealed class SlotPool<TSlot> : IDisposable where TSlot : class, IDisposable
{
    private readonly Func<SlotPool<TSlot>, TSlot> create;
    private readonly List<TSlot> all = new();
    private readonly Queue<TSlot> free = new(); // FIFO: every slot takes turns, so all warm up in the first epoch
    private readonly HashSet<TSlot> leased = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    public SlotPool(Func<SlotPool<TSlot>, TSlot> create) => this.create = create;

    /// <summary>The lock shared with the prefetch queue.</summary>
    public object Gate { get; } = new();

    /// <summary>Slots created so far (warm-up growth is visible here).</summary>
    public int Count
    {
        get
        {
            lock (Gate)
            {
                return all.Count;
            }
        }
    }

    /// <summary>Slots created so far; caller holds <see cref="Gate"/>.</summary>
    public int CountLocked => all.Count;

    /// <summary>Takes a free slot, creating one if none is free. Caller must not hold <see cref="Gate"/> if creation may be slow — creation is cheap (lazy buffers).</summary>
    public TSlot Rent()
    {
        lock (Gate)
        {
            return RentLocked(grow: true)!;
        }
    }

    /// <summary>Takes a free slot; creates one only if <paramref name="grow"/>. Caller holds <see cref="Gate"/>.</summary>
    public TSlot? RentLocked(bool grow)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!free.TryDequeue(out TSlot? slot))
        {
            if (!grow)
            {
                return null;
            }
            slot = create(this);
            all.Add(slot);
        }
        leased.Add(slot);
        return slot;
    }

    /// <summary>Creates free slots until there are <paramref name="count"/> in all (done once, before an epoch's
    /// producer starts, so steady-state batches never meet a fresh slot).</summary>
    public void EnsureCount(int count)
    {
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            while (all.Count < count)
            {
                TSlot slot = create(this);
                all.Add(slot);
                free.Enqueue(slot);
            }
        }
    }

    /// <summary>Returns a leased slot; a second return of the same lease is ignored (double dispose of a batch).</summary>
    public void Return(TSlot slot)
    {
        lock (Gate)
        {
            ReturnLocked(slot);
        }
    }

    /// <summary>As <see cref="Return"/>, with <see cref="Gate"/> held.</summary>
    public void ReturnLocked(TSlot slot)
    {
        if (!leased.Remove(slot))
        {
            return;
        }
        if (disposed)
        {
            slot.Dispose();
            return;
        }
        free.Enqueue(slot);
        Monitor.PulseAll(Gate);
    }

    /// <summary>Disposes free slots now and leased ones when they come back.</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            while (free.TryDequeue(out TSlot? slot))
            {
                slot.Dispose();
            }
            Monitor.PulseAll(Gate);
        }
    }
}
