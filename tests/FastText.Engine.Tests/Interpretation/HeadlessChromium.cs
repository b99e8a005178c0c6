using System.Diagnostics;

namespace FastText.Engine.Tests.Interpretation;

/// <summary>Debian's chromium, headless, for tests that open a page in a real browser (scripts/test.sh installs it).</summary>
internal static class HeadlessChromium
{
    // Runs headless chromium with a throwaway profile and returns its standard output.
    public static string Run(string profile, params string[] arguments)
    {
        string browser = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new Xunit.Sdk.XunitException("No chromium in /usr/bin: this test opens the page in a real browser. scripts/test.sh installs Debian's chromium (apt-get install chromium).");
        var start = new ProcessStartInfo(browser)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", $"--user-data-dir={profile}" }.Concat(arguments))
        {
            start.ArgumentList.Add(a);
        }
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("chromium did not finish in 60 s");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {error.Result}");
        return output;
    }

    // tests/artifacts/ at the repository root (gitignored), or FASTTEXT_TEST_ARTIFACTS.
    public static string Artefacts()
    {
        string? folder = Environment.GetEnvironmentVariable("FASTTEXT_TEST_ARTIFACTS");
        if (folder is null)
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastText.Engine.sln")))
            {
                dir = dir.Parent;
            }
            folder = Path.Combine(dir?.FullName ?? Path.GetTempPath(), "tests", "artifacts");
        }
        Directory.CreateDirectory(folder);
        return folder;
    }
}
