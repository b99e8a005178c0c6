using FastText.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastText.Engine.Training;

/// <summary>
/// The learner's optimizer side: fastai's Adam (AdamW, β1 from the schedule, β2 0.99, ε 1e-5, decoupled wd 0.01) over
/// the model's layer groups, two optimizer groups per layer group (with and without decay: fastai does not decay norm
/// layers and Linear biases), freezing, the per-group rates of each batch, and the step itself (the fused, allocation-free
/// <see cref="FusedAdamStep"/>).
/// </summary>
internal sealed class LearnerOptimizer : IDisposable
{
    private readonly LearnerOptions options;
    private AdamW? optimizer;
    private List<(int Group, AdamW.ParamGroup Optimizer)> optimizerGroups = new();
    private List<Parameter> trainable = new();

    /// <summary>Groups are deduplicated (a tied matrix appears once); all start trainable.</summary>
    public LearnerOptimizer(IReadOnlyList<ParameterGroup> groups, LearnerOptions options)
    {
        Groups = Deduplicate(groups);
        this.options = options;
        FreezeTo(0);
    }

    /// <summary>The layer groups, each parameter in one group only.</summary>
    public IReadOnlyList<ParameterGroup> Groups { get; }

    /// <summary>Index of the first trainable group.</summary>
    public int FrozenUpTo { get; private set; }

    /// <summary>The parameters the optimizer updates (unique).</summary>
    public IReadOnlyList<Parameter> Trainable => trainable;

    /// <summary>Groups before <paramref name="group"/> (counted from the end when negative) stop training, except
    /// parameters flagged <c>TrainWhenFrozen</c>; Adam's state is cleared, as fastai's <c>freeze_to</c> does.</summary>
    public void FreezeTo(int group)
    {
        int n = group < 0 ? Groups.Count + group : group;
        if (n < 0 || n >= Groups.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(group), group, $"There are {Groups.Count} parameter groups.");
        }
        FrozenUpTo = n;
        for (int g = 0; g < Groups.Count; g++)
        {
            foreach (NamedParameter p in Groups[g].Parameters)
            {
                bool train = g >= n || p.TrainWhenFrozen;
                p.Parameter.requires_grad = train;
                if (!train)
                {
                    p.Parameter.grad = null;   // no stale gradient, so nothing decays or moves it
                }
            }
        }
        Create();
    }

    /// <summary>This batch's learning rate per layer group and β1.</summary>
    public void SetHyperParameters(double[] rates, double momentum)
    {
        foreach (var (group, parameters) in optimizerGroups)
        {
            parameters.LearningRate = rates[group];
            parameters.Betas = (momentum, options.Beta2);
        }
    }

    /// <summary>One Adam update of every trainable parameter (AdamW's arithmetic, without its GC-owned Scalars).</summary>
    public void Step() => FusedAdamStep.Step(optimizer!, torch.get_num_threads());

    public void ZeroGradients() => optimizer!.zero_grad();

    public void Save(BinaryWriter writer) => optimizer!.save_state_dict(writer);

    public void Load(BinaryReader reader) => optimizer!.load_state_dict(reader);

    private void Create()
    {
        optimizer?.Dispose();
        optimizerGroups = new List<(int, AdamW.ParamGroup)>();
        trainable = new List<Parameter>();
        for (int g = 0; g < Groups.Count; g++)
        {
            foreach (bool decay in new[] { true, false })
            {
                var members = Groups[g].Parameters.Where(p => p.WeightDecay == decay && p.Parameter.requires_grad).Select(p => p.Parameter).ToList();
                if (members.Count == 0)
                {
                    continue;
                }
                trainable.AddRange(members);
                var settings = new AdamW.Options { LearningRate = 1e-3, beta1 = 0.9, beta2 = options.Beta2, eps = options.Epsilon, weight_decay = decay ? options.WeightDecay : 0 };
                optimizerGroups.Add((g, new AdamW.ParamGroup(members, settings)));
            }
        }
        if (optimizerGroups.Count == 0)
        {
            throw new InvalidOperationException("No trainable parameters: every group is frozen.");
        }
        optimizer = torch.optim.AdamW(optimizerGroups.Select(o => o.Optimizer), lr: 1e-3, beta1: 0.9, beta2: options.Beta2,
            eps: options.Epsilon, weight_decay: options.WeightDecay);
    }

    // A tied matrix listed in two groups would get two Adam states and be decayed twice (torchsharp-notes §12):
    // keep its first occurrence, identified by storage address.
    private static IReadOnlyList<ParameterGroup> Deduplicate(IReadOnlyList<ParameterGroup> source)
    {
        var seen = new HashSet<(IntPtr, long)>();
        var result = new List<ParameterGroup>();
        foreach (ParameterGroup group in source)
        {
            var kept = group.Parameters.Where(p => seen.Add(Identity(p.Parameter))).ToArray();
            result.Add(group with { Parameters = kept });
        }
        return result;
    }

    internal static (IntPtr, long) Identity(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => (t.storage<float>().data_ptr(), t.storage_offset()),
        _ => (t.Handle, 0),
    };

    public void Dispose()
    {
        optimizer?.Dispose();
        optimizer = null;
    }
}
