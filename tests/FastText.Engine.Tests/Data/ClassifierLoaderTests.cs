using FastText.Engine.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Data;

public sealed class ClassifierLoaderTests
{
    private sealed record Row(int Document, int Length, int TextStart, long Label, long[] Ids);

    private sealed record Batch(int Width, long PadTokens, int Chunk, Row[] Rows);

    private static List<Batch> Collect(ClassifierLoader loader, int epoch)
    {
        var batches = new List<Batch>();
        foreach (ClassifierBatch batch in loader.Epoch(epoch))
        {
            using (batch)
            {
                Assert.Equal(ScalarType.Int64, batch.Inputs.dtype);
                Assert.Equal(ScalarType.Int64, batch.Labels.dtype);
                int rows = (int)batch.Inputs.shape[0];
                int width = batch.Width;
                long[] ids = batch.Inputs.data<long>().ToArray();
                long[] labels = batch.Labels.data<long>().ToArray();
                Assert.Equal(rows, batch.Lengths.Length);
                Assert.Equal(rows, labels.Length);
                var result = new Row[rows];
                for (int r = 0; r < rows; r++)
                {
                    long[] row = ids.AsSpan(r * width, width).ToArray();
                    int start = batch.TextStarts[r];
                    int length = batch.Lengths[r];
                    int document = length == 0 ? -1 : (int)((row[start] - 2) / 10_000);
                    result[r] = new Row(document, length, start, labels[r], row);
                }
                using (var scope = torch.NewDisposeScope())
                {
                    bool[] mask = batch.CreatePaddingMask().data<bool>().ToArray();
                    Assert.Equal(ids.Select(id => id == 1), mask);
                }
                batches.Add(new Batch(width, batch.PadTokens, batch.ChunkLength, result));
            }
        }
        return batches;
    }

    private static void AssertRowsHoldTheirDocuments(IEnumerable<Batch> batches, int padId = 1)
    {
        foreach (Batch batch in batches)
        {
            long pads = 0;
            foreach (Row row in batch.Rows)
            {
                for (int j = 0; j < batch.Width; j++)
                {
                    bool text = j >= row.TextStart && j < row.TextStart + row.Length;
                    Assert.Equal(text ? TestCorpora.Id(row.Document, j - row.TextStart) : padId, row.Ids[j]);
                }
                Assert.Equal(0, row.TextStart % batch.Chunk);
                pads += batch.Width - row.Length;
            }
            Assert.Equal(pads, batch.PadTokens);
        }
    }

    [Fact]
    public void Padding_reproduces_the_3379_example_in_fastai_mode_and_fixes_it_by_default()
    {
        TorchTestSetup.Use();
        var corpus = TestCorpora.WithLengths(new[] { 84, 154, 77 }, labels: new[] { 0, 1, 0 });

        using var fastai = new ClassifierLoader(corpus, ClassifierLoaderOptions.Validation with { BatchSize = 3, Padding = ClassifierPadding.FastaiCompatible });
        Batch compat = Collect(fastai, 0).Single();
        Assert.Equal(154, compat.Width);
        Assert.Equal(new[] { 1, 0, 2 }, compat.Rows.Select(r => r.Document));
        Assert.Equal(new[] { 0, 0, 72 }, compat.Rows.Select(r => r.TextStart)); // gaps 0, 70, 77
        Assert.Equal(new long[] { 1, 0, 0 }, compat.Rows.Select(r => r.Label));
        // The bug: at chunk start 144 row 1 (len 84) is pad while row 2 (text 72…148) is not.
        Assert.Equal(1, compat.Rows[1].Ids[144]);
        Assert.NotEqual(1, compat.Rows[2].Ids[144]);

        using var aligned = new ClassifierLoader(corpus, ClassifierLoaderOptions.Validation with { BatchSize = 3 });
        Batch fixedBatch = Collect(aligned, 0).Single();
        Assert.Equal(216, fixedBatch.Width); // ceil(154 / 72) · 72
        Assert.Equal(new[] { 0, 72, 72 }, fixedBatch.Rows.Select(r => r.TextStart)); // gaps 62, 132, 139
        AssertRowsHoldTheirDocuments(new[] { compat, fixedBatch });
        AssertChunkStartsFormPrefixes(fixedBatch);
        Assert.Equal(216 * 3 - (84 + 154 + 77), fixedBatch.PadTokens);
    }

