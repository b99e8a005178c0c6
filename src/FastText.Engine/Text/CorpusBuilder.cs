using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using FastText.Engine.IO;

namespace FastText.Engine.Text;

/// <summary>Options of <see cref="CorpusBuilder.Build"/>.</summary>
public sealed record CorpusBuildOptions
{
    /// <summary>Numericalize with this vocabulary (e.g. the language model's, for a classifier); null builds one.</summary>
    public Vocabulary? Vocabulary { get; init; }

    /// <summary>fastai <c>min_freq</c> when building the vocabulary.</summary>
    public int MinimumFrequency { get; init; } = Vocabulary.DefaultMinimumFrequency;

    /// <summary>fastai <c>max_vocab</c> when building the vocabulary.</summary>
    public int MaximumVocabularySize { get; init; } = Vocabulary.DefaultMaximumSize;

    /// <summary>Tokenizing threads (default: one per core).</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Where to save the vocabulary (default: the corpus path + <c>.vocab</c>).</summary>
    public string? VocabularyPath { get; init; }

    /// <summary>Class names in index order (e.g. the classifier's); null sorts the labels found (fastai's <c>CategoryMap</c>).</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Prepend <c>xxbos</c> to every document (fastai's default).</summary>
    public bool AddBeginningOfStream { get; init; } = true;

    /// <summary>
    /// Creates the tokenizer each thread uses (default: <see cref="FastaiTokenizer"/> with
    /// <see cref="AddBeginningOfStream"/>); e.g. <c>() =&gt; new SubwordTokenizer(model)</c> for subword mode.
    /// </summary>
    public Func<IDocumentTokenizer>? TokenizerFactory { get; init; }

    /// <summary>Raw bytes per work item handed to a thread (documents are never split).</summary>
    public int BatchBytes { get; init; } = 1 << 20;
}

/// <summary>What <see cref="CorpusBuilder.Build"/> produced and met on the way.</summary>
public sealed record CorpusBuildResult
{
    /// <summary>The corpus file (open it with <see cref="NumericalizedCorpus.Open"/>).</summary>
    public required string CorpusPath { get; init; }

    /// <summary>The vocabulary file.</summary>
    public required string VocabularyPath { get; init; }

    /// <summary>The vocabulary the ids refer to.</summary>
    public required Vocabulary Vocabulary { get; init; }

    /// <summary>Documents written.</summary>
    public long Documents { get; init; }

    /// <summary>Tokens written (with <c>xxbos</c>).</summary>
    public long Tokens { get; init; }

    /// <summary>Raw input bytes read.</summary>
    public long Bytes { get; init; }

    /// <summary>Documents with no text (kept, as fastai keeps them: just <c>xxbos</c>).</summary>
    public long EmptyDocuments { get; init; }

    /// <summary>Invalid UTF-8 sequences replaced by U+FFFD.</summary>
    public long InvalidUtf8Sequences { get; init; }

    /// <summary>Documents that had invalid UTF-8 (the first few named in <see cref="InvalidUtf8Examples"/>).</summary>
    public long InvalidUtf8Documents { get; init; }

    /// <summary>Up to ten documents with invalid UTF-8.</summary>
    public IReadOnlyList<string> InvalidUtf8Examples { get; init; } = [];

    /// <summary>NUL characters turned into spaces.</summary>
    public long NulCharacters { get; init; }

    /// <summary>Files or entries that could not be read (skipped; the run went on).</summary>
    public IReadOnlyList<SourceFailure> Failures { get; init; } = [];

    /// <summary>Wall-clock time of the whole build.</summary>
    public TimeSpan Elapsed { get; init; }
}

