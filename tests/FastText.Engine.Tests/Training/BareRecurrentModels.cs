using FastText.Engine.Data;
using FastText.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Tests.Training;

/// <summary>
/// The epoch-time checks' baselines: the same LSTM shapes as the engine's models, trained on the same batches with no
/// regularisation, no schedule and no framework around them — nn.Embedding → one nn.LSTM per layer → a head → loss →
/// Adam. They run libtorch's own LSTM kernels, as the engine does, so the engine's epoch divided by theirs measures
/// what the engine adds, not how fast this CPU is.
/// </summary>
internal sealed class BareRecurrentModel : IDisposable
{
    private readonly Embedding embedding;
    private readonly LSTM[] layers;
    private readonly Linear head;
    private readonly optim.Optimizer optimizer;
    private readonly bool languageModel;

    private BareRecurrentModel(int vocabulary, AwdLstmConfig config, int? classes)
    {
        languageModel = classes is null;
        embedding = nn.Embedding(vocabulary, config.EmbeddingSize);
        layers = Enumerable.Range(0, config.Layers)
            .Select(l => nn.LSTM(config.LayerInputSize(l), config.LayerOutputSize(l), batchFirst: true))
            .ToArray();
        head = nn.Linear(config.EmbeddingSize, classes ?? vocabulary);
        IEnumerable<Parameter> headParameters = head.parameters();
        if (languageModel)
        {
            head.weight = embedding.weight!;                                // tied, as AWD-LSTM's decoder
            headParameters = [head.bias!];
        }
        optimizer = optim.AdamW(embedding.parameters().Concat(layers.SelectMany(l => l.parameters())).Concat(headParameters),
            lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-5, weight_decay: 0.01);
    }

    /// <summary>A tied LSTM language model of the engine's sizes.</summary>
    public static BareRecurrentModel LanguageModel(int vocabulary, AwdLstmConfig config) => new(vocabulary, config, null);

    /// <summary>An LSTM classifier of the engine's sizes: the last position's output (padding comes first) → linear.</summary>
    public static BareRecurrentModel Classifier(int vocabulary, AwdLstmConfig config, int classes) => new(vocabulary, config, classes);

    /// <summary>One epoch of language-model batches, state carried (detached) between them.</summary>
    public void Epoch(IBatchSource<LanguageModelBatch> data, int epoch)
    {
        (Tensor H, Tensor C)?[] state = new (Tensor, Tensor)?[layers.Length];
        foreach (LanguageModelBatch batch in data.Epoch(epoch))
        {
            using (batch)
            using (var scope = torch.NewDisposeScope())
            {
                Tensor x = embedding.call(batch.Inputs);
                for (int l = 0; l < layers.Length; l++)
                {
                    var (output, h, c) = layers[l].call(x, state[l]);
                    state[l]?.H.Dispose();
                    state[l]?.C.Dispose();
                    state[l] = (h.detach().DetachFromDisposeScope(), c.detach().DetachFromDisposeScope());
                    x = output;
                }
                Tensor logits = head.call(x);
                Step(nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), batch.Targets.reshape(-1)));
            }
        }
        foreach (var pair in state)
        {
            pair?.H.Dispose();
            pair?.C.Dispose();
        }
    }

    /// <summary>One epoch of classifier batches, each run over its whole padded width at once.</summary>
    public void Epoch(IBatchSource<ClassifierBatch> data, int epoch)
    {
        foreach (ClassifierBatch batch in data.Epoch(epoch))
        {
            using (batch)
            using (var scope = torch.NewDisposeScope())
            {
                Tensor x = embedding.call(batch.Inputs);
                foreach (LSTM layer in layers)
                {
                    x = layer.call(x).Item1;
                }
                Tensor logits = head.call(x.select(1, -1));
                Step(nn.functional.cross_entropy(logits, batch.Labels));
            }
        }
    }

    private void Step(Tensor loss)
    {
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    public void Dispose()
    {
        optimizer.Dispose();
        embedding.Dispose();
        foreach (LSTM layer in layers)
        {
            layer.Dispose();
        }
        head.Dispose();
    }
}
