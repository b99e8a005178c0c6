using System.CommandLine;
using FastText.Cli;
using FastText.Engine.Models;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Cli;

public sealed class CommandHandlerTests : IDisposable
{
    private readonly TemporaryFolder temporary = new();

    private string folder => temporary.Path;

    [Fact]
    public void Every_command_runs_on_a_tiny_corpus_and_reads_the_previous_commands_artifacts()
    {
        TorchTestSetup.Use();
        var (data, lines) = WriteTinyCorpora(seed: 3);

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
        Run("sample-efficiency", "-c", P("spam"), "-e", P("tuned"), "-o", P("efficiency"), "--preset", "tiny", "--sizes", "10", "--seeds", "3,5");
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
        string efficiency = File.ReadAllText(P("efficiency/report.md"));
        Assert.Contains("| 10 |", efficiency, StringComparison.Ordinal);
        Assert.Contains(" of 2 against from scratch, ", efficiency, StringComparison.Ordinal);
        Assert.Contains(" of 2 against TF-IDF + linear SVM, ", efficiency, StringComparison.Ordinal);
        Assert.Contains(" of 2 against fastText-style (hashed bigrams), ", efficiency, StringComparison.Ordinal);
        Assert.Contains(" of 2 against ensemble of ULMFiT and fastText-style |", efficiency, StringComparison.Ordinal);
        Assert.Contains("sample-efficiency 10 scratch seed 5", efficiency, StringComparison.Ordinal);
    }

    [Fact]
    public void Subword_mode_runs_from_tokenize_to_predict_and_generate_and_a_word_corpus_is_refused()
    {
        TorchTestSetup.Use();
        string spm = Pretrained.Fixture.File(Path.Combine("sentencepiece", "bpe.model"));
        var random = new Random(4);
        string Sentence(string[] words) => string.Join(' ', Enumerable.Range(0, 4 + random.Next(6)).Select(_ => words[random.Next(words.Length)])) + ".";
        string[] spamWords = ["cheap", "pills", "winner", "money", "free"];
        string[] hamWords = ["meeting", "patch", "kernel", "review", "build"];
        string lines = Path.Combine(folder, "mails.txt");
        Directory.CreateDirectory(folder);
        File.WriteAllLines(lines, Enumerable.Range(0, 40).Select(i => Sentence(i % 2 == 0 ? spamWords : hamWords)));
        string data = Path.Combine(folder, "mails");
        for (int i = 0; i < 40; i++)
        {
            string label = i % 2 == 0 ? "spam" : "ham";
            string path = Path.Combine(data, i % 5 == 0 ? "test" : "train", label, $"{i}.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, Sentence(label == "spam" ? spamWords : hamWords));
        }

        var output = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        int Run(params string[] args) => FastTextCommandLine.Build(handlers).Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = output });
        string P(string name) => Path.Combine(folder, name);
        void Ok(params string[] args) => Assert.True(Run(args) == 0, $"fasttext {string.Join(' ', args)}\n{output}");

        Ok("tokenize", "-i", lines, "--format", "lines", "-o", P("english"), "--preset", "tiny", "--subword-model", spm);
        Ok("tokenize", "-i", data, "-o", P("spam"), "--preset", "tiny", "--subword-model", spm);
        Ok("pretrain", "-c", P("english"), "-o", P("lm"), "--preset", "tiny");
        Ok("fine-tune", "-c", P("spam"), "-p", P("lm"), "-o", P("tuned"), "--preset", "tiny");
        Ok("train-classifier", "-c", P("spam"), "-e", P("tuned"), "-o", P("classifier"), "--preset", "tiny");
        Ok("predict", "-m", P("classifier"), "cheap pills money");
        Ok("generate", "-m", P("tuned"), "meeting review", "-n", "4", "--seed", "1");
        // --vocabulary-from a model folder brings its tokenizer along: the new corpus evaluates against the classifier.
        Ok("tokenize", "-i", data, "-o", P("spam-again"), "--preset", "tiny", "--vocabulary-from", P("classifier"));
        Ok("evaluate", "-m", P("classifier"), "-c", P("spam-again"));
        Assert.True(File.Exists(P("spam-again/spm.model")));
        string log = output.ToString();
        Assert.Contains("SentencePiece subwords", log, StringComparison.Ordinal);
        Assert.Contains("| actual \\ predicted | ham | spam |", log, StringComparison.Ordinal);
        Assert.Single(log.Split('\n'), l => l.StartsWith("spam\t", StringComparison.Ordinal) || l.StartsWith("ham\t", StringComparison.Ordinal));
        Assert.DoesNotContain("\u2581", log.Split('\n').Single(l => l.StartsWith("meeting review ", StringComparison.Ordinal)), StringComparison.Ordinal);

