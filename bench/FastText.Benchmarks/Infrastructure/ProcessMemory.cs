using System.Globalization;

namespace FastText.Benchmarks.Infrastructure;

/// <summary>What the kernel says about this process's memory (Linux <c>/proc/self/status</c>).</summary>
internal static class ProcessMemory
{
    /// <summary>VmHWM: the most resident memory this process has had, MiB.</summary>
    /// <remarks>The line reads "VmHWM:\t 871234 kB", with no space after the tab once the value has 8 digits.</remarks>
    public static double PeakResidentMegabytes()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}
