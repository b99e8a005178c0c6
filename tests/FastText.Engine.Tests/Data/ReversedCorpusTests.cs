using FastText.Engine.Data;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Data;

public sealed class ReversedCorpusTests
{
    private static readonly int[] Lengths = [0, 1, 5, 13, 2];

    private static int[] Forward(ITokenCorpus corpus, int d)
    {
        var tokens = new int[corpus.DocumentLength(d)];
        corpus.CopyTokens(d, 0, tokens);
        return tokens;
    }

    [Fact]
    public void Every_slice_of_a_reversed_document_is_the_mirrored_source_slice()
    {
        var source = TestCorpora.WithLengths(Lengths, labels: [1, 0, 1, 1, 0], classes: 2);
        var reversed = new ReversedTokenCorpus(source);
        Assert.Equal(source.DocumentCount, reversed.DocumentCount);
        Assert.Equal(source.TokenCount, reversed.TokenCount);
        Assert.True(reversed.HasLabels);
        Assert.Equal(source.ClassNames, reversed.ClassNames);
        for (int d = 0; d < Lengths.Length; d++)
        {
            int length = Lengths[d];
            Assert.Equal(length, reversed.DocumentLength(d));
            Assert.Equal(source.Label(d), reversed.Label(d));
            for (int start = 0; start <= length; start++)
            {
                for (int span = 0; start + span <= length; span++)
                {
                    var slice = new int[span];
                    reversed.CopyTokens(d, start, slice);
                    // Token i of the reversed document is token L−1−i of the source.
                    Assert.Equal(Enumerable.Range(start, span).Select(i => TestCorpora.Id(d, length - 1 - i)), slice);
                }
            }
        }
        Assert.Equal([TestCorpora.Id(3, 12), TestCorpora.Id(3, 11)], Forward(reversed, 3)[..2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => reversed.CopyTokens(2, 4, new int[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => reversed.CopyTokens(2, -1, new int[1]));
        // Reversing twice gives the source back.
        var twice = new ReversedTokenCorpus(reversed);
        Assert.All(Enumerable.Range(0, Lengths.Length), d => Assert.Equal(Forward(source, d), Forward(twice, d)));
    }

    [Fact]
    public void Concurrent_reads_give_the_same_slices()
    {
        var reversed = new ReversedTokenCorpus(TestCorpora.WithLengths(TestCorpora.RandomLengths(50, 1, 300, seed: 2)));
        var expected = Enumerable.Range(0, 50).Select(d => Forward(reversed, d)).ToArray();
        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int d = i % 50;
            int length = reversed.DocumentLength(d);
            int start = (i * 7) % length;
            var slice = new int[Math.Min(length - start, 1 + (i % 40))];
            reversed.CopyTokens(d, start, slice);
            Assert.Equal(expected[d].AsSpan(start, slice.Length).ToArray(), slice);
        });
    }

    [Fact]
    public void A_language_model_loader_over_a_reversed_corpus_streams_reversed_documents()
    {
        TorchTestSetup.Use();
        var source = TestCorpora.WithLengths([3, 40, 0, 17, 61]);
        int[] expected = Enumerable.Range(0, 5).SelectMany(d => Forward(source, d).Reverse()).ToArray();
        using var loader = new LanguageModelLoader(new ReversedTokenCorpus(source),
            new LanguageModelLoaderOptions { BatchSize = 1, SequenceLength = 10, Shuffle = false, PrefetchDepth = 0 });
        var inputs = new List<long>();
        var targets = new List<long>();
        foreach (LanguageModelBatch batch in loader.Epoch(0))
        {
            using (batch)
            {
                inputs.AddRange(batch.Inputs.data<long>().ToArray());
                targets.AddRange(batch.Targets.data<long>().ToArray());
            }
        }
        // One row: the whole stream but its last token as inputs, shifted by one as targets.
        Assert.Equal(expected[..^1].Select(i => (long)i), inputs);
        Assert.Equal(expected[1..].Select(i => (long)i), targets);
        Assert.Equal(TestCorpora.Id(0, 2), inputs[0]);   // the first document's last token comes first
    }

    [Fact]
    public void A_classifier_loader_over_a_reversed_corpus_pads_reversed_texts_with_their_labels()
    {
        TorchTestSetup.Use();
        int[] lengths = [5, 9, 23, 1, 14];
        int[] labels = [0, 1, 1, 0, 1];
        var source = TestCorpora.WithLengths(lengths, labels);
        using var loader = new ClassifierLoader(new ReversedTokenCorpus(source), ClassifierLoaderOptions.Validation with { BatchSize = 5, SequenceLength = 4 });
        var seen = new HashSet<int>();
        foreach (ClassifierBatch batch in loader.Epoch(0))
        {
            using (batch)
            {
                long[] ids = batch.Inputs.data<long>().ToArray();
                long[] batchLabels = batch.Labels.data<long>().ToArray();
                int width = (int)batch.Inputs.shape[1];
                for (int r = 0; r < batch.Lengths.Length; r++)
                {
                    long[] text = ids.AsSpan((r * width) + batch.TextStarts[r], batch.Lengths[r]).ToArray();
                    int d = (int)((text[^1] - 2) / 10_000);     // a reversed text ends with its document's first token
                    Assert.Equal(Forward(source, d).Reverse().Select(i => (long)i), text);
                    Assert.Equal(labels[d], batchLabels[r]);
                    Assert.All(ids.AsSpan(r * width, batch.TextStarts[r]).ToArray(), id => Assert.Equal(1, id));
                    seen.Add(d);
                }
            }
        }
        Assert.Equal(5, seen.Count);
    }
}
