using System.Reflection;
using BenchmarkDotNet.Running;

namespace FastText.Benchmarks.Infrastructure;

/// <summary>States a benchmark method's work directly, overriding any <see cref="IWorkload"/> parameter of its class.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class FixedWorkloadAttribute : Attribute, IWorkload
{
    /// <inheritdoc />
    public double TokensPerOperation { get; set; }

    /// <inheritdoc />
    public double FlopsPerOperation { get; set; }

    /// <inheritdoc />
    public double BytesPerOperation { get; set; }

    /// <summary>The workload of a benchmark case: the method's attribute, else its first <see cref="IWorkload"/> parameter.</summary>
    public static IWorkload? Of(BenchmarkCase benchmark) =>
        (IWorkload?)benchmark.Descriptor.WorkloadMethod.GetCustomAttribute<FixedWorkloadAttribute>()
        ?? benchmark.Parameters.Items.Select(p => p.Value).OfType<IWorkload>().FirstOrDefault();
}