    /// <summary>
    /// Replays fastai's SentenceEncoder (for each chunk start i: real_bs = rows whose column i is not pad; feed rows
    /// [0, real_bs) columns [i, i + seq_len)) and masked_concat_pool's last index (width − pads in the last seq_len
    /// columns − 1). Returns whether every text token is fed and every row's last index is its last text token.
    /// </summary>
    private static (bool AllTextFed, bool LastIndexRight) ReplaySentenceEncoder(Batch batch)
    {
        int chunk = batch.Chunk;
        var fed = batch.Rows.Select(r => new bool[batch.Width]).ToArray();
        for (int i = 0; i < batch.Width; i += chunk)
        {
            int realRows = batch.Rows.Count(r => r.Ids[i] != 1);
            for (int r = 0; r < realRows; r++)
            {
                for (int j = i; j < Math.Min(i + chunk, batch.Width); j++)
                {
                    fed[r][j] = true;
                }
            }
        }
        bool allFed = true, lastRight = true;
        for (int r = 0; r < batch.Rows.Length; r++)
        {
            Row row = batch.Rows[r];
            for (int j = row.TextStart; j < row.TextStart + row.Length; j++)
            {
                allFed &= fed[r][j];
            }
            int lastWindowPads = row.Ids.Skip(Math.Max(0, batch.Width - chunk)).Count(id => id == 1);
            lastRight &= row.Length == 0 || batch.Width - lastWindowPads - 1 == row.TextStart + row.Length - 1;
        }
        return (allFed, lastRight);
    }

    private static void AssertChunkStartsFormPrefixes(Batch batch)
    {
        for (int column = 0; column < batch.Width; column += batch.Chunk)
        {
            bool[] hasText = batch.Rows.Select(r => r.Ids[column] != 1).ToArray();
            int prefix = hasText.TakeWhile(t => t).Count();
            Assert.True(hasText.Skip(prefix).All(t => !t), $"rows with text at column {column} are not a prefix");
        }
        Assert.Equal((true, true), ReplaySentenceEncoder(batch));
    }

    [Fact]
    public void The_replayed_sentence_encoder_skips_text_with_fastai_padding()
    {
        TorchTestSetup.Use();
        var corpus = TestCorpora.WithLengths(new[] { 84, 154, 77 }, labels: new[] { 0, 1, 0 });
        using var fastai = new ClassifierLoader(corpus, ClassifierLoaderOptions.Validation with { BatchSize = 3, Padding = ClassifierPadding.FastaiCompatible });
        Assert.False(ReplaySentenceEncoder(Collect(fastai, 0).Single()).AllTextFed);
    }

    [Theory]
    [InlineData(ClassifierPadding.AlignedChunks)]
    [InlineData(ClassifierPadding.MinimalChunkSafe)]
    public void Chunk_safe_paddings_keep_the_encoder_invariants_on_random_batches(ClassifierPadding padding)
    {
        TorchTestSetup.Use();
        int[] lengths = TestCorpora.RandomLengths(300, 1, 400, seed: 21);
        var corpus = TestCorpora.WithLengths(lengths, labels: lengths.Select(l => l % 3).ToArray(), classes: 3);
        foreach (var order in new[] { ClassifierOrder.Sorted, ClassifierOrder.Random })
        {
            using var loader = new ClassifierLoader(corpus, new ClassifierLoaderOptions { BatchSize = 8, SequenceLength = 16, Seed = 4, Padding = padding, Order = order });
            var batches = Collect(loader, 0);
            AssertRowsHoldTheirDocuments(batches);
            foreach (Batch batch in batches)
            {
                AssertChunkStartsFormPrefixes(batch);
                int aligned = (batch.Rows[0].Length + 15) / 16 * 16;
                Assert.InRange(batch.Width, batch.Rows[0].Length, aligned);
                if (padding == ClassifierPadding.AlignedChunks)
                {
                    Assert.Equal(aligned, batch.Width);
                }
                Assert.All(batch.Rows, r => Assert.Equal(lengths[r.Document] % 3, r.Label));
            }
        }
    }

