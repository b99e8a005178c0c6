using System.CommandLine;
using FastText.Cli;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Cli;

[Collection(SequentialTorchCollection.Name)]
public sealed class SyntaxCommandTests : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    private static readonly Vocabulary Words = Vocabulary.FromTokens([.. SpecialTokens.All,
        .. AgreementTest.TemplatePairs().SelectMany(p => p.Prefix.Split(' ').Append(p.Grammatical).Append(p.Ungrammatical)).Select(w => w.ToLowerInvariant()).Distinct(),
        "jury", "said", "."]);

    private sealed class Recorder : ISyntaxCommandHandlers
    {
        public object? Last { get; private set; }

        public Task<int> ProbeAsync(ProbeRequest request, CancellationToken cancellation) => Record(request);

        public Task<int> AgreementAsync(AgreementRequest request, CancellationToken cancellation) => Record(request);

        private Task<int> Record(object request)
        {
            Last = request;
            return Task.FromResult(0);
        }
    }

    [Fact]
    public void Probe_and_agreement_parse_their_options()
    {
        var recorder = new Recorder();
        RootCommand root = FastTextCommandLine.Build(new CommandLineTests.Recorder(), recorder);
        Assert.Equal(0, root.Parse(["probe", "-m", "lm", "--tagged", "t.txt", "--random-control", "--seed", "4", "--threads", "1"]).Invoke());
        Assert.Equal(new ProbeRequest("lm", "t.txt", true, 4, new SyntaxProbeOptions().Steps, 1), recorder.Last);
        Assert.Equal(0, root.Parse(["agreement", "-m", "lm", "-c", "corpus"]).Invoke());
        Assert.Equal(new AgreementRequest("lm", "corpus", 0.1, null), recorder.Last);
        Assert.Equal(0, root.Parse(["agreement", "-m", "lm", "--add-k", "1"]).Invoke());
        Assert.Equal(new AgreementRequest("lm", null, 1, null), recorder.Last);
        var output = new StringWriter();
        Assert.NotEqual(0, root.Parse(["probe", "-m", "lm"]).Invoke(new InvocationConfiguration { Output = output, Error = output }));   // --tagged is required
        Assert.Contains("--tagged", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_and_agreement_print_their_tables_for_a_saved_model()
    {
        TorchTestSetup.Use();
        string lm = SaveModel(backwards: false);
        string tagged = folder.Write("tagged.txt", string.Concat(Enumerable.Repeat("The/at jury/nn said/vbd ./.\nThe/at man/nn is/bez ./.\n", 10)));
        var output = new StringWriter();
        var handlers = new SyntaxCommandHandlers(new TerminalProgress(output, interactive: false));
        Assert.Equal(0, await handlers.ProbeAsync(new ProbeRequest(lm, tagged, true, 0, 20, 1), CancellationToken.None));
        string text = output.ToString();
        Assert.Contains("random-init: test", text, StringComparison.Ordinal);
        Assert.Equal(4, text.Split('\n').Count(l => l.StartsWith("embedding", StringComparison.Ordinal) || l.StartsWith("lstm ", StringComparison.Ordinal)));
        Assert.Contains("baselines: majority tag (", text, StringComparison.Ordinal);

        string corpus = folder.Combine("corpus");
        TextDataset.Create([new LabelledText("The man is here . The men are here .", null, "a"), new LabelledText("The book has pages .", null, "b")],
            corpus, new TextDatasetOptions(ValidationShare: 0), Words).Dispose();
        output.GetStringBuilder().Clear();
        Assert.Equal(0, await handlers.AgreementAsync(new AgreementRequest(lm, corpus, 0.1, 1), CancellationToken.None));
        text = output.ToString();
        Assert.Contains("bigram shift", text, StringComparison.Ordinal);
        Assert.Contains(text.Split('\n'), l => l.StartsWith("all", StringComparison.Ordinal) && l.Contains(" 360 ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_inputs_fail_with_an_error_naming_the_file_or_folder()
    {
        TorchTestSetup.Use();
        string lm = SaveModel(backwards: false);
        string missing = folder.Combine("missing.txt");
        string bad = folder.Write("bad.txt", "The/at jury/nn\nsaid\n");
        string backwards = SaveModel(backwards: true);
        string notCorpus = Directory.CreateDirectory(folder.Combine("empty")).FullName;
        string tagged = folder.Write("tagged.txt", "The/at jury/nn\n");

        async Task<string> Fails(params string[] args)
        {
            var error = new StringWriter();
            RootCommand root = FastTextCommandLine.Build(new CommandLineTests.Recorder(), new SyntaxCommandHandlers(new TerminalProgress(TextWriter.Null, interactive: false)));
            int code = await CommandErrors.RunAsync(() => root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }), error, debug: false);
            Assert.Equal(CommandErrors.InputError, code);
            Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
            return error.ToString();
        }

        Assert.Contains(missing, await Fails("probe", "-m", lm, "--tagged", missing), StringComparison.Ordinal);
        Assert.Contains($"{bad}, line 2", await Fails("probe", "-m", lm, "--tagged", bad), StringComparison.Ordinal);
        Assert.Contains("backwards", await Fails("probe", "-m", backwards, "--tagged", tagged), StringComparison.Ordinal);
        Assert.Contains("--steps", await Fails("probe", "-m", lm, "--tagged", tagged, "--steps", "0"), StringComparison.Ordinal);
        Assert.Contains(folder.Combine("nothing"), await Fails("agreement", "-m", folder.Combine("nothing")), StringComparison.Ordinal);
        Assert.Contains(notCorpus, await Fails("agreement", "-m", lm, "-c", notCorpus), StringComparison.Ordinal);
        Assert.Contains("backwards", await Fails("agreement", "-m", backwards), StringComparison.Ordinal);
        Assert.Contains("--add-k", await Fails("agreement", "-m", lm, "--add-k", "0"), StringComparison.Ordinal);
    }

    private string SaveModel(bool backwards)
    {
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: Words.Count, seed: 41);
        string path = folder.Combine(backwards ? "lm-bwd" : "lm");
        LanguageModelArtifact.Save(path, model, Words, Tokenization.Words, 0, backwards: backwards);
        return path;
    }
}
