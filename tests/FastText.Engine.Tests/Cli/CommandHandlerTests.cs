using FastText.Cli;

namespace FastText.Engine.Tests.Cli;

public sealed class CommandHandlerTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "fasttext-cli-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Every_command_runs_on_a_tiny_corpus_and_reads_the_previous_commands_artifacts()
    {
        TorchTestSetup.Use();
        var random = new Random(3);
        string[] spamWords = ["cheap", "pills", "winner", "money", "free", "click", "offer"];
        string[] hamWords = ["meeting", "patch", "kernel", "review", "build", "thanks", "schedule"];
        string Sentence(string[] words) => string.Join(' ', Enumerable.Range(0, 5 + random.Next(10)).Select(_ => words[random.Next(words.Length)])) + ".";
        string data = Path.Combine(folder, "mails");
        for (int i = 0; i < 60; i++)
        {
            string split = i % 5 == 0 ? "test" : "train";
            string label = i % 2 == 0 ? "spam" : "ham";
            string path = Path.Combine(data, split, label, $"{i}.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, Sentence(label == "spam" ? spamWords : hamWords));
        }
        string lines = Path.Combine(folder, "english.txt");
        File.WriteAllLines(lines, Enumerable.Range(0, 40).Select(_ => Sentence(hamWords) + " " + Sentence(spamWords)));

        var output = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        int Run(params string[] args)
        {
            int code = FastTextCommandLine.Build(handlers).Parse(args).Invoke();
            Assert.True(code == 0, $"fasttext {string.Join(' ', args)} → {code}\n{output}");
            return code;
        }
        string P(string name) => Path.Combine(folder, name);

        Run("tokenize", "-i", lines, "--format", "lines", "-o", P("english"), "--preset", "tiny");
        Run("tokenize", "-i", data, "-o", P("spam"), "--preset", "tiny");
        Run("pretrain", "-c", P("english"), "-o", P("lm"), "--preset", "tiny");
        Run("fine-tune", "-c", P("spam"), "-p", P("lm"), "-o", P("tuned"), "--preset", "tiny");
        Run("train-classifier", "-c", P("spam"), "-e", P("tuned"), "-o", P("classifier"), "--preset", "tiny");
        Run("evaluate", "-m", P("classifier"), "-c", P("spam"));
        Run("sample-efficiency", "-c", P("spam"), "-e", P("tuned"), "-o", P("efficiency"), "--preset", "tiny", "--sizes", "10,all");
        Run("predict", "-m", P("classifier"), "cheap pills click", "kernel patch review");
        Run("generate", "-m", P("tuned"), "the meeting", "-n", "5", "--seed", "1");

        string log = output.ToString();
        Assert.Contains("classes ham/spam", log, StringComparison.Ordinal);
        Assert.Contains("| actual \\ predicted | ham | spam |", log, StringComparison.Ordinal);
        Assert.Equal(2, log.Split('\n').Count(l => l.StartsWith("ham\t", StringComparison.Ordinal) || l.StartsWith("spam\t", StringComparison.Ordinal)));
        Assert.True(File.Exists(P("classifier/classifier.weights")));
        Assert.True(File.Exists(P("tuned/encoder.weights")));
        Assert.True(File.Exists(P("classifier/report.md")));
        Assert.True(File.Exists(P("efficiency/plots/sample-efficiency.png")));
        Assert.Contains("| 10 |", File.ReadAllText(P("efficiency/report.md")), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
