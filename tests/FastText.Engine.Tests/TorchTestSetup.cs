using System.Runtime.CompilerServices;
using FastText.Engine.Native;

namespace FastText.Engine.Tests;

/// <summary>Every test process uses one torch thread: xunit runs classes in parallel on 2 cores, and libgomp
/// oversubscription makes ops 10–20× slower.</summary>
internal static class TorchTestSetup
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        Environment.SetEnvironmentVariable(TorchRuntime.ThreadsVariable, "1");
    }

    /// <summary>Loads torch with one intra-op thread; call at the start of every torch test.</summary>
    public static void Use() => TorchRuntime.Initialize(1);
}
