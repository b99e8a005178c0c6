using TorchSharp.Modules;

namespace FastText.Engine.Models;

/// <summary>One parameter with the flags the optimizer and freezing need.</summary>
/// <param name="Name">State-dict key (for messages and checkpoints).</param>
/// <param name="Parameter">The parameter.</param>
/// <param name="WeightDecay">Whether decoupled weight decay applies (fastai: not for norm layers and Linear biases).</param>
/// <param name="TrainWhenFrozen">Stays trainable when its group is frozen (fastai <c>train_bn</c>: BatchNorm parameters).</param>
public sealed record NamedParameter(string Name, Parameter Parameter, bool WeightDecay = true, bool TrainWhenFrozen = false);

/// <summary>A layer group for discriminative learning rates and freezing (fastai's <c>splitter</c> output).</summary>
/// <param name="Name">Group name (e.g. <c>rnn0</c>).</param>
/// <param name="Parameters">Its parameters.</param>
public sealed record ParameterGroup(string Name, IReadOnlyList<NamedParameter> Parameters);
