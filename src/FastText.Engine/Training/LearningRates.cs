namespace FastText.Engine.Training;

/// <summary>
/// Maximum learning rate per parameter group, with fastai's <c>slice</c> semantics: a scalar applies to every group;
/// <c>slice(high)</c> gives high/10 to all groups but the last; <c>slice(low, high)</c> spreads geometrically
/// (group i of n gets low·(high/low)^(i/(n−1))). ULMFiT's classifier stages use <c>slice(x/2.6⁴, x)</c>.
/// </summary>
public sealed record LearningRates
{
    private LearningRates(double? low, double high, bool isSlice)
    {
        Low = low;
        High = high;
        IsSlice = isSlice;
    }

    /// <summary>Lowest rate of a two-ended slice, else null.</summary>
    public double? Low { get; }

    /// <summary>The rate of the last group.</summary>
    public double High { get; }

    /// <summary>Whether this is a slice (else a scalar for every group).</summary>
    public bool IsSlice { get; }

    /// <summary>The same rate for every group.</summary>
    public static LearningRates Uniform(double rate) => new(null, Check(rate), isSlice: false);

    /// <summary>fastai <c>slice(high)</c>: high for the last group, high/10 for the others.</summary>
    public static LearningRates Slice(double high) => new(null, Check(high), isSlice: true);

    /// <summary>fastai <c>slice(low, high)</c>: geometric from low (first group) to high (last group).</summary>
    public static LearningRates Slice(double low, double high) => new(Check(low), Check(high), isSlice: true);

    /// <summary>A scalar rate for every group.</summary>
    public static implicit operator LearningRates(double rate) => Uniform(rate);

    /// <summary>The same as <see cref="Uniform"/>.</summary>
    public static LearningRates FromDouble(double rate) => Uniform(rate);

    /// <summary>Rates for <paramref name="groups"/> groups, first to last.</summary>
    public double[] For(int groups)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        var rates = new double[groups];
        for (int i = 0; i < groups; i++)
        {
            rates[i] = !IsSlice ? High
                : Low is null ? (i == groups - 1 ? High : High / 10)
                : groups == 1 ? High
                : Low.Value * Math.Pow(High / Low.Value, (double)i / (groups - 1));
        }
        return rates;
    }

    /// <inheritdoc />
    public override string ToString() => !IsSlice ? $"{High:G4}" : Low is null ? $"slice({High:G4})" : $"slice({Low:G4}, {High:G4})";

    private static double Check(double rate) => rate > 0 && double.IsFinite(rate)
        ? rate
        : throw new ArgumentOutOfRangeException(nameof(rate), rate, "A learning rate must be positive and finite.");
}
