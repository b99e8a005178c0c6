using FastText.Cli;

namespace FastText.Engine.Tests.Cli;

public sealed class CommandErrorsTests
{
    [Fact]
    public async Task Input_problems_print_their_message_and_cause_without_a_stack_trace()
    {
        var error = new StringWriter();
        int code = await CommandErrors.RunAsync(
            () => throw new InvalidDataException("runs/cls/model.json: made for vocabulary a, corpus has b",
                new FileNotFoundException("spm.model missing")),
            error, debug: false);
        Assert.Equal(CommandErrors.InputError, code);
        string text = error.ToString();
        Assert.StartsWith("error: runs/cls/model.json: made for vocabulary a, corpus has b", text, StringComparison.Ordinal);
        Assert.Contains("because: spm.model missing", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cpu_whose_kernels_fail_their_float64_check_is_an_environment_error_not_a_bug()
    {
        var error = new StringWriter();
        int code = await CommandErrors.RunAsync(
            () => throw new FastText.Engine.Native.KernelNumericsException("No LSTM kernel computes right numbers on this CPU for an LSTM of 1152→400 …"),
            error, debug: false);
        Assert.Equal(CommandErrors.InputError, code);
        Assert.StartsWith("error: No LSTM kernel computes right numbers on this CPU", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bugs_print_the_whole_exception_and_a_distinct_exit_code()
    {
        var error = new StringWriter();
        int code = await CommandErrors.RunAsync(() => throw new NullReferenceException("oops"), error, debug: false);
        Assert.Equal(CommandErrors.InternalError, code);
        Assert.Contains("internal error", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("NullReferenceException", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Debug_mode_keeps_stack_traces_for_input_problems_and_success_passes_through()
    {
        var error = new StringWriter();
        int code = await CommandErrors.RunAsync(() => throw new FileNotFoundException("no such file", "x.pth"), error, debug: true);
        Assert.Equal(CommandErrors.InputError, code);
        Assert.Contains("FileNotFoundException", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await CommandErrors.RunAsync(() => Task.FromResult(0), TextWriter.Null, debug: false));
        Assert.Equal(CommandErrors.Cancelled, await CommandErrors.RunAsync(() => throw new OperationCanceledException(), TextWriter.Null, debug: false));
    }
}
