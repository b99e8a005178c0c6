using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace FastText.Engine.Data;

/// <summary>
/// Fills the batches of one epoch on a background thread, at most <c>depth</c> ahead of the trainer, in order.
/// Determinism does not depend on timing: batch <c>b</c> is always filled from the same plan entry, and the consumer
/// takes them in index order. A producer exception is rethrown (with its original stack) to the consumer after the
/// batches completed before it; cancellation wakes both sides and surfaces as <see cref="OperationCanceledException"/>.
/// </summary>
/// <remarks>
/// Steady state allocates nothing: a fixed ring of slot references, a slot pool that only grows when the consumer
/// holds every slot (then waiting would deadlock, so growing is the only way forward), and Monitor wait/pulse on the
/// pool's lock. The thread, the cancellation registration and this object are per epoch.
/// </remarks>
internal sealed class Prefetcher<TSlot> : IDisposable where TSlot : class, IDisposable
{
    private readonly SlotPool<TSlot> pool;
    private readonly object gate;
    private readonly TSlot?[] ready;
    private readonly Action<TSlot, int> fill;
    private readonly int first;
    private readonly int total;
    private readonly CancellationToken cancellation;
    private readonly CancellationTokenRegistration registration;
    private readonly Thread thread;
    private int head;
    private int count;
    private bool producerDone;
    private bool stopping;
    private ExceptionDispatchInfo? failure;
    private long waitTicks;

    /// <summary>Starts producing batches <paramref name="first"/> … <paramref name="total"/>−1.</summary>
    /// <param name="pool">Where slots come from (its lock guards this queue too).</param>
    /// <param name="depth">Filled batches allowed to wait for the consumer (≥ 1).</param>
    /// <param name="total">Batches in the epoch.</param>
    /// <param name="fill">Fills a slot with batch <c>b</c>; runs on the producer thread.</param>
    /// <param name="cancellation">Stops the producer and the consumer's wait.</param>
    /// <param name="first">First batch to fill (a resumed epoch skips the batches already trained on).</param>
    public Prefetcher(SlotPool<TSlot> pool, int depth, int total, Action<TSlot, int> fill, CancellationToken cancellation, int first = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        this.pool = pool;
        gate = pool.Gate;
        ready = new TSlot?[depth];
        this.first = first;
        this.total = total;
        this.fill = fill;
        this.cancellation = cancellation;
        pool.EnsureCount(depth + 2);
        registration = cancellation.Register(static state =>
        {
            object lockObject = state!;
            lock (lockObject)
            {
                Monitor.PulseAll(lockObject);
            }
        }, gate);
        thread = new Thread(Produce) { IsBackground = true, Name = "FastText batch prefetch" };
        thread.Start();
    }

    /// <summary>
    /// The filled slots of batches <paramref name="first"/> … <paramref name="total"/>−1 in order: filled on the
    /// caller's thread when <paramref name="depth"/> is 0, else by a <see cref="Prefetcher{TSlot}"/>. The caller publishes
    /// each slot (the slot goes back to <paramref name="pool"/> when its batch is disposed).
    /// </summary>
    /// <param name="pool">Where slots come from.</param>
    /// <param name="depth">Batches filled ahead on a background thread; 0 fills each when it is taken.</param>
    /// <param name="first">First batch.</param>
    /// <param name="total">Batches in the epoch.</param>
    /// <param name="fill">Fills a slot with batch <c>b</c>.</param>
    /// <param name="cancellation">Stops the epoch.</param>
    /// <param name="reportWait">Receives the consumer's waiting time when a prefetched epoch ends (also on early exit).</param>
    public static IEnumerable<TSlot> Slots(SlotPool<TSlot> pool, int depth, int first, int total, Action<TSlot, int> fill,
        CancellationToken cancellation, Action<TimeSpan>? reportWait = null)
    {
        if (depth == 0)
        {
            for (int b = first; b < total; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                TSlot slot = pool.Rent();
                try
                {
                    fill(slot, b);
                }
                catch
                {
                    pool.Return(slot);
                    throw;
                }
                yield return slot;
            }
            yield break;
        }
        using var prefetcher = new Prefetcher<TSlot>(pool, depth, total, fill, cancellation, first);
        try
        {
            while (prefetcher.TryTake(out TSlot? slot))
            {
                yield return slot!;
            }
        }
        finally
        {
            reportWait?.Invoke(prefetcher.ConsumerWait);
        }
    }

    /// <summary>Time the consumer spent blocked waiting for a filled batch.</summary>
    public TimeSpan ConsumerWait => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref waitTicks));

    /// <summary>Takes the next filled slot in order; false when the epoch is complete.</summary>
    public bool TryTake(out TSlot? slot)
    {
        lock (gate)
        {
            while (count == 0)
            {
                failure?.Throw();
                cancellation.ThrowIfCancellationRequested();
                if (producerDone)
                {
                    slot = null;
                    return false;
                }
                long started = Stopwatch.GetTimestamp();
                Monitor.Wait(gate);
                waitTicks += Stopwatch.GetTimestamp() - started;
            }
            cancellation.ThrowIfCancellationRequested();
            slot = ready[head];
            ready[head] = null;
            head = (head + 1) % ready.Length;
            count--;
            Monitor.PulseAll(gate);
            return true;
        }
    }

    private void Produce()
    {
        TSlot? slot = null;
        try
        {
            for (int b = first; b < total; b++)
            {
                lock (gate)
                {
                    while (true)
                    {
                        if (stopping || cancellation.IsCancellationRequested)
                        {
                            return;
                        }
                        if (count < ready.Length)
                        {
                            // The pool starts with depth + 2 slots (queued + one with the trainer + one being
                            // filled). Grow only if the consumer holds every slot and nothing is queued: it cannot
                            // release one before it gets another batch, so waiting would deadlock.
                            slot = pool.RentLocked(grow: count == 0);
                            if (slot is not null)
                            {
                                break;
                            }
                        }
                        Monitor.Wait(gate);
                    }
                }
                fill(slot, b);
                lock (gate)
                {
                    ready[(head + count) % ready.Length] = slot;
                    count++;
                    slot = null;
                    Monitor.PulseAll(gate);
                }
            }
        }
        catch (Exception e)
        {
            lock (gate)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }
        finally
        {
            lock (gate)
            {
                if (slot is not null)
                {
                    pool.ReturnLocked(slot);
                }
                producerDone = true;
                Monitor.PulseAll(gate);
            }
        }
    }

    /// <summary>Stops the producer, waits for it, and returns batches nobody took to the pool.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }
        thread.Join();
        registration.Dispose();
        lock (gate)
        {
            while (count > 0)
            {
                pool.ReturnLocked(ready[head]!);
                ready[head] = null;
                head = (head + 1) % ready.Length;
                count--;
            }
        }
    }
}