/// <summary>
/// Tokenizes, counts, builds the vocabulary and writes a memory-mapped corpus file in one call (fastai's
/// <c>TextBlock</c> tokenization + <c>Numericalize</c>, without the <c>_tok</c> cache folder).
/// </summary>
/// <remarks>
/// Documents are read in order by one thread, tokenized in batches by <see cref="CorpusBuildOptions.Workers"/>
/// threads and merged in input order, so the output (ids, vocabulary, tie order) is identical for any number of
/// threads. Memory is bounded by a few batches in flight plus the token table: ids are spilled to a temporary file
/// until the vocabulary is known, then remapped into the corpus file. Both files are written atomically.
/// Train/validation membership and labels are stored per document; use <see cref="NumericalizedCorpus.Select"/>
/// for the classifier's training and validation views. The vocabulary counts every document (fastai does too).
/// </remarks>
public static class CorpusBuilder
{
    /// <summary>Builds <paramref name="corpusPath"/> (and its vocabulary file) from <paramref name="source"/>.</summary>
    public static CorpusBuildResult Build(ITextDocumentSource source, string corpusPath, CorpusBuildOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(corpusPath);
        options ??= new CorpusBuildOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Workers, 1);
        var stopwatch = Stopwatch.StartNew();
        string vocabularyPath = options.VocabularyPath ?? corpusPath + ".vocab";
        var problems = new SourceProblems();
        var state = new MergeState(options);

