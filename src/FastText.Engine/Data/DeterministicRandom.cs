namespace FastText.Engine.Data;

/// <summary>
/// A small SplitMix64 generator: the loaders' only source of randomness, seeded by (seed, epoch, stream) so an epoch's
/// order never depends on earlier epochs, threads or the .NET version (System.Random's algorithm is an implementation
/// detail). A struct: no allocation per epoch.
/// </summary>
internal struct DeterministicRandom
{
    private ulong state;

    /// <summary>Creates the generator for one (seed, epoch, stream) triple.</summary>
    public DeterministicRandom(int seed, int epoch, int stream)
    {
        state = Mix(Mix(Mix((ulong)(uint)seed) ^ (uint)epoch) ^ ((ulong)(uint)stream << 32));
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>) (Lemire's multiply-shift, unbiased by rejection).</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        ulong bound = (ulong)maxExclusive;
        while (true)
        {
            ulong r = NextUInt64() >> 32; // 32 random bits
            ulong product = r * bound;
            uint low = (uint)product;
            if (low >= (uint)((0x1_0000_0000UL - bound) % bound))
            {
                return (int)(product >> 32);
            }
        }
    }

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal sample (Box–Muller).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
