using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastText.Benchmarks.Infrastructure;
using FastText.Engine.Data;

namespace FastText.Benchmarks.Data;

/// <summary>
/// Padding waste of classifier batches on the SpamAssassin length distribution (lengths from a whitespace/punctuation
/// split of the mail bodies until the real tokenizer lands): fastai SortedDL bucketing versus random batches, each
/// with the #3379-fixing aligned padding and with fastai's original padding, all in the same run. The timed operation
/// plans one epoch and sums its padding (the loader's per-epoch sort cost); the "Pad share" column is computed in the
/// host from the same loader over epochs 0–4 (pad tokens / all tokens of the padded batches).
/// </summary>
[Config(typeof(PaddingColumns))]
public class ClassifierPaddingBenchmarks
{
    private ClassifierLoader loader = null!;
    private int epoch;

    /// <summary>One way of batching.</summary>
    public sealed record Batching(ClassifierOrder Order, ClassifierPadding Padding, int? MaximumLength) : IWorkload
    {
        /// <inheritdoc />
        public double TokensPerOperation => 0;

        /// <inheritdoc />
        public double FlopsPerOperation => 0;

        /// <inheritdoc />
        public double BytesPerOperation => 0;

        /// <summary>fastai's classifier settings (bs 64, seq_len 72, training order).</summary>
        public ClassifierLoaderOptions Options => new() { BatchSize = 64, SequenceLength = 72, Order = Order, Padding = Padding, MaximumLength = MaximumLength, PrefetchDepth = 0 };

        /// <inheritdoc />
        public override string ToString() =>
            $"{(Order == ClassifierOrder.Sorted ? "sort" : "rand")}/{Padding switch { ClassifierPadding.AlignedChunks => "align", ClassifierPadding.MinimalChunkSafe => "min", _ => "fastai" }}/{(MaximumLength is { } cap ? cap.ToString(System.Globalization.CultureInfo.InvariantCulture) : "all")}";
    }

    /// <summary>Cases.</summary>
    public static IEnumerable<Batching> Cases => new[]
    {
        // Whole documents, as fastai: one 180k-token mail pads its batch (the 64 longest) to its length.
        new Batching(ClassifierOrder.Sorted, ClassifierPadding.AlignedChunks, null),
        new Batching(ClassifierOrder.Random, ClassifierPadding.AlignedChunks, null),
        // Capped at fastai's pooling window, 72 · 20 = 1440 tokens.
        new Batching(ClassifierOrder.Sorted, ClassifierPadding.AlignedChunks, 1440),
        new Batching(ClassifierOrder.Sorted, ClassifierPadding.MinimalChunkSafe, 1440),
        new Batching(ClassifierOrder.Sorted, ClassifierPadding.FastaiCompatible, 1440),
        new Batching(ClassifierOrder.Random, ClassifierPadding.AlignedChunks, 1440),
    };

    /// <summary>The batching measured.</summary>
    [ParamsSource(nameof(Cases))]
    public Batching Case { get; set; } = null!;

    [GlobalSetup]
    public void Setup() => loader = new ClassifierLoader(SyntheticCorpus.WithLengths(SpamAssassinLengths.All), Case.Options);

    /// <summary>Plans an epoch and returns its padding share.</summary>
    [Benchmark]
    public double PlanEpochPadding() => loader.MeasurePadding(epoch++ % 5).Share;

    [GlobalCleanup]
    public void Cleanup() => loader.Dispose();

    /// <summary>Padding over epochs 0–4 for a case (host side, deterministic).</summary>
    public static PaddingReport Measure(Batching batching)
    {
        using var loader = new ClassifierLoader(SyntheticCorpus.WithLengths(SpamAssassinLengths.All), batching.Options);
        long pads = 0, total = 0;
        for (int e = 0; e < 5; e++)
        {
            PaddingReport report = loader.MeasurePadding(e);
            pads += report.PadTokens;
            total += report.TotalTokens;
        }
        return new PaddingReport(pads, total);
    }

    private sealed class PaddingColumns : ManualConfig
    {
        public PaddingColumns()
        {
            AddColumn(new PaddingColumn("Pad share", r => r.Share.ToString("P2", CultureInfo.InvariantCulture)));
            AddColumn(new PaddingColumn("Padded tokens", r => r.TotalTokens.ToString("N0", CultureInfo.InvariantCulture)));
            AddColumn(new PaddingColumn("Documents", _ => SpamAssassinLengths.All.Length.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private sealed class PaddingColumn : IColumn
    {
        private readonly Func<PaddingReport, string> format;

        public PaddingColumn(string name, Func<PaddingReport, string> format)
        {
            ColumnName = name;
            this.format = format;
        }

        public string Id => nameof(PaddingColumn) + "." + ColumnName;

        public string ColumnName { get; }

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 1;

        public bool IsNumeric => false;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => ColumnName + " over epochs 0–4 (computed in the host from the same loader)";

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
            benchmarkCase.Parameters.Items.Select(p => p.Value).OfType<Batching>().FirstOrDefault() is { } batching
                ? format(Measure(batching))
                : "-";
    }
}
