using FastText.Engine.Data;
using FastText.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Data;

public sealed class LanguageModelLoaderTests
{
    private static long[,] ToMatrix(Tensor t)
    {
        long rows = t.shape[0], columns = t.shape[1];
        long[] flat = t.data<long>().ToArray();
        var matrix = new long[rows, columns];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < columns; j++)
            {
                matrix[i, j] = flat[i * columns + j];
            }
        }
        return matrix;
    }

    private static List<(long[,] Inputs, long[,] Targets, int Nominal)> Collect(LanguageModelLoader loader, int epoch)
    {
        var batches = new List<(long[,], long[,], int)>();
        foreach (LanguageModelBatch batch in loader.Epoch(epoch))
        {
            using (batch)
            {
                Assert.Equal(ScalarType.Int64, batch.Inputs.dtype);
                Assert.Equal(batch.Inputs.shape, batch.Targets.shape);
                batches.Add((ToMatrix(batch.Inputs), ToMatrix(batch.Targets), batch.NominalSequenceLength));
            }
        }
        return batches;
    }

    [Fact]
    public void Layout_matches_the_reference_worked_example()
    {
        var layout = LanguageModelLayout.Create(1000, 4, 72);
        Assert.Equal(996, layout.UsedTokens);
        Assert.Equal(249, layout.RowLength);
        Assert.Equal(4, layout.BatchCount);
        Assert.Equal(33, layout.LastLength);
        Assert.Throws<ArgumentException>(() => LanguageModelLayout.Create(4, 4, 72));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Worked_example_N1000_bs4_seq72_yields_the_reference_windows(int prefetch)
    {
        TorchTestSetup.Use();
        // 1000 tokens in documents of uneven lengths (one empty), so windows cross document boundaries.
        int[] lengths = { 1, 130, 0, 250, 77, 3, 300, 239 };
        Assert.Equal(1000, lengths.Sum());
        var corpus = TestCorpora.WithLengths(lengths);
        int[] stream = TestCorpora.Stream(corpus, Enumerable.Range(0, lengths.Length));
        using var loader = new LanguageModelLoader(corpus, new LanguageModelLoaderOptions { BatchSize = 4, SequenceLength = 72, Shuffle = false, PrefetchDepth = prefetch });

        var batches = Collect(loader, 0);

        Assert.Equal(4, batches.Count);
        Assert.Equal(new[] { 72, 72, 72, 33 }, batches.Select(b => b.Inputs.GetLength(1)));
        Assert.All(batches, b => Assert.Equal(4, b.Inputs.GetLength(0)));
        Assert.All(batches, b => Assert.Equal(72, b.Nominal));
        // batch 0 row 1 = S[249:321], targets S[250:322]
        for (int j = 0; j < 72; j++)
        {
            Assert.Equal(stream[249 + j], batches[0].Inputs[1, j]);
            Assert.Equal(stream[250 + j], batches[0].Targets[1, j]);
        }
        // last batch row 3 = S[963:996], targets S[964:997]
        for (int j = 0; j < 33; j++)
        {
            Assert.Equal(stream[963 + j], batches[3].Inputs[3, j]);
            Assert.Equal(stream[964 + j], batches[3].Targets[3, j]);
        }
        // Every row continues where it stopped in the previous batch (hidden-state continuity).
        for (int r = 0; r < 4; r++)
        {
            int position = r * 249;
            foreach (var (inputs, targets, _) in batches)
            {
                for (int j = 0; j < inputs.GetLength(1); j++, position++)
                {
                    Assert.Equal(stream[position], inputs[r, j]);
                    Assert.Equal(stream[position + 1], targets[r, j]);
                }
            }
            Assert.Equal((r + 1) * 249, position);
        }
    }

    [Fact]
    public void Training_epochs_shuffle_document_order_deterministically_and_keep_documents_whole()
    {
        TorchTestSetup.Use();
        int[] lengths = TestCorpora.RandomLengths(40, 0, 60, seed: 3);
        var corpus = TestCorpora.WithLengths(lengths);
        var options = new LanguageModelLoaderOptions { BatchSize = 3, SequenceLength = 10, Seed = 7 };
        using var first = new LanguageModelLoader(corpus, options);
        using var second = new LanguageModelLoader(corpus, options with { PrefetchDepth = 0 });

        var epoch0 = Collect(first, 0);
        var again = Collect(second, 0);
        var epoch1 = Collect(first, 1);

        Assert.Equal(epoch0.Select(b => b.Inputs), again.Select(b => b.Inputs));
        Assert.NotEqual(epoch0.Select(b => b.Inputs), epoch1.Select(b => b.Inputs));
        foreach (var epoch in new[] { epoch0, epoch1 })
        {
            // Rebuild the used stream row by row; documents must appear whole (ids consecutive inside a document) and
            // in a permuted order whose concatenation starts the stream.
            var layout = first.Layout;
            var rebuilt = new List<long>();
            for (int r = 0; r < layout.Rows; r++)
            {
                foreach (var (inputs, _, _) in epoch)
                {
                    for (int j = 0; j < inputs.GetLength(1); j++)
                    {
                        rebuilt.Add(inputs[r, j]);
                    }
                }
            }
            Assert.Equal(layout.UsedTokens, rebuilt.Count);
            var seen = new HashSet<long>();
            for (int i = 0; i < rebuilt.Count; i++)
            {
                Assert.True(seen.Add(rebuilt[i]), $"token {rebuilt[i]} appears twice");
                long k = (rebuilt[i] - 2) % 10_000;
                if (k > 0)
                {
                    Assert.Equal(rebuilt[i] - 1, rebuilt[i - 1]);
                }
            }
        }
        Assert.Equal(first.BatchCount, epoch0.Count);
    }

    [Fact]
    public void Validation_keeps_corpus_order_in_every_epoch()
    {
        TorchTestSetup.Use();
        var corpus = TestCorpora.WithLengths(TestCorpora.RandomLengths(20, 1, 30, seed: 5));
        using var loader = new LanguageModelLoader(corpus, LanguageModelLoaderOptions.Validation with { BatchSize = 2, SequenceLength = 8 });
        Assert.Equal(Collect(loader, 0).Select(b => b.Inputs), Collect(loader, 5).Select(b => b.Inputs));
        Assert.Equal(TestCorpora.Id(0, 0), Collect(loader, 1)[0].Inputs[0, 0]);
    }

    [Fact]
    public void Variable_bptt_follows_the_awd_lstm_rule_and_covers_each_row_exactly()
    {
        TorchTestSetup.Use();
        var corpus = TestCorpora.WithLengths(Enumerable.Repeat(500, 100).ToArray());
        var options = new LanguageModelLoaderOptions { BatchSize = 2, SequenceLength = 70, VariableSequenceLength = true, Seed = 11 };
        using var loader = new LanguageModelLoader(corpus, options);
        var lengths = new List<int>();
        long rowPosition = 0;
        foreach (LanguageModelBatch batch in loader.Epoch(0))
        {
            using (batch)
            {
                Assert.Equal(70, batch.NominalSequenceLength);
                lengths.Add(batch.SequenceLength);
                rowPosition += batch.SequenceLength;
            }
        }
        Assert.Equal(loader.Layout.RowLength, rowPosition);
        Assert.Equal(loader.CountBatches(0), lengths.Count);
        Assert.NotEqual(loader.BatchCount, lengths.Count);
        var full = lengths.Take(lengths.Count - 1).ToList();
        Assert.All(full, l => Assert.InRange(l, LanguageModelLoader.MinimumVariableLength, 70 + options.MaximumExtraLength));
        double halfShare = full.Count(l => l < 52) / (double)full.Count; // bptt/2 = 35 ± 3σ vs 70 ± 3σ
        Assert.InRange(halfShare, 0.01, 0.12);
        Assert.True(full.Distinct().Count() > 10, "lengths should vary");
        double mean = full.Where(l => l >= 52).Average();
        Assert.InRange(mean, 68.0, 71.0); // trunc(N(70, 5)) has mean 69.5

        // Deterministic given the seed, content still the shifted stream of the shuffled documents.
        var again = new List<int>();
        using var second = new LanguageModelLoader(corpus, options with { PrefetchDepth = 0 });
        foreach (LanguageModelBatch batch in second.Epoch(0))
        {
            using (batch)
            {
                again.Add(batch.SequenceLength);
                var inputs = batch.Inputs.data<long>().ToArray();
                var targets = batch.Targets.data<long>().ToArray();
                Assert.Equal(inputs.Skip(1).Take(batch.SequenceLength - 1), targets.Take(batch.SequenceLength - 1));
            }
        }
        Assert.Equal(lengths, again);
    }

    [Fact]
    public void Document_selection_limits_the_stream_to_the_chosen_documents()
    {
        TorchTestSetup.Use();
        var corpus = TestCorpora.WithLengths(Enumerable.Repeat(20, 10).ToArray());
        using var loader = new LanguageModelLoader(corpus, LanguageModelLoaderOptions.Validation with { BatchSize = 1, SequenceLength = 100 }, new[] { 7, 2 });
        Assert.Equal(40, loader.Layout.TokenCount);
        var batch = Collect(loader, 0).Single();
        Assert.Equal(TestCorpora.Id(7, 0), batch.Inputs[0, 0]);
        Assert.Equal(TestCorpora.Id(2, 0), batch.Inputs[0, 20]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LanguageModelLoader(corpus, null, new[] { 10 }));
    }

    [Fact]
    public void Batches_consumed_inside_dispose_scopes_train_a_tiny_model_and_stay_valid_across_epochs()
    {
        TorchTestSetup.Use();
        var vocabulary = new InMemoryTokenCorpus(Enumerable.Range(0, 8).Select(d => Enumerable.Range(0, 50).Select(k => (d * 50 + k) % 97).ToArray()).ToArray());
        using var loader = new LanguageModelLoader(vocabulary, new LanguageModelLoaderOptions { BatchSize = 4, SequenceLength = 12 });
        using var embedding = nn.Embedding(97, 8);
        using var decoder = nn.Linear(8, 97);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            foreach (LanguageModelBatch batch in loader.Epoch(epoch))
            {
                using var scope = torch.NewDisposeScope();
                using (batch)
                {
                    var logits = decoder.call(embedding.call(batch.Inputs));
                    var loss = nn.functional.cross_entropy(logits.view(-1, 97), batch.Targets.view(-1));
                    loss.backward();
                    Assert.True(double.IsFinite(loss.item<float>()));
                }
            }
        }
        Assert.InRange(loader.PooledBuffers, 1, 4);
    }
}
