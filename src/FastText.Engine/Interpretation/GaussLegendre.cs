namespace FastText.Engine.Interpretation;

/// <summary>Gauss–Legendre quadrature nodes and weights, for integrated gradients' path integral.</summary>
internal static class GaussLegendre
{
    /// <summary>The <paramref name="count"/>-point rule on [0, 1]: Σ wᵢ f(xᵢ) integrates polynomials of degree
    /// 2·count − 1 exactly. Nodes ascending.</summary>
    public static (double[] Nodes, double[] Weights) OnUnitInterval(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var nodes = new double[count];
        var weights = new double[count];
        for (int i = 0; i < (count + 1) / 2; i++)
        {
            // Newton's method on P_n from Tricomi's estimate of the i-th root (descending on [−1, 1]).
            double z = Math.Cos(Math.PI * (i + 0.75) / (count + 0.5));
            double derivative = 0;
            for (int iteration = 0; iteration < 100; iteration++)
            {
                var (value, slope) = Legendre(count, z);
                derivative = slope;
                double step = value / slope;
                z -= step;
                if (Math.Abs(step) < 1e-15)
                {
                    break;
                }
            }
            derivative = Legendre(count, z).Slope;
            double weight = 2 / ((1 - z * z) * derivative * derivative);
            // Map ±z from [−1, 1] to [0, 1]; the weights halve.
            nodes[count - 1 - i] = (1 + z) / 2;
            nodes[i] = (1 - z) / 2;
            weights[count - 1 - i] = weight / 2;
            weights[i] = weight / 2;
        }
        return (nodes, weights);
    }

    // P_n(z) by the three-term recurrence, and P_n'(z) = n (z P_n − P_{n−1}) / (z² − 1).
    private static (double Value, double Slope) Legendre(int n, double z)
    {
        double current = 1, previous = 0;
        for (int j = 1; j <= n; j++)
        {
            double older = previous;
            previous = current;
            current = ((2 * j - 1) * z * previous - (j - 1) * older) / j;
        }
        return (current, n * (z * current - previous) / (z * z - 1));
    }
}