        // A word-level corpus against the subword classifier: refused, naming both.
        Ok("tokenize", "-i", data, "-o", P("spam-words"), "--preset", "tiny");
        Assert.NotEqual(0, Run("evaluate", "-m", P("classifier"), "-c", P("spam-words")));
        Assert.Contains("Tokenization mismatch", output.ToString(), StringComparison.Ordinal);
        Assert.Contains(P("spam-words"), output.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(0, Run("train-classifier", "-c", P("spam-words"), "-e", P("tuned"), "-o", P("mixed"), "--preset", "tiny"));
        Assert.False(File.Exists(P("mixed/classifier.weights")));
    }

    [Fact]
    public void Backwards_models_train_from_the_command_line_and_ensemble_with_a_forward_one()
    {
        TorchTestSetup.Use();
        var (data, lines) = WriteTinyCorpora(seed: 6);

        var output = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        int Run(params string[] args) => FastTextCommandLine.Build(handlers).Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = output });
        void Ok(params string[] args) => Assert.True(Run(args) == 0, $"fasttext {string.Join(' ', args)}\n{output}");
        string P(string name) => Path.Combine(folder, name);

        Ok("tokenize", "-i", lines, "--format", "lines", "-o", P("english"), "--preset", "tiny");
        Ok("tokenize", "-i", data, "-o", P("spam"), "--preset", "tiny");
        Ok("pretrain", "-c", P("english"), "-o", P("lm-bwd"), "--preset", "tiny", "--backwards");
        Ok("fine-tune", "-c", P("spam"), "-p", P("lm-bwd"), "-o", P("tuned-bwd"), "--preset", "tiny", "--backwards");
        Ok("train-classifier", "-c", P("spam"), "-e", P("tuned-bwd"), "-o", P("bwd"), "--preset", "tiny", "--backwards");
        Ok("train-classifier", "-c", P("spam"), "-o", P("fwd"), "--preset", "tiny");
        Assert.True(FastText.Engine.Models.ClassifierArtifact.Open(P("bwd")).Backwards);
        Assert.False(FastText.Engine.Models.ClassifierArtifact.Open(P("fwd")).Backwards);

        int before = output.ToString().Length;
        Ok("predict", "-m", P("fwd"), "-m", P("bwd"), "cheap pills click", "kernel patch review");
        string predict = output.ToString()[before..];
        Assert.Contains($"model 2: {P("bwd")} (backwards)", predict, StringComparison.Ordinal);
        string[] rows = predict.Split('\n');
        Assert.Equal(2, rows.Count(l => l.StartsWith("model 1\t", StringComparison.Ordinal)));
        Assert.Equal(2, rows.Count(l => l.StartsWith("model 2\t", StringComparison.Ordinal)));
        Assert.Equal(2, rows.Count(l => l.StartsWith("ensemble\t", StringComparison.Ordinal)));

        before = output.ToString().Length;
        Ok("evaluate", "-m", P("fwd"), "-m", P("bwd"), "-c", P("spam"));
        string evaluate = output.ToString()[before..];
        Assert.Matches(@"model 1: accuracy \d+\.\d\d%, macro F1 ", evaluate);
        Assert.Matches(@"model 2: accuracy \d+\.\d\d%, macro F1 ", evaluate);
        Assert.Matches(@"ensemble: accuracy \d+\.\d\d%, macro F1 ", evaluate);
        Assert.Contains("| actual \\ predicted | ham | spam |", evaluate, StringComparison.Ordinal);

        // The bag of n-grams as one more member, trained on the corpus's training split.
        before = output.ToString().Length;
        Ok("evaluate", "-m", P("fwd"), "-c", P("spam"), "--with-ngram-baseline");
        evaluate = output.ToString()[before..];
        Assert.Matches(@"model 2: fastText-style \(hashed bigrams\), trained on the corpus's [\d,]+ training documents in ", evaluate);
        Assert.Matches(@"model 2: accuracy \d+\.\d\d%, macro F1 ", evaluate);
        Assert.Matches(@"ensemble: accuracy \d+\.\d\d%, macro F1 ", evaluate);

        // A backwards LM writes what precedes the prompt: the printed text ends with it.
        before = output.ToString().Length;
        Ok("generate", "-m", P("tuned-bwd"), "kernel meeting", "-n", "5", "--seed", "1");
        string generated = output.ToString()[before..].Trim();
        Assert.EndsWith(" kernel meeting", generated, StringComparison.Ordinal);
        Assert.True(generated.Split(' ').Length > 2, generated);

        // The other direction as a start is refused, naming both.
        Assert.NotEqual(0, Run("fine-tune", "-c", P("spam"), "-p", P("lm-bwd"), "-o", P("tuned-fwd"), "--preset", "tiny"));
        Assert.Contains("Direction mismatch", output.ToString(), StringComparison.Ordinal);
        Assert.Contains($"'{P("lm-bwd")}' reads text backwards", output.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(0, Run("train-classifier", "-c", P("spam"), "-e", P("tuned-bwd"), "-o", P("mixed"), "--preset", "tiny"));
        Assert.False(File.Exists(P("mixed/classifier.weights")));
    }

    public void Dispose() => temporary.Dispose();

    private (string Mails, string English) WriteTinyCorpora(int seed) => TinyCorpora.Write(folder, seed);
}