    [Fact]
    public void Minimal_chunk_safe_padding_is_never_wider_than_aligned_and_saves_padding_on_bucketed_batches()
    {
        TorchTestSetup.Use();
        int[] lengths = TestCorpora.RandomLengths(3000, 10, 1500, seed: 12);
        var corpus = TestCorpora.WithLengths(lengths, labels: new int[lengths.Length]);
        var options = new ClassifierLoaderOptions { BatchSize = 16, Seed = 2, PrefetchDepth = 0 };
        using var aligned = new ClassifierLoader(corpus, options);
        using var minimal = new ClassifierLoader(corpus, options with { Padding = ClassifierPadding.MinimalChunkSafe });
        using var fastai = new ClassifierLoader(corpus, options with { Padding = ClassifierPadding.FastaiCompatible });
        double a = aligned.MeasurePadding(0).Share, m = minimal.MeasurePadding(0).Share, f = fastai.MeasurePadding(0).Share;
        Assert.True(m < a, $"minimal {m:P2} should beat aligned {a:P2}");
        Assert.True(f <= m, $"fastai {f:P2} is the lower bound, minimal {m:P2}");
        var alignedWidths = Collect(aligned, 0).Select(b => b.Width).ToArray();
        var minimalWidths = Collect(minimal, 0).Select(b => b.Width).ToArray();
        Assert.All(alignedWidths.Zip(minimalWidths), pair => Assert.True(pair.Second <= pair.First));
    }

