using System.Text;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

public sealed class CorpusBuilderTests
{
    private static int[] Tokens(ITokenCorpus corpus, int document)
    {
        var ids = new int[corpus.DocumentLength(document)];
        corpus.CopyTokens(document, 0, ids);
        return ids;
    }

    [Fact]
    public void Imdb_folder_builds_a_corpus_with_labels_splits_and_vocabulary()
    {
        using var data = new CorpusTestData();
        data.WriteImdb();
        string path = Path.Combine(data.Root, "imdb.ftc");
        CorpusBuildResult result = CorpusBuilder.Build(new FolderDocumentSource(data.Imdb), path, new CorpusBuildOptions { MinimumFrequency = 2 });

        Assert.Equal(7, result.Documents);
        using NumericalizedCorpus corpus = NumericalizedCorpus.Open(path, result.Vocabulary);
        Assert.Equal(7, corpus.DocumentCount);
        Assert.Equal(result.Tokens, corpus.TokenCount);
        Assert.Equal(1, corpus.IdWidth);
        Assert.Equal(["neg", "pos"], corpus.ClassNames);
        Assert.False(corpus.HasLabels); // unsup has none

        // Ordinal path order: test/neg, test/pos, train/neg/0, train/neg/1, train/pos/0, train/pos/1, unsup.
        Assert.Equal(DocumentSplit.Validation, corpus.Split(0));
        Assert.Equal(0, corpus.Label(0));
        Assert.Equal(1, corpus.Label(1));
        Assert.False(corpus.IsLabeled(6));
        Assert.Throws<InvalidOperationException>(() => corpus.Label(6));

        var tokenizer = new FastaiTokenizer();
        Assert.Equal(tokenizer.Numericalize("Bad, bad, bad movie.", result.Vocabulary), Tokens(corpus, 0));
        Assert.Equal(SpecialTokens.BeginningOfStreamId, Tokens(corpus, 3)[0]);

        TokenCorpusView train = corpus.Select(DocumentSplit.Train, labeledOnly: true);
        TokenCorpusView valid = corpus.Select(DocumentSplit.Validation, labeledOnly: true);
        Assert.Equal(4, train.DocumentCount);
        Assert.Equal(2, valid.DocumentCount);
        Assert.True(train.HasLabels);
        Assert.Equal([0, 0, 1, 1], Enumerable.Range(0, 4).Select(train.Label));

        Vocabulary loaded = Vocabulary.Load(result.VocabularyPath);
        Assert.Equal(result.Vocabulary.Tokens, loaded.Tokens);
        Assert.Contains("movie", loaded.Tokens);
        Assert.Equal(0, loaded.Count % 8);
    }

    [Fact]
    public void Output_is_identical_for_one_and_two_workers_and_small_batches()
    {
        using var data = new CorpusTestData();
        data.WriteImdb();
        for (int i = 0; i < 200; i++)
        {
            data.File($"imdb/unsup/extra{i:D3}.txt", $"Review {i}: the movie {i % 7} was {(i % 3 == 0 ? "GOOD" : "bad")} and {i % 11} stars.");
        }
        string one = Path.Combine(data.Root, "one.ftc");
        string two = Path.Combine(data.Root, "two.ftc");
        CorpusBuilder.Build(new FolderDocumentSource(data.Imdb), one, new CorpusBuildOptions { Workers = 1 });
        CorpusBuilder.Build(new FolderDocumentSource(data.Imdb), two, new CorpusBuildOptions { Workers = 2, BatchBytes = 64 });
        Assert.Equal(File.ReadAllBytes(one), File.ReadAllBytes(two));
        Assert.Equal(File.ReadAllBytes(one + ".vocab"), File.ReadAllBytes(two + ".vocab"));
    }