        using var writer = new CorpusFileWriter(corpusPath);
        string spillPath = AtomicFile.TemporaryPathFor(corpusPath) + ".ids";
        FileStream? spill = options.Vocabulary is null
            ? new FileStream(spillPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20, FileOptions.DeleteOnClose)
            : null;
        try
        {
            if (options.Vocabulary is not null)
            {
                writer.SetVocabulary(options.Vocabulary);
            }
            RunPipeline(source, options, problems, state, writer, spill, cancellationToken);

            Vocabulary vocabulary = options.Vocabulary
                ?? Vocabulary.Build(state.Global, state.Counts, options.MinimumFrequency, options.MaximumVocabularySize);
            if (spill is not null)
            {
                writer.SetVocabulary(vocabulary);
                RemapSpill(spill, state, vocabulary, writer);
            }
            (IReadOnlyList<string> classNames, int[] labelMap) = state.ClassMapping(options.ClassNames);
            vocabulary.Save(vocabularyPath);
            writer.Complete(classNames, labelMap);
            return new CorpusBuildResult
            {
                CorpusPath = Path.GetFullPath(corpusPath),
                VocabularyPath = Path.GetFullPath(vocabularyPath),
                Vocabulary = vocabulary,
                Documents = state.Documents,
                Tokens = state.Tokens,
                Bytes = state.Bytes,
                EmptyDocuments = state.EmptyDocuments,
                InvalidUtf8Sequences = state.InvalidSequences,
                InvalidUtf8Documents = state.InvalidDocuments,
                InvalidUtf8Examples = state.InvalidExamples,
                NulCharacters = state.NulCharacters,
                Failures = problems.Failures,
                Elapsed = stopwatch.Elapsed,
            };
        }
        finally
        {
            spill?.Dispose();
        }
    }

    private static void RunPipeline(ITextDocumentSource source, CorpusBuildOptions options, SourceProblems problems, MergeState state,
        CorpusFileWriter writer, FileStream? spill, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int inFlight = options.Workers * 2 + 1;
        var work = Channel.CreateBounded<Batch>(new BoundedChannelOptions(inFlight) { SingleWriter = true });
        var ordered = Channel.CreateBounded<Batch>(new BoundedChannelOptions(inFlight) { SingleWriter = true, SingleReader = true });
        var pool = new ConcurrentBag<Batch>();

        Task producer = Task.Factory.StartNew(() =>
        {
            try
            {
                int sequence = 0;
                Batch batch = Rent(pool);
                foreach (TextDocument document in source.ReadDocuments(problems, cancel.Token))
                {
                    batch.Documents.Add(document);
                    batch.Bytes += document.Utf8.Length;
                    if (batch.Bytes >= options.BatchBytes || batch.Documents.Count >= 4096)
                    {
                        Publish(batch, sequence++);
                        batch = Rent(pool);
                    }
                }
                if (batch.Documents.Count > 0)
                {
                    Publish(batch, sequence);
                }
            }
            finally
            {
                work.Writer.Complete();
                ordered.Writer.Complete();
            }

            void Publish(Batch batch, int sequence)
            {
                batch.Sequence = sequence;
                // The ordered queue first: it bounds how far the workers can run ahead of the merge.
                ordered.Writer.WriteAsync(batch, cancel.Token).AsTask().GetAwaiter().GetResult();
                work.Writer.WriteAsync(batch, cancel.Token).AsTask().GetAwaiter().GetResult();
            }
        }, cancel.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        var workers = new Task[options.Workers];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Factory.StartNew(() =>
            {
                IDocumentTokenizer tokenizer = options.TokenizerFactory?.Invoke() ?? new FastaiTokenizer(options.AddBeginningOfStream);
                while (work.Reader.WaitToReadAsync(cancel.Token).AsTask().GetAwaiter().GetResult())
                {
                    while (work.Reader.TryRead(out Batch? batch))
                    {
                        try
                        {
                            batch.Tokenize(tokenizer, options.Vocabulary);
                        }
                        catch (Exception error)
                        {
                            batch.Error = error;
                        }
                        batch.Done.Set();
                    }
                }
            }, cancel.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        try
        {
            while (ordered.Reader.WaitToReadAsync(cancel.Token).AsTask().GetAwaiter().GetResult())
            {
                while (ordered.Reader.TryRead(out Batch? batch))
                {
                    batch.Done.Wait(cancel.Token);
                    if (batch.Error is not null)
                    {
                        throw new InvalidOperationException($"Tokenizing a batch starting at {batch.Documents[0].Source} failed: {batch.Error.Message}", batch.Error);
                    }
                    state.Merge(batch, writer, spill);
                    batch.Reset();
                    pool.Add(batch);
                }
            }
            producer.GetAwaiter().GetResult();
            Task.WaitAll(workers, cancel.Token);
        }
        catch
        {
            cancel.Cancel();
            try
            {
                Task.WaitAll([producer, .. workers]);
            }
            catch (AggregateException)
            {
                // the first error is the one rethrown below
            }
            throw;
        }
    }

    private static Batch Rent(ConcurrentBag<Batch> pool) => pool.TryTake(out Batch? batch) ? batch : new Batch();

    private static void RemapSpill(FileStream spill, MergeState state, Vocabulary vocabulary, CorpusFileWriter writer)
    {
        var map = new int[state.Global.Count];
        for (int id = 0; id < map.Length; id++)
        {
            map[id] = vocabulary.IdOf(state.Global[id]);
        }
        spill.Flush();
        spill.Position = 0;
        var buffer = new byte[1 << 20];
        int read;
        while ((read = spill.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false)) > 0)
        {
            Span<int> ids = MemoryMarshal.Cast<byte, int>(buffer.AsSpan(0, read));
            for (int i = 0; i < ids.Length; i++)
            {
                ids[i] = map[ids[i]];
            }
            writer.WriteTokens(ids);
        }
    }

    /// <summary>A group of documents tokenized by one thread into batch-local ids.</summary>
    private sealed class Batch
    {
        public List<TextDocument> Documents { get; } = [];
        public int Sequence;
        public long Bytes;
        public readonly TokenTable Local = new(4096);
        public readonly List<int> Lengths = [];
        public readonly List<DecodeReport> Reports = [];
        public readonly ManualResetEventSlim Done = new(false);
        public Exception? Error;
        private TokenIdBuffer? ids;

        /// <summary>The batch's ids: final with a known vocabulary, otherwise indexes into <see cref="Local"/>.</summary>
        public Span<int> Ids => ids is null ? default : ids.WritableIds;

        public void Tokenize(IDocumentTokenizer tokenizer, Vocabulary? vocabulary)
        {
            // The vocabulary (or its absence) is the same for every batch of a build, and batches are not shared
            // between builds, so the id buffer is made once per batch.
            ids ??= vocabulary is not null ? new TokenIdBuffer(vocabulary) : new TokenIdBuffer(Local);
            var sink = new TokenIdSink(ids);
            foreach (TextDocument document in Documents)
            {
                int before = ids.Count;
                Reports.Add(tokenizer.TokenizeUtf8(document.Utf8.Span, ref sink));
                ids.Flush();
                Lengths.Add(ids.Count - before);
            }
        }

        public void Reset()
        {
            Documents.Clear();
            Bytes = 0;
            Local.Clear();
            ids?.Clear();
            Lengths.Clear();
            Reports.Clear();
            Done.Reset();
            Error = null;
        }
    }

    /// <summary>The single-threaded, in-order part: global ids, counts, labels, statistics.</summary>
    private sealed class MergeState(CorpusBuildOptions options)
    {
        public TokenTable Global { get; } = new(1 << 16);
        public long[] Counts = new long[1 << 16];
        private int[] remap = new int[4096];
        private readonly Dictionary<string, int> labels = new(StringComparer.Ordinal);
        private readonly List<string> labelOrder = [];
        public long Documents;
        public long Tokens;
        public long Bytes;
        public long EmptyDocuments;
        public long InvalidSequences;
        public long InvalidDocuments;
        public long NulCharacters;
        public List<string> InvalidExamples { get; } = [];

        public void Merge(Batch batch, CorpusFileWriter writer, FileStream? spill)
        {
            Vocabulary? vocabulary = options.Vocabulary;
            Span<int> ids = batch.Ids;
            if (vocabulary is null)
            {
                // Batch-local ids → corpus-wide provisional ids (first occurrence order), counted for the vocabulary.
                if (remap.Length < batch.Local.Count)
                {
                    remap = new int[Math.Max(batch.Local.Count, remap.Length * 2)];
                }
                for (int local = 0; local < batch.Local.Count; local++)
                {
                    remap[local] = Global.GetOrAdd(batch.Local[local]);
                }
                if (Counts.Length < Global.Count)
                {
                    Array.Resize(ref Counts, Math.Max(Global.Count, Counts.Length * 2));
                }
                for (int i = 0; i < ids.Length; i++)
                {
                    int id = remap[ids[i]];
                    ids[i] = id;
                    Counts[id]++;
                }
            }
            if (spill is null)
            {
                writer.WriteTokens(ids);
            }
            else
            {
                spill.Write(MemoryMarshal.AsBytes(ids));
            }
            Tokens += ids.Length;
            Bytes += batch.Bytes;
            for (int d = 0; d < batch.Documents.Count; d++)
            {
                TextDocument document = batch.Documents[d];
                DecodeReport report = batch.Reports[d];
                int label = -1;
                if (document.Label is not null && !labels.TryGetValue(document.Label, out label))
                {
                    label = labelOrder.Count;
                    labels.Add(document.Label, label);
                    labelOrder.Add(document.Label);
                }
                writer.AddDocument(batch.Lengths[d], label, document.Split);
                Documents++;
                if (document.Utf8.Span.Trim(" \t\r\n\f\v"u8).IsEmpty)
                {
                    EmptyDocuments++;
                }
                if (report.InvalidSequences > 0)
                {
                    InvalidSequences += report.InvalidSequences;
                    InvalidDocuments++;
                    if (InvalidExamples.Count < 10)
                    {
                        InvalidExamples.Add(document.Source);
                    }
                }
                NulCharacters += report.NulCharacters;
            }
        }

        public (IReadOnlyList<string> ClassNames, int[] LabelMap) ClassMapping(IReadOnlyList<string>? fixedNames)
        {
            IReadOnlyList<string> names = fixedNames ?? labelOrder.Order(StringComparer.Ordinal).ToArray();
            var map = new int[labelOrder.Count];
            for (int i = 0; i < labelOrder.Count; i++)
            {
                int index = -1;
                for (int n = 0; n < names.Count; n++)
                {
                    if (names[n] == labelOrder[i])
                    {
                        index = n;
                        break;
                    }
                }
                map[i] = index >= 0 ? index : throw new InvalidDataException($"Label '{labelOrder[i]}' is not one of the given class names ({string.Join(", ", names)}).");
            }
            return (names, map);
        }
    }
}
