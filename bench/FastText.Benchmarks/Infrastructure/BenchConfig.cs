using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Extensions;

namespace FastText.Benchmarks.Infrastructure;

/// <summary>The two jobs every suite runs with: a short one for CI-size checks and a full one for real measurements.</summary>
public static class BenchConfig
{
    /// <summary>Builds the configuration for <paramref name="profile"/> ("short" or "full").</summary>
    /// <param name="profile">"short" or "full".</param>
    /// <param name="artifactsPath">BenchmarkDotNet's working folder.</param>
    /// <param name="nativeFixTargets">build/TorchNativeFix.targets: BenchmarkDotNet's generated projects switch off
    /// Directory.Build.* imports, so the Debian 12 native fix is handed to them as CustomAfterMicrosoftCommonTargets.</param>
    public static IConfig Create(string profile, string artifactsPath, string nativeFixTargets)
    {
        Job job = profile switch
        {
            // Few, long iterations: enough for a median on this noisy 2-core machine, small enough for CI.
            "short" => Job.ShortRun.WithId("short").WithWarmupCount(1).WithIterationCount(3).WithLaunchCount(1),
            "full" => Job.Default.WithId("full").WithMinIterationCount(10).WithMaxIterationCount(30),
            _ => throw new ArgumentException($"--profile must be 'short' or 'full', not '{profile}'."),
        };
        job = job.WithArguments(new[] { new MsBuildArgument($"/p:CustomAfterMicrosoftCommonTargets={nativeFixTargets}") });
        return ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(WorkloadColumn.All)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddExporter(MarkdownExporter.GitHub)
            .AddExporter(JsonExporter.Full)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .WithArtifactsPath(artifactsPath)
            .WithOptions(ConfigOptions.DisableLogFile);
    }
}
