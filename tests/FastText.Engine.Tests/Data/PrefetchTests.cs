using FastText.Engine.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Data;

public sealed class PrefetchTests
{
    private static LanguageModelLoader LanguageModel(int prefetch, FastText.Engine.Text.ITokenCorpus? corpus = null) =>
        new(corpus ?? TestCorpora.WithLengths(Enumerable.Repeat(100, 40).ToArray()),
            new LanguageModelLoaderOptions { BatchSize = 4, SequenceLength = 10, PrefetchDepth = prefetch, Seed = 2 });

    [Fact]
    public void A_producer_exception_reaches_the_consumer_after_the_batches_before_it()
    {
        TorchTestSetup.Use();
        var corpus = TestCorpora.WithLengths(Enumerable.Repeat(100, 40).ToArray());
        // Validation order, row length floor(3999 / 4) = 999: document 35 starts at stream position 3500.
        var failing = new FailingCorpus(corpus, failingDocument: 35);
        using var loader = new LanguageModelLoader(failing, LanguageModelLoaderOptions.Validation with { BatchSize = 4, SequenceLength = 10 });
        int delivered = 0;
        var error = Assert.Throws<IOException>(() =>
        {
            foreach (LanguageModelBatch batch in loader.Epoch(0))
            {
                batch.Dispose();
                delivered++;
            }
        });
        Assert.Contains("document 35", error.Message, StringComparison.Ordinal);
        // Row 3 starts at 2997 and reaches document 35 (position 3500) in batch 50.
        Assert.Equal(50, delivered);
        // The loader is usable again afterwards.
        using var healthy = LanguageModel(2);
        Assert.Equal(healthy.BatchCount, healthy.Epoch(0).Select(b => { b.Dispose(); return 1; }).Sum());
    }

    [Fact]
    public void Cancellation_stops_the_epoch_promptly()
    {
        TorchTestSetup.Use();
        using var loader = LanguageModel(2);
        using var cancellation = new CancellationTokenSource();
        int delivered = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (LanguageModelBatch batch in loader.Epoch(0, cancellation.Token))
            {
                batch.Dispose();
                if (++delivered == 3)
                {
                    cancellation.Cancel();
                }
            }
        });
        Assert.Equal(3, delivered);
        Assert.Equal(loader.BatchCount, loader.Epoch(1).Select(b => { b.Dispose(); return 1; }).Sum());
    }

    [Fact]
    public void Leaving_an_epoch_early_returns_its_buffers_and_one_epoch_runs_at_a_time()
    {
        TorchTestSetup.Use();
        using var loader = LanguageModel(2);
        foreach (LanguageModelBatch batch in loader.Epoch(0))
        {
            batch.Dispose();
            break;
        }
        using (IEnumerator<LanguageModelBatch> running = loader.Epoch(1).GetEnumerator())
        {
            Assert.True(running.MoveNext());
            running.Current.Dispose();
            Assert.Throws<InvalidOperationException>(() => loader.Epoch(2).GetEnumerator().MoveNext());
        }
        for (int epoch = 3; epoch < 6; epoch++)
        {
            Assert.Equal(loader.BatchCount, loader.Epoch(epoch).Select(b => { b.Dispose(); return 1; }).Sum());
        }
        Assert.InRange(loader.PooledBuffers, 1, 4); // depth 2 + one with the trainer + one being filled
    }

    [Fact]
    public void A_consumer_that_keeps_batches_gets_more_buffers_instead_of_a_deadlock()
    {
        TorchTestSetup.Use();
        using var loader = LanguageModel(1);
        var kept = loader.Epoch(0).ToList();
        Assert.Equal(loader.BatchCount, kept.Count);
        // Every batch still holds its own contents.
        Assert.Equal(kept.Count, kept.Select(b => b.Inputs[0, 0].item<long>()).Distinct().Count());
        kept.ForEach(b => b.Dispose());
        Assert.Equal(kept.Count, loader.PooledBuffers);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Steady_state_batches_allocate_nothing_on_the_trainer_thread(int prefetch)
    {
        TorchTestSetup.Use();
        using var loader = LanguageModel(prefetch);
        foreach (LanguageModelBatch batch in loader.Epoch(0))
        {
            batch.Dispose(); // warm-up: buffers, views, cached batch objects
        }
        long before = 0;
        int index = 0;
        long allocated = -1;
        foreach (LanguageModelBatch batch in loader.Epoch(1))
        {
            if (index == 2)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }
            Assert.True(batch.SequenceLength > 0);
            batch.Dispose();
            if (++index == loader.BatchCount - 1)
            {
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }
        Assert.True(loader.BatchCount > 20);
        Assert.Equal(0, allocated);

        // Lengths ≤ seq_len: one batch shape, so every pooled slot has seen it after the first epoch (a slot meeting a
        // new (rows, width) shape creates its views once: warm-up, bounded by slots × shapes).
        var classifierCorpus = TestCorpora.WithLengths(TestCorpora.RandomLengths(400, 1, 72, seed: 1), labels: new int[400]);
        using var classifier = new ClassifierLoader(classifierCorpus, new ClassifierLoaderOptions { BatchSize = 8, SequenceLength = 72, PrefetchDepth = prefetch });
        for (int epoch = 0; epoch < 2; epoch++)
        {
            foreach (ClassifierBatch batch in classifier.Epoch(epoch))
            {
                batch.Dispose();
            }
        }
        index = 0;
        foreach (ClassifierBatch batch in classifier.Epoch(2))
        {
            if (index == 2)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }
            batch.Dispose();
            if (++index == classifier.BatchCount - 1)
            {
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Cuda_batches_are_refused_on_a_cpu_build_before_anything_is_pinned()
    {
        TorchTestSetup.Use();
        Assert.False(torch.cuda.is_available());
        var cuda = new Device(DeviceType.CUDA, 0);
        var error = Assert.Throws<InvalidOperationException>(() => LoaderDevice.Resolve(cuda));
        Assert.Contains("cuda.is_available", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => new LanguageModelLoader(TestCorpora.WithLengths(new[] { 50 }), new LanguageModelLoaderOptions { BatchSize = 2, Device = cuda }));
        Assert.Throws<InvalidOperationException>(() => new ClassifierLoader(TestCorpora.WithLengths(new[] { 5 }, labels: new[] { 0 }), new ClassifierLoaderOptions { Device = cuda }));

        // The guard alone decides: with CUDA reported available the pinned, copying path is chosen (not run here).
        LoaderDevice gpu = LoaderDevice.Resolve(cuda, () => true);
        Assert.True(gpu.PinHostMemory);
        Assert.True(gpu.CopyToDevice);
        LoaderDevice cpu = LoaderDevice.Resolve(torch.CPU, () => throw new InvalidOperationException("must not probe CUDA for the CPU"));
        Assert.False(cpu.PinHostMemory);
        Assert.Throws<NotSupportedException>(() => LoaderDevice.Resolve(new Device(DeviceType.MPS)));
    }
}
