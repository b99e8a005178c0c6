namespace FastText.Benchmarks.Infrastructure;

/// <summary>
/// A benchmark parameter that knows how much work one benchmark operation does, so the summary can show
/// throughput (tokens/s, bytes/s) and achieved GFLOP/s next to BenchmarkDotNet's times.
/// </summary>
public interface IWorkload
{
    /// <summary>Tokens processed by one operation (0 when not meaningful).</summary>
    double TokensPerOperation { get; }

    /// <summary>Floating-point operations done by one operation (0 when not meaningful).</summary>
    double FlopsPerOperation { get; }

    /// <summary>Bytes of input consumed by one operation (0 when not meaningful).</summary>
    double BytesPerOperation { get; }
}
