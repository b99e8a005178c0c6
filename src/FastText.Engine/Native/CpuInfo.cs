using System.Globalization;

namespace FastText.Engine.Native;

/// <summary>What this machine's CPU is, for reports: kernels and their numbers differ per microarchitecture, so every
/// measured figure names the CPU it came from.</summary>
internal static class CpuInfo
{
    private static readonly Lazy<string> Description = new(Read);

    /// <summary>Model name, family/model/stepping and the vector extensions libtorch's kernels choose by, e.g.
    /// "AMD EPYC (family 26, model 2, stepping 1; avx512f avx512_bf16, no amx)"; "unknown CPU" where /proc/cpuinfo is absent.</summary>
    public static string Describe() => Description.Value;

    private static string Read()
    {
        const string path = "/proc/cpuinfo";
        if (!File.Exists(path))
        {
            return "unknown CPU";
        }
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                break;                       // the first processor's block is enough
            }
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }
        string Field(string name) => fields.TryGetValue(name, out string? value) ? value : "?";
        var flags = new HashSet<string>(Field("flags").Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        string[] wanted = { "avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16" };
        string present = string.Join(' ', wanted.Where(flags.Contains));
        string amx = flags.Contains("amx_tile") ? "" : ", no amx";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Field("model name")} (family {Field("cpu family")}, model {Field("model")}, stepping {Field("stepping")}; {present}{amx})");
    }
}
