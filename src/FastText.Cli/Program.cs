using System.CommandLine;
using FastText.Cli;

bool debug = Environment.GetEnvironmentVariable("FASTTEXT_DEBUG") is "1" or "true";
var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
ParseResult parsed = FastTextCommandLine.Build(new PipelineCommandHandlers(TerminalProgress.ForConsole())).Parse(args);
return await CommandErrors.RunAsync(() => parsed.InvokeAsync(configuration), Console.Error, debug).ConfigureAwait(false);
