using System.CommandLine;
using FastText.Cli;

namespace FastText.Engine.Tests.Cli;

public sealed class CommandLineTests
{
    [Fact]
    public void Every_pipeline_command_is_present()
    {
        RootCommand root = FastTextCommandLine.Build(new Recorder());
        Assert.Equal(["tokenize", "pretrain", "fine-tune", "train-classifier", "sample-efficiency", "compact", "predict", "explain", "evaluate", "generate", "next", "neighbours", "map", "inspect", "surprisal", "probe", "agreement", "demo"],
            root.Subcommands.Select(c => c.Name));
    }

    [Fact]
    public void Options_reach_the_handler()
    {
        var recorder = new Recorder();
        int code = FastTextCommandLine.Build(recorder)
            .Parse(["tokenize", "-i", "a", "b", "--format", "brown", "-o", "out", "--threads", "1"]).Invoke();
        Assert.Equal(0, code);
        var request = Assert.IsType<TokenizeRequest>(recorder.Last);
        Assert.Equal(["a", "b"], request.Inputs);
        Assert.Equal("brown", request.Format);
        Assert.Equal("out", request.Output);
        Assert.Equal(1, request.Threads);
        Assert.Equal("small", request.Preset);

        FastTextCommandLine.Build(recorder).Parse(["generate", "-m", "lm", "I liked this movie because", "-n", "5"]).Invoke();
        var generate = Assert.IsType<GenerateRequest>(recorder.Last);
        Assert.Equal(("I liked this movie because", 5, 0.75), (generate.Prompt, generate.Words, generate.Temperature));

        FastTextCommandLine.Build(recorder).Parse(["fine-tune", "-c", "spam", "-p", "models/lstm_fwd.pth", "--pretrained-vocab", "models/itos_wt103.pkl", "-o", "ft"]).Invoke();
        var fineTune = Assert.IsType<LanguageModelRequest>(recorder.Last);
        Assert.Equal(("models/lstm_fwd.pth", "models/itos_wt103.pkl"), (fineTune.Pretrained, fineTune.PretrainedVocabulary));

        FastTextCommandLine.Build(recorder).Parse(["demo"]).Invoke();
        Assert.Equal(new DemoRequest("runs/demo", "small", false, null, null), recorder.Last);

        FastTextCommandLine.Build(recorder).Parse(["demo", "--subword-model", "spm.model"]).Invoke();
        Assert.Equal("spm.model", Assert.IsType<DemoRequest>(recorder.Last).SubwordModel);
        FastTextCommandLine.Build(recorder).Parse(["tokenize", "-i", "a", "-o", "out", "--subword-model", "spm.model"]).Invoke();
        Assert.Equal("spm.model", Assert.IsType<TokenizeRequest>(recorder.Last).SubwordModel);

        // --resume on every training command and the demo.
        FastTextCommandLine.Build(recorder).Parse(["demo", "--resume"]).Invoke();
        Assert.True(Assert.IsType<DemoRequest>(recorder.Last).Resume);
        Assert.False(Assert.IsType<DemoRequest>(recorder.Last).UnlabelledMails);
        FastTextCommandLine.Build(recorder).Parse(["demo", "--unlabelled-mails"]).Invoke();
        Assert.True(Assert.IsType<DemoRequest>(recorder.Last).UnlabelledMails);
        FastTextCommandLine.Build(recorder).Parse(["pretrain", "-c", "brown", "-o", "lm", "--resume"]).Invoke();
        Assert.True(Assert.IsType<LanguageModelRequest>(recorder.Last).Resume);
        FastTextCommandLine.Build(recorder).Parse(["fine-tune", "-c", "spam", "-p", "lm", "-o", "ft", "--resume"]).Invoke();
        Assert.True(Assert.IsType<LanguageModelRequest>(recorder.Last).Resume);
        FastTextCommandLine.Build(recorder).Parse(["train-classifier", "-c", "spam", "-o", "cls", "--resume"]).Invoke();
        Assert.True(Assert.IsType<ClassifierRequest>(recorder.Last).Resume);
        FastTextCommandLine.Build(recorder).Parse(["train-classifier", "-c", "spam", "-o", "cls"]).Invoke();
        Assert.False(Assert.IsType<ClassifierRequest>(recorder.Last).Resume);
    }

