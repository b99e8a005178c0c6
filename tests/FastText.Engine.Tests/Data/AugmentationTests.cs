using System.IO.Compression;
using System.Text;
using FastText.Engine.Data;
using FastText.Engine.Data.Augmentation;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Data;

public sealed class AugmentationTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    // xxmaj = 8; words from 9 on. "the" is a stop word, "," is not a word.
    private static readonly Vocabulary Vocabulary = Vocabulary.FromTokens(
        [SpecialTokens.Unknown, SpecialTokens.Padding, SpecialTokens.BeginningOfStream, SpecialTokens.EndOfStream, SpecialTokens.Field,
         SpecialTokens.Repeat, SpecialTokens.WordRepeat, SpecialTokens.AllCaps, SpecialTokens.Capitalized,
         "the", "cheap", "inexpensive", "money", "cash", "offer", "now", ",", "a", "angstrom", "42"]);

    private static readonly SynonymTable Synonyms = SynonymTable.FromPairs(new Dictionary<string, IEnumerable<string>>
    {
        ["cheap"] = ["inexpensive", "chintzy"],       // "chintzy" is not in the vocabulary
        ["inexpensive"] = ["cheap"],
        ["money"] = ["cash"],
        ["cash"] = ["money"],
        ["a"] = ["angstrom"],                          // a stop word: never replaced
    });

    private static int Id(string token) => Vocabulary.IdOf(token);

    private static int[] Ids(params string[] tokens) => tokens.Select(Id).ToArray();

    public void Dispose() => temporary.Dispose();

    private static (int[] Output, EdaOperation Operation) Augment(EdaAugmenter eda, int[] tokens, int seed)
    {
        var output = new List<int>();
        var random = new DeterministicRandom(seed, 0, 0);
        eda.Augment(0, tokens, output, ref random);
        return (output.ToArray(), eda.LastOperation);
    }

    [Fact]
    public void Eda_uses_only_vocabulary_synonyms_that_are_not_stop_words()
    {
        var eda = new EdaAugmenter(Vocabulary, Synonyms, alpha: 0.5, backwards: false);
        Assert.Equal(4, eda.WordsWithSynonyms);               // cheap, inexpensive, money, cash; not "a"
        Assert.Contains("EDA alpha 0.5", eda.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_eda_operation_does_what_it_says_and_keeps_markers_with_their_words()
    {
        var eda = new EdaAugmenter(Vocabulary, Synonyms, alpha: 0.5, backwards: false);
        int[] text = Ids(SpecialTokens.BeginningOfStream, SpecialTokens.Capitalized, "cheap", "money", ",", "the", "offer", "now", "42", "a");
        var seen = new HashSet<EdaOperation>();
        int deletions = 0;
        for (int seed = 0; seed < 400; seed++)
        {
            var (output, operation) = Augment(eda, text, seed);
            seen.Add(operation);
            Assert.Equal(Id(SpecialTokens.BeginningOfStream), output[0]);
            // Non-words are never changed, moved out of order, or created.
            int[] nonWords(int[] ids) => ids.Where(t => t < 9 || t == Id(",") || t == Id("42")).ToArray();
            switch (operation)
            {
                case EdaOperation.SynonymReplacement:
                    Assert.Equal(text.Length, output.Length);
                    Assert.NotEqual(text, output);
                    for (int i = 0; i < text.Length; i++)
                    {
                        Assert.True(output[i] == text[i] || Synonyms.Of(Vocabulary[text[i]]).Contains(Vocabulary[output[i]]),
                            $"{Vocabulary[text[i]]} became {Vocabulary[output[i]]}");
                    }
                    break;
                case EdaOperation.RandomInsertion:
                    Assert.True(output.Length > text.Length);
                    Assert.All(output.Except(text), t => Assert.Contains(Vocabulary[t], new[] { "inexpensive", "cash" }));
                    int marker = Array.IndexOf(output, Id(SpecialTokens.Capitalized));
                    Assert.True(Vocabulary[output[marker + 1]] is "cheap" or "inexpensive" or "cash" or "money" or "offer" or "now" or "the" or "a",
                        "nothing is inserted between xxmaj and its word");
                    Assert.Equal(nonWords(text), nonWords(output));
                    break;
                case EdaOperation.RandomSwap:
                    Assert.Equal(text.Order(), output.Order());
                    Assert.NotEqual(text, output);                                // two different words moved
                    Assert.Equal(Id("cheap"), output[Array.IndexOf(output, Id(SpecialTokens.Capitalized)) + 1]);   // xxmaj moved with its word
                    Assert.Equal(text.Where(t => t == Id(",") || t == Id("42")), output.Where(t => t == Id(",") || t == Id("42")));
                    break;
                default:
                    Assert.True(output.Length <= text.Length);                    // (each word kept with probability 1 − α)
                    deletions += output.Length < text.Length ? 1 : 0;
                    Assert.True(output.Any(t => t >= 9 && t != Id(",") && t != Id("42")), "one word is always kept");
                    if (!output.Contains(Id("cheap")))
                    {
                        Assert.DoesNotContain(Id(SpecialTokens.Capitalized), output);   // the marker went with its word
                    }
                    break;
            }
            Assert.Equal(output, Augment(eda, text, seed).Output);           // the same generator state, the same copy
        }
        Assert.Equal(4, seen.Count);
        Assert.True(deletions > 50, $"{deletions} deletions shortened the text");
    }

    [Fact]
    public void Backwards_eda_keeps_a_marker_after_its_word()
    {
        var eda = new EdaAugmenter(Vocabulary, Synonyms, alpha: 1, backwards: true);
        int[] text = Ids("now", "cheap", SpecialTokens.Capitalized, SpecialTokens.BeginningOfStream);   // "xxbos xxmaj cheap now" read backwards
        for (int seed = 0; seed < 200; seed++)
        {
            var (output, operation) = Augment(eda, text, seed);
            int marker = Array.IndexOf(output, Id(SpecialTokens.Capitalized));
            if (operation == EdaOperation.RandomInsertion)
            {
                Assert.True(marker > 0 && output[marker - 1] is var word && Vocabulary[word] is "cheap" or "inexpensive", string.Join(' ', output.Select(t => Vocabulary[t])));
            }
            if (operation == EdaOperation.RandomDeletion && !output.Contains(Id("cheap")))
            {
                Assert.Equal(-1, marker);
            }
        }
    }

    [Fact]
    public void A_word_repeated_by_xxwrep_stays_with_its_marker()
    {
        var eda = new EdaAugmenter(Vocabulary, Synonyms, alpha: 1, backwards: false);
        int[] text = Ids(SpecialTokens.BeginningOfStream, "offer", SpecialTokens.WordRepeat, "42", "money", "now", "cheap");
        for (int seed = 0; seed < 200; seed++)
        {
            int[] output = Augment(eda, text, seed).Output;
            int repeat = Array.IndexOf(output, Id(SpecialTokens.WordRepeat));
            Assert.True(repeat >= 0 && output[repeat + 1] == Id("42") && output[repeat + 2] == Id("money"), string.Join(' ', output.Select(t => Vocabulary[t])));
            Assert.Equal(1, output.Count(t => t == Id("money")));                   // never replaced, inserted or deleted
        }
    }

    [Fact]
    public void A_document_without_words_is_copied_unchanged()
    {
        var eda = new EdaAugmenter(Vocabulary, Synonyms, alpha: 0.1, backwards: false);
        int[] text = Ids(SpecialTokens.BeginningOfStream, ",", "42");
        Assert.Equal(text, Augment(eda, text, 3).Output);
    }

    [Fact]
    public void Alpha_outside_zero_to_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EdaAugmenter(Vocabulary, Synonyms, alpha: 0, backwards: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EdaAugmenter(Vocabulary, Synonyms, alpha: 1.5, backwards: false));
    }

    [Fact]
    public void Synonym_tables_load_plain_and_gzip_and_name_the_bad_line()
    {
        string plain = temporary.Write("synonyms.tsv", "cheap\tinexpensive chintzy cheap\n\nmoney\tcash\n");
        SynonymTable table = SynonymTable.Load(plain);
        Assert.Equal(2, table.Count);
        Assert.Equal(["inexpensive", "chintzy"], table.Of("cheap"));          // the word itself dropped
        Assert.Empty(table.Of("offer"));

        string zipped = temporary.Combine("synonyms.tsv.gz");
        using (var file = File.Create(zipped))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes("money\tcash\n"));
        }
        Assert.Equal(["cash"], SynonymTable.Load(zipped).Of("money"));

        string bad = temporary.Write("bad.tsv", "money\tcash\nno tab here\n");
        var error = Assert.Throws<InvalidDataException>(() => SynonymTable.Load(bad));
        Assert.Contains($"{bad}, line 2", error.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => SynonymTable.Load(temporary.Combine("missing.tsv")));
        string notGzip = temporary.Write("fake.tsv.gz", "money\tcash\n");
        Assert.Contains("fake.tsv.gz", Assert.Throws<InvalidDataException>(() => SynonymTable.Load(notGzip)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_wordnet_table_reads_and_holds_common_synonyms()
    {
        string? path = SampleLocations.WordNetSynonyms();
        Assert.NotNull(path);
        SynonymTable table = SynonymTable.Load(path!);
        Assert.InRange(table.Count, 40_000, 50_000);
        Assert.Contains("purchase", table.Of("buy"));
        Assert.Contains("inexpensive", table.Of("cheap"));
    }

    // Appends "xxunk" after every token: easy to recognise in a batch.
    private sealed class MarkingAugmenter : IDocumentAugmenter
    {
        public string Description => "marking";

        public int Calls { get; private set; }

        public void Augment(int document, ReadOnlySpan<int> tokens, List<int> output, ref DeterministicRandom random)
        {
            Calls++;
            foreach (int token in tokens)
            {
                output.Add(token);
                output.Add(SpecialTokens.UnknownId);
            }
        }
    }

    private static List<(int Document, int[] Tokens)> Rows(ClassifierLoader loader, int epoch, int first = 0)
    {
        var rows = new List<(int, int[])>();
        foreach (ClassifierBatch batch in loader.EpochFrom(epoch, first))
        {
            using (batch)
            {
                long[] ids = batch.Inputs.data<long>().ToArray();
                for (int r = 0; r < batch.Lengths.Length; r++)
                {
                    int[] tokens = ids.AsSpan(r * batch.Width + batch.TextStarts[r], batch.Lengths[r]).ToArray().Select(t => (int)t).ToArray();
                    rows.Add(((tokens[0] - 2) / 10_000, tokens));
                }
            }
        }
        return rows;
    }

    [Fact]
    public void The_loader_augments_a_share_of_documents_anew_each_epoch_and_replays_an_epoch_exactly()
    {
        TorchTestSetup.Use();
        InMemoryTokenCorpus corpus = TestCorpora.WithLengths(TestCorpora.RandomLengths(200, 3, 30, seed: 5), Enumerable.Range(0, 200).Select(i => i % 2).ToList());
        var options = ClassifierLoaderOptions.Training with { BatchSize = 8, SequenceLength = 8, Seed = 11 };
        var augmenter = new MarkingAugmenter();
        using var loader = new ClassifierLoader(corpus, options, null, new ClassifierAugmentation(augmenter, Share: 0.5));
        using var plain = new ClassifierLoader(corpus, options);

        var epoch0 = Rows(loader, 0);
        bool Augmented(int[] tokens) => tokens.Length > 1 && tokens[1] == SpecialTokens.UnknownId;
        int changed = epoch0.Count(r => Augmented(r.Tokens));
        Assert.InRange(changed, epoch0.Count * 0.35, epoch0.Count * 0.65);
        foreach (var (document, tokens) in epoch0)
        {
            int[] original = new int[corpus.DocumentLength(document)];
            corpus.CopyTokens(document, 0, original);
            Assert.Equal(Augmented(tokens) ? original.SelectMany(t => new[] { t, SpecialTokens.UnknownId }).ToArray() : original, tokens);
        }
        Assert.Equal(plain.BatchCount, loader.BatchCount);
        Assert.Equal(200, epoch0.Count);
        Assert.Equal(changed, augmenter.Calls);                                   // the augmenter ran for those only

        // Another epoch, other documents augmented; the same epoch again (or resumed mid-way), the same batches.
        var epoch1 = Rows(loader, 1);
        Assert.NotEqual(epoch0.Where(r => Augmented(r.Tokens)).Select(r => r.Document).Order(), epoch1.Where(r => Augmented(r.Tokens)).Select(r => r.Document).Order());
        Assert.Equal(epoch0.SelectMany(r => r.Tokens), Rows(loader, 0).SelectMany(r => r.Tokens));
        Assert.Equal(epoch1.Skip(3 * 8).SelectMany(r => r.Tokens), Rows(loader, 1, first: 3).SelectMany(r => r.Tokens));
        Assert.Contains("augment=marking share 0.5", loader.Signature, StringComparison.Ordinal);
        Assert.DoesNotContain("augment", plain.Signature, StringComparison.Ordinal);
    }

    [Fact]
    public void Paraphrases_replace_a_document_by_one_of_its_alternatives()
    {
        var augmenter = new ParaphraseAugmenter(new Dictionary<int, int[][]> { [4] = [[2, 20, 21], [2, 22]] }, "test");
        var seen = new HashSet<string>();
        for (int seed = 0; seed < 50; seed++)
        {
            var output = new List<int>();
            var random = new DeterministicRandom(seed, 0, 0);
            augmenter.Augment(4, [2, 9, 9, 9], output, ref random);
            seen.Add(string.Join(',', output));
        }
        Assert.Equal(["2,20,21", "2,22"], seen.Order());
        var unchanged = new List<int>();
        var other = new DeterministicRandom(1, 0, 0);
        augmenter.Augment(5, [2, 9], unchanged, ref other);
        Assert.Equal([2, 9], unchanged);
        Assert.Equal(1, augmenter.Documents);
    }
}
