using FastText.Cli;

return await FastTextCommandLine.Build(new PipelineCommandHandlers(TerminalProgress.ForConsole())).Parse(args).InvokeAsync().ConfigureAwait(false);
