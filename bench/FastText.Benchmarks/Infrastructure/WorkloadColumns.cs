using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace FastText.Benchmarks.Infrastructure;

/// <summary>Throughput columns derived from the median time and the <see cref="IWorkload"/> parameter of a case.</summary>
public sealed class WorkloadColumn : IColumn
{
    /// <summary>Name of the benchmark method whose GFLOP/s is taken as the machine's matrix-multiply peak.</summary>
    public const string PeakMethod = "MatmulFp32";

    private readonly string name;
    private readonly Func<Summary, BenchmarkCase, IWorkload, double, double?> value;
    private readonly string format;

    private WorkloadColumn(string name, string legend, string format, Func<Summary, BenchmarkCase, IWorkload, double, double?> value)
    {
        this.name = name;
        Legend = legend;
        this.format = format;
        this.value = value;
    }

    /// <summary>All workload columns.</summary>
    public static IColumn[] All { get; } =
    {
        new WorkloadColumn("Tokens/s", "Tokens processed per second (median time)", "N0", (_, _, w, s) => w.TokensPerOperation > 0 ? w.TokensPerOperation / s : null),
        new WorkloadColumn("MB/s", "Megabytes (10^6) of input per second (median time)", "N1", (_, _, w, s) => w.BytesPerOperation > 0 ? w.BytesPerOperation / s / 1e6 : null),
        new WorkloadColumn("GFLOP/s", "Achieved matmul GFLOP/s (median time)", "N1", (_, _, w, s) => w.FlopsPerOperation > 0 ? w.FlopsPerOperation / s / 1e9 : null),
        new WorkloadColumn("% of mm peak", "GFLOP/s as a share of the fp32 matmul peak measured in the same run", "P1", FractionOfPeak),
        new WorkloadColumn("Speedup", "Median time of the baseline in the same run / this median time (e.g. 2 threads vs 1)", "N2", SpeedupOverBaseline),
    };

    private static double? SpeedupOverBaseline(Summary summary, BenchmarkCase benchmark, IWorkload workload, double seconds)
    {
        BenchmarkCase? baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmark));
        if (baseline is null || ReferenceEquals(baseline, benchmark))
        {
            return null;
        }
        double? median = summary[baseline]?.ResultStatistics?.Median;
        return median is null ? null : median.Value / 1e9 / seconds;
    }

    private static double? FractionOfPeak(Summary summary, BenchmarkCase benchmark, IWorkload workload, double seconds)
    {
        if (workload.FlopsPerOperation <= 0)
        {
            return null;
        }
        double? peak = null;
        foreach (BenchmarkReport report in summary.Reports)
        {
            if (report.BenchmarkCase.Descriptor.WorkloadMethod.Name != PeakMethod || report.ResultStatistics is null)
            {
                continue;
            }
            IWorkload? peakWork = WorkloadOf(report.BenchmarkCase);
            if (peakWork is null)
            {
                continue;
            }
            double gflops = peakWork.FlopsPerOperation / (report.ResultStatistics.Median / 1e9);
            peak = Math.Max(peak ?? 0, gflops);
        }
        return peak is null ? null : workload.FlopsPerOperation / seconds / peak.Value;
    }

    private static IWorkload? WorkloadOf(BenchmarkCase benchmark) => FixedWorkloadAttribute.Of(benchmark);

    /// <inheritdoc />
    public string Id => nameof(WorkloadColumn) + "." + name;

    /// <inheritdoc />
    public string ColumnName => name;

    /// <inheritdoc />
    public bool AlwaysShow => false;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc />
    public int PriorityInCategory => 0;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend { get; }

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) =>
        summary.BenchmarksCases.Any(b => WorkloadOf(b) is { } w && value(summary, b, w, 1) is not null);

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        IWorkload? workload = WorkloadOf(benchmarkCase);
        BenchmarkReport? report = summary[benchmarkCase];
        if (workload is null || report?.ResultStatistics is null)
        {
            return "-";
        }
        double seconds = report.ResultStatistics.Median / 1e9;
        double? result = value(summary, benchmarkCase, workload, seconds);
        return result is null ? "-" : result.Value.ToString(format, CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public override string ToString() => name;
}