    [Fact]
    public void Tar_gz_archive_gives_the_same_corpus_as_the_folder()
    {
        using var data = new CorpusTestData();
        data.WriteImdb();
        string archive = data.TarGz("imdb");
        string fromFolder = Path.Combine(data.Root, "folder.ftc");
        string fromArchive = Path.Combine(data.Root, "archive.ftc");
        CorpusBuilder.Build(new FolderDocumentSource(data.Imdb), fromFolder);
        CorpusBuildResult result = CorpusBuilder.Build(new TarGzDocumentSource(archive), fromArchive);
        Assert.Equal(7, result.Documents);
        Assert.Equal(File.ReadAllBytes(fromFolder), File.ReadAllBytes(fromArchive));
    }

    [Fact]
    public void Given_vocabulary_and_class_names_are_reused()
    {
        using var data = new CorpusTestData();
        data.WriteImdb();
        CorpusBuildResult language = CorpusBuilder.Build(new FolderDocumentSource(data.Imdb), Path.Combine(data.Root, "lm.ftc"));
        string path = Path.Combine(data.Root, "classifier.ftc");
        CorpusBuildResult classifier = CorpusBuilder.Build(new FolderDocumentSource(data.Imdb), path,
            new CorpusBuildOptions { Vocabulary = language.Vocabulary, ClassNames = ["pos", "neg"] });
        using NumericalizedCorpus corpus = NumericalizedCorpus.Open(path, language.Vocabulary);
        Assert.Equal(["pos", "neg"], corpus.ClassNames);
        Assert.Equal(1, corpus.Label(0)); // test/neg
        Assert.Same(language.Vocabulary, classifier.Vocabulary);
        var other = Vocabulary.FromTokens([.. SpecialTokens.All, "x"]);
        Assert.Contains("different vocabulary", Assert.Throws<InvalidDataException>(() => NumericalizedCorpus.Open(path, other)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_is_repaired_counted_and_reported_without_losing_the_run()
    {
        using var data = new CorpusTestData();
        data.File("docs/a/invalid.txt", [.. "ok "u8, 0xFF, .. " fine"u8]);
        data.File("docs/a/nul.txt", "one\0two");
        data.File("docs/a/empty.txt", "");
        data.File("docs/a/good.txt", "Good text here.");
        File.CreateSymbolicLink(Path.Combine(data.Root, "docs/a/broken.txt"), Path.Combine(data.Root, "missing-target.txt"));
        CorpusBuildResult result = CorpusBuilder.Build(new FolderDocumentSource(Path.Combine(data.Root, "docs")), Path.Combine(data.Root, "bad.ftc"));
        Assert.Equal(4, result.Documents);
        Assert.Equal(1, result.InvalidUtf8Sequences);
        Assert.Contains(result.InvalidUtf8Examples, e => e.EndsWith("invalid.txt", StringComparison.Ordinal));
        Assert.Equal(1, result.NulCharacters);
        Assert.Equal(1, result.EmptyDocuments);
        SourceFailure failure = Assert.Single(result.Failures);
        Assert.EndsWith("broken.txt", failure.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_and_foreign_files_are_rejected_clearly()
    {
        using var data = new CorpusTestData();
        data.WriteImdb();
        string path = Path.Combine(data.Root, "c.ftc");
        CorpusBuilder.Build(new FolderDocumentSource(data.Imdb), path);
        byte[] bytes = File.ReadAllBytes(path);

        string truncated = data.File("truncated.ftc", bytes[..^20]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NumericalizedCorpus.Open(truncated)).Message, StringComparison.Ordinal);
        string tiny = data.File("tiny.ftc", bytes[..100]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NumericalizedCorpus.Open(tiny)).Message, StringComparison.Ordinal);
        string foreign = data.File("foreign.ftc", Encoding.UTF8.GetBytes("PK\u0003\u0004 this is a zip file, honestly"));
        Assert.Contains("not a FastText.Engine corpus", Assert.Throws<InvalidDataException>(() => NumericalizedCorpus.Open(foreign)).Message, StringComparison.Ordinal);
        byte[] damaged = (byte[])bytes.Clone();
        damaged[40] ^= 0xFF;
        string corrupt = data.File("corrupt.ftc", damaged);
        Assert.Contains("checksum", Assert.Throws<InvalidDataException>(() => NumericalizedCorpus.Open(corrupt)).Message, StringComparison.Ordinal);
        // No temporary files are left next to the output.
        Assert.DoesNotContain(Directory.GetFiles(data.Root), f => f.EndsWith(".tmp", StringComparison.Ordinal) || f.Contains(".tmp.", StringComparison.Ordinal));
    }

    [Fact]
    public void Csv_lines_brown_and_spam_sources_read_their_formats()
    {
        using var data = new CorpusTestData();
        string csv = data.File("texts.csv", "label,text,is_valid\r\npositive,\"Nice, \"\"really\"\" nice\nsecond line\",False\nnegative,Awful.,True\n");
        List<TextDocument> rows = new CsvDocumentSource(csv, ["text"], "label", "is_valid").ReadDocuments(new SourceProblems()).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal("Nice, \"really\" nice\nsecond line", Encoding.UTF8.GetString(rows[0].Utf8.Span));
        Assert.Equal(("positive", DocumentSplit.Train), (rows[0].Label, rows[0].Split));
        Assert.Equal(("negative", DocumentSplit.Validation), (rows[1].Label, rows[1].Split));

        string twoColumns = data.File("two.csv", "title,body\nHi,There\n");
        TextDocument joined = new CsvDocumentSource(twoColumns, ["title", "body"], null).ReadDocuments(new SourceProblems()).Single();
        Assert.Equal("xxfld 1 Hi xxfld 2 There", Encoding.UTF8.GetString(joined.Utf8.Span));

        string lines = data.File("lines.txt", "first doc\r\n\n  \nsecond doc");
        Assert.Equal(["first doc", "second doc"], new LineDocumentSource(lines).ReadDocuments(new SourceProblems()).Select(d => Encoding.UTF8.GetString(d.Utf8.Span)));

        data.File("brown/ca01", "\n\n\tThe/at Fulton/np-tl jury/nn said/vbd ./.\n\tIt/pps ended/vbd ./.\n\n\n\tNew/jj paragraph/nn ./.\n");
        data.File("brown/README", "not a brown file");
        TextDocument brown = new BrownDocumentSource(Path.Combine(data.Root, "brown")).ReadDocuments(new SourceProblems()).Single();
        Assert.Equal("The Fulton jury said .\nIt ended .\n\nNew paragraph .\n", Encoding.UTF8.GetString(brown.Utf8.Span));
        Assert.Equal("news", brown.Label);

        data.File("spam/spam-1/00001.0babbcc.txt", "From: x\r\nSubject: buy\r\n\r\nBody line\r\n\r\nmore");
        data.File("spam/easy-ham-1/00002.14ffee.txt", "From: y\n\nHam body");
        List<TextDocument> mails = new SpamAssassinDocumentSource(Path.Combine(data.Root, "spam")).ReadDocuments(new SourceProblems()).ToList();
        Assert.Equal(["Ham body", "Body line\r\n\r\nmore"], mails.Select(m => Encoding.UTF8.GetString(m.Utf8.Span)));
        Assert.Equal(["ham", "spam"], mails.Select(m => m.Label));
        Assert.Equal(DocumentSplit.Validation, mails[0].Split); // 0x14 = 20, divisible by 5
        Assert.Equal(DocumentSplit.Train, mails[1].Split);      // 0x0b = 11
    }

    [Fact]
    public void A_long_single_line_document_is_tokenized_whole()
    {
        using var data = new CorpusTestData();
        var text = new StringBuilder();
        while (text.Length < 4_000_000)
        {
            text.Append("word another, Capital ");
        }
        string path = data.File("long.txt", text.ToString());
        CorpusBuildResult result = CorpusBuilder.Build(new LineDocumentSource(path), Path.Combine(data.Root, "long.ftc"));
        Assert.Equal(1, result.Documents);
        using NumericalizedCorpus corpus = NumericalizedCorpus.Open(result.CorpusPath);
        Assert.Equal(1 + (text.Length / 22 * 5), corpus.DocumentLength(0));
    }
}
