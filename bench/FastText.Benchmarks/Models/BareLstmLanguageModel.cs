using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Benchmarks.Models;

/// <summary>
/// The bare baseline language model: nn.Embedding → one nn.LSTM per layer (AWD-LSTM sizes) → nn.Linear decoder →
/// cross-entropy → Adam (fastai's settings), no regularisation, hidden state carried (detached) between steps.
/// With <c>tied</c> the decoder shares the embedding matrix (as AWD-LSTM does), so both hold the same parameters.
/// </summary>
public sealed class BareLstmLanguageModel : IDisposable
{
    private readonly LmShape shape;
    private readonly Embedding embedding;
    private readonly LSTM[] layers;
    private readonly Linear decoder;
    private readonly optim.Optimizer optimizer;
    private readonly (Tensor H, Tensor C)[] state;

    /// <summary>Builds the model and its optimizer for <paramref name="shape"/>.</summary>
    public BareLstmLanguageModel(LmShape shape, bool tied)
    {
        this.shape = shape;
        embedding = nn.Embedding(shape.Vocab, shape.Embedding);
        layers = Enumerable.Range(0, shape.Layers)
            .Select(l => nn.LSTM(shape.InputSize(l), shape.HiddenSize(l), batchFirst: true))
            .ToArray();
        decoder = nn.Linear(shape.Embedding, shape.Vocab);
        IEnumerable<Parameter> decoderParameters = decoder.parameters();
        if (tied)
        {
            decoder.weight = embedding.weight ?? throw new InvalidOperationException("nn.Embedding has no weight.");
            decoderParameters = decoder.bias is null ? [] : [decoder.bias]; // the shared matrix goes to the optimizer once
        }
        var parameters = embedding.parameters().Concat(layers.SelectMany(l => l.parameters())).Concat(decoderParameters);
        optimizer = optim.AdamW(parameters, lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-5, weight_decay: 0.01);
        state = Enumerable.Range(0, shape.Layers)
            .Select(l => (torch.zeros(1, shape.Batch, shape.HiddenSize(l)), torch.zeros(1, shape.Batch, shape.HiddenSize(l))))
            .ToArray();
    }

    /// <summary>One training step on (batch, bptt) ids and next-token targets; returns the loss.</summary>
    public float Step(Tensor inputs, Tensor targets)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        Tensor x = embedding.call(inputs);                      // (batch, bptt, emb)
        for (int l = 0; l < layers.Length; l++)
        {
            var (output, h, c) = layers[l].call(x, state[l]);   // (batch, bptt, hidden_l)
            state[l].H.Dispose();
            state[l].C.Dispose();
            state[l] = (h.detach().DetachFromDisposeScope(), c.detach().DetachFromDisposeScope());
            x = output;
        }
        Tensor logits = decoder.call(x);                        // (batch, bptt, vocab)
        Tensor loss = nn.functional.cross_entropy(logits.view(-1, shape.Vocab), targets.view(-1));
        loss.backward();
        optimizer.step();
        return loss.item<float>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        optimizer.Dispose();
        embedding.Dispose();
        foreach (LSTM layer in layers)
        {
            layer.Dispose();
        }
        decoder.Dispose();
        foreach (var (h, c) in state)
        {
            h.Dispose();
            c.Dispose();
        }
    }
}
