using FastText.Engine.Native;
using FastText.Engine.Pipeline;
using FastText.Engine.Text;

namespace FastText.Cli;

/// <summary>The real command implementations: each one calls the library's ULMFiT pipeline.</summary>
public sealed class PipelineCommandHandlers : ICommandHandlers
{
    private readonly IProgressSink progress;

    /// <summary>Creates the handlers, reporting to <paramref name="progress"/>.</summary>
    public PipelineCommandHandlers(IProgressSink progress) => this.progress = progress;

    /// <inheritdoc />
    public Task<int> TokenizeAsync(TokenizeRequest request, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(request);
        UlmfitPreset preset = UlmfitPreset.Named(request.Preset);
        var texts = new List<LabelledText>();
        foreach (string input in request.Inputs)
        {
            texts.AddRange(request.Format switch
            {
                "brown" => SampleReaders.ReadBrown(input),
                "spam-assassin" => SampleReaders.ReadSpamAssassin(input),
                "lines" => File.ReadLines(input).Where(l => l.Length > 0).Select((l, i) => new LabelledText(l, null, $"{input}:{i + 1}")),
                _ => Directory.Exists(input)
                    ? Directory.GetFiles(input).Order(StringComparer.Ordinal).Select(f => new LabelledText(File.ReadAllText(f), null, f))
                    : [new LabelledText(File.ReadAllText(input), null, input)],
            });
        }
        Vocabulary? vocabulary = request.VocabularyFrom is null ? null : Vocabulary.Load(Path.Combine(request.VocabularyFrom, "vocab.txt"));
        TextDataset dataset = TextDataset.Create(texts, preset.Data(labelled: texts.Any(t => t.ClassName is not null)), vocabulary, progress);
        dataset.Save(request.Output);
        progress.Log($"{dataset.DocumentCount:N0} documents, {dataset.Corpus.TokenCount:N0} tokens, vocabulary {dataset.Vocabulary.Count:N0}"
            + (dataset.ClassNames.Count > 0 ? $", classes {string.Join('/', dataset.ClassNames)}" : "") + $" → {request.Output}");
        return Task.FromResult(0);
    }

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