    [Fact]
    public void Maximum_length_keeps_the_first_tokens_of_long_documents()
    {
        TorchTestSetup.Use();
        var corpus = TestCorpora.WithLengths(new[] { 500, 30, 100 }, labels: new[] { 0, 1, 1 });
        using var loader = new ClassifierLoader(corpus, ClassifierLoaderOptions.Validation with { BatchSize = 3, SequenceLength = 10, MaximumLength = 50 });
        Batch batch = Collect(loader, 0).Single();
        Assert.Equal(new[] { 50, 50, 30 }, batch.Rows.Select(r => r.Length));
        Assert.Equal(50, batch.Width);
        AssertRowsHoldTheirDocuments(new[] { batch });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClassifierLoader(corpus, new ClassifierLoaderOptions { MaximumLength = 0 }));
    }

    [Fact]
    public void Validation_is_fully_sorted_longest_first_and_keeps_the_partial_batch()
    {
        TorchTestSetup.Use();
        int[] lengths = { 5, 9, 9, 1, 7, 3, 9, 2 };
        var corpus = TestCorpora.WithLengths(lengths, labels: new int[8]);
        using var loader = new ClassifierLoader(corpus, ClassifierLoaderOptions.Validation with { BatchSize = 3, SequenceLength = 4 });
        Assert.Equal(3, loader.BatchCount);
        var batches = Collect(loader, 0);
        // Stable: equal lengths keep corpus order (documents 1, 2, 6 all have 9 tokens).
        Assert.Equal(new[] { 1, 2, 6, 4, 0, 5, 7, 3 }, batches.SelectMany(b => b.Rows).Select(r => r.Document));
        Assert.Equal(new[] { 3, 3, 2 }, batches.Select(b => b.Rows.Length));
        Assert.Equal(new[] { 12, 8, 4 }, batches.Select(b => b.Width));
        AssertRowsHoldTheirDocuments(batches);
        Assert.Equal(Collect(loader, 3).SelectMany(b => b.Rows).Select(r => r.Document), batches.SelectMany(b => b.Rows).Select(r => r.Document));
    }

    [Fact]
    public void Training_order_follows_sorted_dl()
    {
        TorchTestSetup.Use();
        const int bs = 4;
        int n = 50 * bs * 2 + 10; // two full megabatches and a partial one: 410 documents, 102 full batches + 2 rows
        int[] lengths = TestCorpora.RandomLengths(n, 1, 300, seed: 8);
        lengths[123] = 1000; // the unique longest document
        var corpus = TestCorpora.WithLengths(lengths, labels: new int[n]);
        using var loader = new ClassifierLoader(corpus, new ClassifierLoaderOptions { BatchSize = bs, SequenceLength = 72, Seed = 1 });
        Assert.Equal(n / bs, loader.BatchCount);

        var epoch0 = Collect(loader, 0);
        var epoch1 = Collect(loader, 1);

        foreach (var epoch in new[] { epoch0, epoch1 })
        {
            Assert.Equal(n / bs, epoch.Count);
            Assert.Equal(123, epoch[0].Rows[0].Document); // longest document first
            Assert.All(epoch, b => Assert.Equal(bs, b.Rows.Length)); // drop_last
            foreach (Batch batch in epoch)
            {
                int[] rowLengths = batch.Rows.Select(r => r.Length).ToArray();
                Assert.Equal(rowLengths.OrderByDescending(l => l), rowLengths); // rows longest first
            }
            int[] documents = epoch.SelectMany(b => b.Rows).Select(r => r.Document).ToArray();
            Assert.Equal(documents.Length, documents.Distinct().Count());
            Assert.Equal(n - n % bs, documents.Length);
            // Sorted within megabatches: batches are far more uniform than random ones.
            AssertRowsHoldTheirDocuments(epoch);
        }
        var order0 = epoch0.SelectMany(b => b.Rows).Select(r => r.Document).ToArray();
        var order1 = epoch1.SelectMany(b => b.Rows).Select(r => r.Document).ToArray();
        Assert.NotEqual(order0, order1);

        using var same = new ClassifierLoader(corpus, new ClassifierLoaderOptions { BatchSize = bs, SequenceLength = 72, Seed = 1, PrefetchDepth = 0 });
        Assert.Equal(order0, Collect(same, 0).SelectMany(b => b.Rows).Select(r => r.Document));

        // Middle batches are visited out of length order (not one sorted run per megabatch).
        int[] maxima = epoch0.Skip(1).Select(b => b.Rows[0].Length).ToArray();
        Assert.NotEqual(maxima.OrderByDescending(m => m), maxima);
    }

    [Fact]
    public void Bucketing_wastes_far_less_padding_than_random_batches_and_the_report_matches_the_batches()
    {
        TorchTestSetup.Use();
        int[] lengths = TestCorpora.RandomLengths(2000, 10, 2000, seed: 2);
        var corpus = TestCorpora.WithLengths(lengths, labels: new int[lengths.Length]);
        var options = new ClassifierLoaderOptions { BatchSize = 16, Seed = 9 };
        using var sorted = new ClassifierLoader(corpus, options);
        using var random = new ClassifierLoader(corpus, options with { Order = ClassifierOrder.Random });

        long pads = 0, total = 0;
        foreach (ClassifierBatch batch in sorted.Epoch(2))
        {
            using (batch)
            {
                pads += batch.PadTokens;
                total += batch.Inputs.shape[0] * batch.Inputs.shape[1];
            }
        }
        Assert.Equal(new PaddingReport(pads, total), sorted.LastEpochPadding);
        Assert.Equal(sorted.LastEpochPadding, sorted.MeasurePadding(2));
        double bucketed = sorted.MeasurePadding(0).Share;
        double unsorted = random.MeasurePadding(0).Share;
        Assert.InRange(bucketed, 0.0, 0.08);
        Assert.InRange(unsorted, 0.3, 1.0);
    }

    [Fact]
    public void Document_subset_and_first_labelled_selection_restrict_the_batches()
    {
        TorchTestSetup.Use();
        int[] lengths = TestCorpora.RandomLengths(30, 1, 50, seed: 6);
        int[] labels = Enumerable.Range(0, 30).Select(d => d % 2).ToArray();
        var corpus = TestCorpora.WithLengths(lengths, labels);
        int[] firstPositives = DocumentSelection.FirstLabelled(corpus, 5, new[] { 1 });
        Assert.Equal(new[] { 1, 3, 5, 7, 9 }, firstPositives);
        using var loader = new ClassifierLoader(corpus, ClassifierLoaderOptions.Validation with { BatchSize = 2 }, firstPositives);
        var documents = Collect(loader, 0).SelectMany(b => b.Rows).Select(r => r.Document).Order().ToArray();
        Assert.Equal(firstPositives, documents);

        var (training, validation) = DocumentSelection.RandomSplit(30, 0.2, seed: 3);
        Assert.Equal(6, validation.Length);
        Assert.Equal(Enumerable.Range(0, 30), training.Concat(validation).Order());
        Assert.Equal(validation, DocumentSelection.RandomSplit(30, 0.2, seed: 3).Validation);
    }

    [Fact]
    public void An_unlabelled_corpus_is_rejected_with_a_clear_message()
    {
        var corpus = TestCorpora.WithLengths(new[] { 3, 4 });
        var error = Assert.Throws<ArgumentException>(() => new ClassifierLoader(corpus));
        Assert.Contains("labelled", error.Message, StringComparison.Ordinal);
    }
}
