using System.Collections.Concurrent;
using FastText.Engine.Native;
using FastText.Engine.Tests.Training;
using TorchSharp;

namespace FastText.Engine.Tests.Native;

/// <summary>The single-threaded libtorch workers that carry the bf16 LSTM's row blocks.</summary>
[Collection(SequentialTorchCollection.Name)]
public sealed class SingleThreadedTorchWorkersTests
{
    [Fact]
    public void Parts_run_on_other_threads_with_one_torch_thread_and_the_callers_count_stays()
    {
        TorchTestSetup.Use();
        TorchRuntime.Initialize(2);
        try
        {
            var seen = new ConcurrentDictionary<int, (int Thread, int TorchThreads, bool Grad)>();
            SingleThreadedTorchWorkers.Shared.Run(2, part =>
                seen[part] = (Environment.CurrentManagedThreadId, torch.get_num_threads(), torch.is_grad_enabled()));

            Assert.Equal(new[] { 0, 1 }, seen.Keys.Order());
            Assert.All(seen.Values, v => Assert.Equal(1, v.TorchThreads));
            Assert.All(seen.Values, v => Assert.False(v.Grad));
            Assert.NotEqual(seen[0].Thread, seen[1].Thread);
            Assert.DoesNotContain(Environment.CurrentManagedThreadId, seen.Values.Select(v => v.Thread));
            Assert.Equal(2, torch.get_num_threads());
            int fresh = 0;                                   // a thread that touches libtorch for the first time now
            var thread = new Thread(() => fresh = torch.get_num_threads());
            thread.Start();
            thread.Join();
            Assert.Equal(2, fresh);
        }
        finally
        {
            TorchTestSetup.Use();
        }
    }

    [Fact]
    public void A_failing_part_is_rethrown_after_all_parts_end_and_the_workers_keep_working()
    {
        TorchTestSetup.Use();
        int finished = 0;
        var error = Assert.Throws<InvalidDataException>(() => SingleThreadedTorchWorkers.Shared.Run(2, part =>
        {
            if (part == 1)
            {
                throw new InvalidDataException("part 1 failed");
            }
            Thread.Sleep(50);
            Interlocked.Increment(ref finished);
        }));
        Assert.Equal("part 1 failed", error.Message);
        Assert.Equal(1, finished);

        int ran = 0;
        SingleThreadedTorchWorkers.Shared.Run(2, _ => Interlocked.Increment(ref ran));
        Assert.Equal(2, ran);
    }

    [Fact]
    public void One_part_runs_inline_on_the_caller()
    {
        int thread = -1;
        SingleThreadedTorchWorkers.Shared.Run(1, _ => thread = Environment.CurrentManagedThreadId);
        Assert.Equal(Environment.CurrentManagedThreadId, thread);
        Assert.Throws<ArgumentOutOfRangeException>(() => SingleThreadedTorchWorkers.Shared.Run(0, _ => { }));
    }
}