    [Fact]
    public void Precision_reaches_every_training_command_and_the_demo_and_other_values_are_refused()
    {
        var recorder = new Recorder();
        string? Precision(params string[] args)
        {
            Assert.Equal(0, FastTextCommandLine.Build(recorder).Parse(args).Invoke());
            return recorder.Last switch
            {
                LanguageModelRequest r => r.Precision,
                ClassifierRequest r => r.Precision,
                SampleEfficiencyRequest r => r.Precision,
                DemoRequest r => r.Precision,
                _ => throw new InvalidOperationException($"unexpected request {recorder.Last}"),
            };
        }
        Assert.Equal("bf16", Precision("pretrain", "-c", "brown", "-o", "lm", "--precision", "bf16"));
        Assert.Equal("bf16-decoder", Precision("fine-tune", "-c", "spam", "-p", "lm", "-o", "ft", "--precision", "bf16-decoder"));
        Assert.Equal("fp32", Precision("train-classifier", "-c", "spam", "-o", "cls", "--precision", "fp32"));
        Assert.Equal("bf16", Precision("sample-efficiency", "-c", "spam", "-e", "ft", "-o", "se", "--precision", "bf16"));
        Assert.Equal("bf16", Precision("demo", "--precision", "bf16"));
        Assert.Null(Precision("demo"));

        var output = new StringWriter();
        recorder = new Recorder();
        int code = FastTextCommandLine.Build(recorder).Parse(["demo", "--precision", "fp16"]).Invoke(new InvocationConfiguration { Output = output, Error = output });
        Assert.NotEqual(0, code);
        Assert.Null(recorder.Last);
        Assert.Contains("fp16", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Backwards_reaches_the_training_commands_and_is_off_by_default()
    {
        var recorder = new Recorder();
        bool Backwards(params string[] args)
        {
            Assert.Equal(0, FastTextCommandLine.Build(recorder).Parse(args).Invoke());
            return recorder.Last switch
            {
                LanguageModelRequest r => r.Backwards,
                ClassifierRequest r => r.Backwards,
                SampleEfficiencyRequest r => r.Backwards,
                _ => throw new InvalidOperationException($"unexpected request {recorder.Last}"),
            };
        }
        Assert.True(Backwards("pretrain", "-c", "brown", "-o", "lm", "--backwards"));
        Assert.True(Backwards("fine-tune", "-c", "spam", "-p", "lstm_bwd.pth", "-o", "ft", "--backwards"));
        Assert.True(Backwards("train-classifier", "-c", "spam", "-e", "ft", "-o", "cls", "--backwards"));
        Assert.True(Backwards("sample-efficiency", "-c", "spam", "-e", "ft", "-o", "se", "--backwards"));
        Assert.False(Backwards("pretrain", "-c", "brown", "-o", "lm"));
        Assert.False(Backwards("fine-tune", "-c", "spam", "-p", "lm", "-o", "ft"));
        Assert.False(Backwards("train-classifier", "-c", "spam", "-o", "cls"));
        // Not an option of the commands that read a model: its folder says which way it reads.
        RootCommand root = FastTextCommandLine.Build(recorder);
        foreach (string command in new[] { "predict", "evaluate", "generate" })
        {
            Assert.DoesNotContain(root.Subcommands.Single(c => c.Name == command).Options, o => o.Name == "--backwards");
        }
    }

    [Fact]
    public void Predict_and_evaluate_take_several_models_one_per_m()
    {
        var recorder = new Recorder();
        FastTextCommandLine.Build(recorder).Parse(["predict", "-m", "fwd", "-m", "bwd", "cheap pills", "kernel patch"]).Invoke();
        var predict = Assert.IsType<PredictRequest>(recorder.Last);
        Assert.Equal(["fwd", "bwd"], predict.Models);
        Assert.Equal(["cheap pills", "kernel patch"], predict.Texts);
        // One model per -m: a text after it stays a text.
        FastTextCommandLine.Build(recorder).Parse(["predict", "-m", "fwd", "cheap pills"]).Invoke();
        predict = Assert.IsType<PredictRequest>(recorder.Last);
        Assert.Equal(["fwd"], predict.Models);
        Assert.Equal(["cheap pills"], predict.Texts);

        FastTextCommandLine.Build(recorder).Parse(["evaluate", "--model", "fwd", "-c", "spam", "-m", "bwd"]).Invoke();
        var evaluate = Assert.IsType<EvaluateRequest>(recorder.Last);
        Assert.Equal(["fwd", "bwd"], evaluate.Models);
        Assert.Equal("spam", evaluate.Corpus);
        Assert.False(evaluate.WithNgramBaseline);
        FastTextCommandLine.Build(recorder).Parse(["evaluate", "-m", "fwd", "-c", "spam", "--with-ngram-baseline", "--top-losses", "25"]).Invoke();
        evaluate = Assert.IsType<EvaluateRequest>(recorder.Last);
        Assert.True(evaluate.WithNgramBaseline);
        Assert.Equal(25, evaluate.TopLosses);
        var negative = FastTextCommandLine.Build(recorder).Parse(["evaluate", "-m", "fwd", "-c", "spam", "--top-losses", "-1"]);
        Assert.Contains(negative.Errors, e => e.Message.Contains("--top-losses: -1 is outside the allowed range", StringComparison.Ordinal));

        FastTextCommandLine.Build(recorder).Parse(["generate", "-m", "lm", "hello"]).Invoke();
        Assert.Equal("lm", Assert.IsType<GenerateRequest>(recorder.Last).Model);
    }

    [Fact]
    public void Fine_tune_help_explains_fastai_weights()
    {
        var recorder = new Recorder();
        var output = new StringWriter();
        int code = FastTextCommandLine.Build(recorder).Parse(["fine-tune", "--help"]).Invoke(new InvocationConfiguration { Output = output, Error = output });
        Assert.Equal(0, code);
        Assert.Null(recorder.Last);
        string help = output.ToString();
        Assert.Contains("--pretrained-vocab", help, StringComparison.Ordinal);
        Assert.Contains(".pth", help, StringComparison.Ordinal);
        Assert.Contains("pretrained_fnames", help, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_arguments_fail_without_running()
    {
        var recorder = new Recorder();
        var output = new StringWriter();
        int code = FastTextCommandLine.Build(recorder).Parse(["tokenize", "-i", "a", "--format", "pdf", "-o", "x"])
            .Invoke(new InvocationConfiguration { Output = output, Error = output });
        Assert.NotEqual(0, code);
        Assert.Null(recorder.Last);
        Assert.Contains("pdf", output.ToString(), StringComparison.Ordinal);
    }

    internal sealed class Recorder : ICommandHandlers
    {
        public object? Last { get; private set; }

        private Task<int> Record(object request)
        {
            Last = request;
            return Task.FromResult(0);
        }

        public Task<int> TokenizeAsync(TokenizeRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> PretrainAsync(LanguageModelRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> FineTuneAsync(LanguageModelRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> TrainClassifierAsync(ClassifierRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> SampleEfficiencyAsync(SampleEfficiencyRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> PredictAsync(PredictRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> ExplainAsync(ExplainRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> EvaluateAsync(EvaluateRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> GenerateAsync(GenerateRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> NextTokensAsync(NextTokensRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> SurprisalAsync(SurprisalRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> NeighboursAsync(NeighboursRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> CompactAsync(CompactRequest request, CancellationToken cancellation) => Record(request);

        public Task<int> MapAsync(MapRequest request, CancellationToken cancellation) => Record(request);

        public Task<int> InspectAsync(InspectRequest request, CancellationToken cancellation) => Record(request);
        public Task<int> DemoAsync(DemoRequest request, CancellationToken cancellation) => Record(request);
    }
}
