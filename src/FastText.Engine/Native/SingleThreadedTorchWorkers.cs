using TorchSharp;

namespace FastText.Engine.Native;

/// <summary>
/// Dedicated threads on which libtorch runs its ops single-threaded, for work that splits into independent parts, each
/// a long chain of small ops (the rows of a batch through an LSTM's time steps).
/// </summary>
/// <remarks>
/// Why: a (32 × 384)·(384 × 1536) GEMM per time step is too small for libtorch's two OpenMP threads to share (measured
/// at issue 14's peer shape on a Zen 5: the bf16 LSTM's recurrent loops took 42 ms per batch on 1 thread and 46 on 2),
/// and the managed gate pass between two GEMMs runs on one core anyway. Rows of a batch never meet inside the
/// recurrence, so each worker takes a block of rows through all steps on its own, with no fork, join or handoff per
/// step. libtorch's thread count is per thread (OpenMP's <c>omp_set_num_threads</c>, which oneDNN and
/// <c>at::parallel_for</c> read), so each worker sets it to 1 once; <c>at::set_num_threads</c> also sets the count that
/// threads which have not touched libtorch yet start with, which the creating thread then restores. The workers are
/// background threads that live as long as the process; work runs under <c>no_grad</c> (grad mode is per thread too).
/// </remarks>
internal sealed class SingleThreadedTorchWorkers
{
    /// <summary>The process's workers (created on first use, as many as the largest part count asked for).</summary>
    public static SingleThreadedTorchWorkers Shared { get; } = new();

    private readonly object gate = new();
    private Worker[] workers = Array.Empty<Worker>();

    private SingleThreadedTorchWorkers()
    {
    }

    /// <summary>Runs <paramref name="work"/>(0 … <paramref name="parts"/> − 1), each part on its own worker, and returns
    /// when all have finished; the first exception of a part is rethrown (after every part has ended). One part runs
    /// inline on the calling thread with its thread count.</summary>
    public void Run(int parts, Action<int> work)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        ArgumentNullException.ThrowIfNull(work);
        if (parts == 1)
        {
            work(0);
            return;
        }
        lock (gate)                     // one batch of parts at a time: the workers are shared
        {
            EnsureWorkers(parts);
            using var done = new CountdownEvent(parts);
            for (int part = 0; part < parts; part++)
            {
                workers[part].Start(work, part, done);
            }
            done.Wait();
            Exception? first = null;
            for (int part = 0; part < parts; part++)
            {
                first ??= workers[part].TakeError();
            }
            if (first is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
            }
        }
    }

    private void EnsureWorkers(int count)
    {
        if (workers.Length >= count)
        {
            return;
        }
        int callerThreads = torch.get_num_threads();
        var grown = new Worker[count];
        Array.Copy(workers, grown, workers.Length);
        for (int i = workers.Length; i < count; i++)
        {
            grown[i] = new Worker(i);
        }
        torch.set_num_threads(callerThreads);   // the workers' set_num_threads(1) also changed the count new threads start with
        workers = grown;
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim start = new(0);
        private Action<int>? work;
        private int part;
        private CountdownEvent? done;
        private Exception? error;

        public Worker(int index)
        {
            using var ready = new ManualResetEventSlim();
            var thread = new Thread(() => Loop(ready)) { IsBackground = true, Name = $"torch-single-{index}" };
            thread.Start();
            ready.Wait();
        }

        public void Start(Action<int> action, int index, CountdownEvent finished)
        {
            work = action;
            part = index;
            done = finished;
            start.Release();
        }

        public Exception? TakeError()
        {
            Exception? e = error;
            error = null;
            return e;
        }

        private void Loop(ManualResetEventSlim ready)
        {
            torch.get_num_threads();        // libtorch's per-thread initialisation first, so that it cannot undo the next line
            torch.set_num_threads(1);
            ready.Set();
            while (true)
            {
                start.Wait();
                try
                {
                    using (torch.no_grad())
                    {
                        work!(part);
                    }
                }
                catch (Exception e)
                {
                    error = e;
                }
                finally
                {
                    work = null;
                    done!.Signal();
                }
            }
        }
    }
}
