using FastText.Engine.Native;
using FastText.Engine.Pipeline;

namespace FastText.Cli;

/// <summary>The real command implementations: each one calls the library's ULMFiT pipeline.</summary>
public sealed class PipelineCommandHandlers : ICommandHandlers
{
    private readonly IProgressSink progress;

    /// <summary>Creates the handlers, reporting to <paramref name="progress"/>.</summary>
    public PipelineCommandHandlers(IProgressSink progress) => this.progress = progress;

    /// <inheritdoc />
    public Task<int> TokenizeAsync(TokenizeRequest request, CancellationToken cancellation) => NotYet("tokenize");

    /// <inheritdoc />
    public Task<int> PretrainAsync(LanguageModelRequest request, CancellationToken cancellation) => NotYet("pretrain");

    /// <inheritdoc />
    public Task<int> FineTuneAsync(LanguageModelRequest request, CancellationToken cancellation) => NotYet("fine-tune");

    /// <inheritdoc />
    public Task<int> TrainClassifierAsync(ClassifierRequest request, CancellationToken cancellation) => NotYet("train-classifier");

    /// <inheritdoc />
    public Task<int> PredictAsync(PredictRequest request, CancellationToken cancellation) => NotYet("predict");

    /// <inheritdoc />
    public Task<int> EvaluateAsync(EvaluateRequest request, CancellationToken cancellation) => NotYet("evaluate");

    /// <inheritdoc />
    public Task<int> GenerateAsync(GenerateRequest request, CancellationToken cancellation) => NotYet("generate");

    /// <inheritdoc />
    public Task<int> DemoAsync(DemoRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        int threads = TorchRuntime.Initialize(request.Threads);
        progress.Log($"libtorch loaded ({threads} intra-op thread(s)).");
        return NotYet("demo");
    }

    private Task<int> NotYet(string command)
    {
        progress.Log($"fasttext {command}: not wired to the pipeline in this build yet.");
        return Task.FromResult(3);
    }
}
