using System.CommandLine;
using FastText.Cli;
using FastText.Engine.Native;

// First, before the command's threads start: the training thread should share glibc's main heap (TorchRuntime.PrepareProcess).
TorchRuntime.PrepareProcess();
bool debug = Environment.GetEnvironmentVariable("FASTTEXT_DEBUG") is "1" or "true";
// Ctrl+C cancels the command's token; training then checkpoints the phase running before it stops, which can take a
// batch and a file write, so the process waits for that (the default grace period is 2 s).
var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromMinutes(2) };
ParseResult parsed = FastTextCommandLine.Build(new PipelineCommandHandlers(TerminalProgress.ForConsole())).Parse(args);
return await CommandErrors.RunAsync(() => parsed.InvokeAsync(configuration), Console.Error, debug).ConfigureAwait(false);
