using FastText.Engine.Data;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Data;

/// <summary>The loaders over the memory-mapped corpus file give exactly the batches they give over the same documents in memory.</summary>
public sealed class MappedCorpusLoaderTests
{
    [Fact]
    public void Loaders_read_the_memory_mapped_corpus_like_the_in_memory_one()
    {
        TorchTestSetup.Use();
        var random = new Random(31);
        const int vocabularySize = 300; // small: the file stores 16-bit ids, so the mapped reads also widen
        int[][] documents = Enumerable.Range(0, 120).Select(_ => Enumerable.Range(0, random.Next(1, 150)).Select(_ => random.Next(2, vocabularySize)).ToArray()).ToArray();
        int[] labels = documents.Select((_, i) => i % 3).ToArray();
        string[] classes = { "a", "b", "c" };
        using var temporary = new TemporaryFolder();
        string folder = temporary.Path;
        string path = Path.Combine(folder, "corpus.bin");
        using (var writer = new CorpusFileWriter(path))
        {
            writer.SetVocabulary(Vocabulary.FromTokens(Enumerable.Range(0, vocabularySize).Select(i => "t" + i)));
            for (int d = 0; d < documents.Length; d++)
            {
                writer.WriteTokens(documents[d]);
                writer.AddDocument(documents[d].Length, labels[d], DocumentSplit.Train);
            }
            writer.Complete(classes, new[] { 0, 1, 2 });
        }
        using var mapped = NumericalizedCorpus.Open(path);
        var memory = new InMemoryTokenCorpus(documents, labels, classes);
        Assert.Equal(memory.TokenCount, mapped.TokenCount);
        Assert.Equal(2, mapped.IdWidth);

        var lmOptions = new LanguageModelLoaderOptions { BatchSize = 5, SequenceLength = 13, Seed = 3, VariableSequenceLength = true };
        using (var fromFile = new LanguageModelLoader(mapped, lmOptions))
        using (var fromMemory = new LanguageModelLoader(memory, lmOptions with { PrefetchDepth = 0 }))
        {
            Assert.Equal(Flatten(fromMemory.Epoch(1)), Flatten(fromFile.Epoch(1)));
        }
        var classifierOptions = new ClassifierLoaderOptions { BatchSize = 7, SequenceLength = 16, Seed = 5 };
        using (var fromFile = new ClassifierLoader(mapped, classifierOptions))
        using (var fromMemory = new ClassifierLoader(memory, classifierOptions with { PrefetchDepth = 0 }))
        {
            Assert.Equal(Flatten(fromMemory.Epoch(2)), Flatten(fromFile.Epoch(2)));
        }
    }

    private static List<long> Flatten(IEnumerable<LanguageModelBatch> batches)
    {
        var all = new List<long>();
        foreach (LanguageModelBatch batch in batches)
        {
            using (batch)
            {
                all.Add(batch.SequenceLength);
                all.AddRange(batch.Inputs.data<long>().ToArray());
                all.AddRange(batch.Targets.data<long>().ToArray());
            }
        }
        return all;
    }

    private static List<long> Flatten(IEnumerable<ClassifierBatch> batches)
    {
        var all = new List<long>();
        foreach (ClassifierBatch batch in batches)
        {
            using (batch)
            {
                all.Add(batch.Width);
                all.AddRange(batch.Inputs.data<long>().ToArray());
                all.AddRange(batch.Labels.data<long>().ToArray());
                all.AddRange(batch.Lengths.Select(l => (long)l));
            }
        }
        return all;
    }
}
