using FastText.Cli;

namespace FastText.Engine.Tests.Cli;

public sealed class TerminalProgressTests
{
    [Fact]
    public void Redirected_output_gets_plain_lines_every_tenth_and_a_final_line()
    {
        var output = new StringWriter();
        var progress = new TerminalProgress(output, interactive: false);
        using (var task = progress.Start("epoch 1/2", 100, "batches"))
        {
            for (int i = 1; i <= 100; i++)
            {
                task.Report(i, $"loss {5.0 - (i / 100.0):F2}");
            }
        }
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length); // 10 %, 20 %, … 90 % and the final line
        Assert.DoesNotContain('\r', output.ToString());
        Assert.StartsWith("epoch 1/2  10% 10/100 batches · loss 4.90", lines[0], StringComparison.Ordinal);
        Assert.Contains("100/100 batches · loss 4.00", lines[^1], StringComparison.Ordinal);
        Assert.DoesNotContain("ETA", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Terminal_output_redraws_one_line_with_a_bar()
    {
        var output = new StringWriter();
        var progress = new TerminalProgress(output, interactive: true);
        using (var task = progress.Start("tokenizing", 4, "files"))
        {
            task.Report(4);
        }
        string text = output.ToString();
        Assert.StartsWith("\rtokenizing [", text, StringComparison.Ordinal);
        Assert.Contains("[############################] 100% 4/4 files", text, StringComparison.Ordinal);
        Assert.EndsWith(Environment.NewLine, text, StringComparison.Ordinal);
    }
}
