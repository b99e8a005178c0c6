using FastText.Engine.Native;

namespace FastText.Cli;

/// <summary>
/// How the command line reports a failed command: problems with the user's input or environment (a missing or corrupt
/// file, a mismatched model, a bad argument, torch failing to load) print their message — which names the file or
/// argument — without a stack trace; anything else is a bug and prints the whole exception. Set
/// <c>FASTTEXT_DEBUG=1</c> to get stack traces for every error.
/// </summary>
public static class CommandErrors
{
    /// <summary>Exit code of a command that failed on bad input or environment.</summary>
    public const int InputError = 1;

    /// <summary>Exit code of a command that failed on an unexpected error (a bug).</summary>
    public const int InternalError = 70;

    /// <summary>Exit code of a cancelled command (Ctrl+C), the shell's 128 + SIGINT.</summary>
    public const int Cancelled = 130;

    /// <summary>Runs <paramref name="command"/>, turning its exceptions into a message on <paramref name="error"/> and an exit code.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> command, TextWriter error, bool debug)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            return await command().ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            return Report(exception, error, debug);
        }
    }

    /// <summary>Writes <paramref name="exception"/> for a user and returns the exit code.</summary>
    public static int Report(Exception exception, TextWriter error, bool debug)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(error);
        if (exception is OperationCanceledException)
        {
            error.WriteLine("cancelled. A training command wrote a checkpoint of the phase it was in: run it again with --resume to continue.");
            return Cancelled;
        }
        bool input = IsInputProblem(exception);
        if (debug || !input)
        {
            error.WriteLine(input ? $"error: {exception}" : $"internal error (please report it): {exception}");
            return input ? InputError : InternalError;
        }
        string said = UserMessage(exception);
        error.WriteLine($"error: {said}");
        for (Exception? inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            // A cause the message already quotes ("damaged zip archive: <the zip error>") is not said twice.
            string cause = UserMessage(inner);
            if (!said.Contains(cause.TrimEnd('.'), StringComparison.Ordinal))
            {
                error.WriteLine($"  because: {cause}");
                said += cause;
            }
        }
        return InputError;
    }

    // An ArgumentException's message ends in "(Parameter 'name')" (and "Actual value was …"): the engine's parameter
    // names mean nothing to a command-line user, and each message already says what was wrong.
    private static string UserMessage(Exception exception)
    {
        if (exception is ArgumentException { ParamName: { } name } argument)
        {
            string message = argument.Message;
            int suffix = message.IndexOf($" (Parameter '{name}')", StringComparison.Ordinal);
            return suffix >= 0 ? message[..suffix] : message;
        }
        return exception.Message;
    }

    private static bool IsInputProblem(Exception exception) => exception is
        IOException or                    // file not found, directory not found, disk full, sharing violation
        InvalidDataException or
        UnauthorizedAccessException or
        ArgumentException or
        FormatException or
        NotSupportedException or
        TorchLoadException or
        Engine.Training.TrainingDivergedException or   // a learning rate too high for the data: the user's setting
        Engine.Models.Pretrained.PretrainedWeightsException or   // the weights given do not fit the preset or the model
        KernelNumericsException;          // this CPU's kernels fail their float64 check: an environment problem
}
