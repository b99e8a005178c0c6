using FastText.Cli;
using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Reporting;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Interpretation;

[Collection(SequentialTorchCollection.Name)]
public sealed class EmbeddingMapTests : IDisposable
{
    private readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    // n points on a plane (spreads 3 and 1 along its axes) turned into d dimensions by a random orthonormal pair, plus
    // a little noise off the plane.
    private static (double[,] Rows, double[,] Plane) Planted(int n, int d, int seed)
    {
        var random = new Random(seed);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var basis = new double[2, d];
        for (int k = 0; k < d; k++)
        {
            basis[0, k] = Gaussian();
            basis[1, k] = Gaussian();
        }
        // Gram–Schmidt.
        double Dot(int a, int b) => Enumerable.Range(0, d).Sum(k => basis[a, k] * basis[b, k]);
        double n0 = Math.Sqrt(Dot(0, 0));
        for (int k = 0; k < d; k++)
        {
            basis[0, k] /= n0;
        }
        double along = Dot(0, 1);
        for (int k = 0; k < d; k++)
        {
            basis[1, k] -= along * basis[0, k];
        }
        double n1 = Math.Sqrt(Dot(1, 1));
        for (int k = 0; k < d; k++)
        {
            basis[1, k] /= n1;
        }
        var plane = new double[n, 2];
        var rows = new double[n, d];
        for (int i = 0; i < n; i++)
        {
            plane[i, 0] = 3 * Gaussian();
            plane[i, 1] = Gaussian();
            for (int k = 0; k < d; k++)
            {
                rows[i, k] = plane[i, 0] * basis[0, k] + plane[i, 1] * basis[1, k] + 0.01 * Gaussian();
            }
        }
        return (rows, plane);
    }

    private static double Distance(double ax, double ay, double bx, double by) => Math.Sqrt((ax - bx) * (ax - bx) + (ay - by) * (ay - by));

    [Fact]
    public void Pca_recovers_a_planted_plane_with_its_distances_and_always_draws_it_the_same_way()
    {
        var (rows, plane) = Planted(80, 24, seed: 5);
        string[] labels = Enumerable.Range(0, 80).Select(i => "t" + i).ToArray();
        EmbeddingMapResult map = EmbeddingMap.Layout(rows, labels);

        for (int i = 0; i < 80; i += 7)
        {
            for (int j = i + 1; j < 80; j += 5)
            {
                double expected = Distance(plane[i, 0], plane[i, 1], plane[j, 0], plane[j, 1]);
                double actual = Distance(map.Points[i].X, map.Points[i].Y, map.Points[j].X, map.Points[j].Y);
                Assert.True(Math.Abs(expected - actual) < 0.01 * expected + 0.05, $"{i}–{j}: {actual} vs {expected}");
            }
        }
        Assert.InRange(map.ExplainedVariance.First, 0.8, 0.95);                 // 9 : 1 in expectation
        Assert.True(map.ExplainedVariance.First + map.ExplainedVariance.Second > 0.99);
        Assert.Equal(labels, map.Points.Select(p => p.Token));

        // The same rows mirrored give the same picture: the axes' signs are fixed, not left to the SVD.
        var mirrored = (double[,])rows.Clone();
        for (int i = 0; i < 80; i++)
        {
            for (int k = 0; k < 24; k++)
            {
                mirrored[i, k] = -mirrored[i, k];
            }
        }
        EmbeddingMapResult again = EmbeddingMap.Layout(mirrored, labels);
        Assert.All(map.Points.Zip(again.Points), pair =>
        {
            Assert.Equal(pair.First.X, pair.Second.X, 6);
            Assert.Equal(pair.First.Y, pair.Second.Y, 6);
        });
    }

    [Fact]
    public void TSne_keeps_clusters_apart_and_is_deterministic()
    {
        // Three tight clusters in 16 dimensions, their centres 10 apart.
        var random = new Random(3);
        const int PerCluster = 20, D = 16;
        var rows = new double[3 * PerCluster, D];
        for (int i = 0; i < 3 * PerCluster; i++)
        {
            for (int k = 0; k < D; k++)
            {
                rows[i, k] = (k == i / PerCluster ? 10 : 0) + random.NextDouble() - 0.5;
            }
        }
        string[] labels = Enumerable.Range(0, 3 * PerCluster).Select(i => (i / PerCluster).ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        EmbeddingMapResult map = EmbeddingMap.Layout(rows, labels, MapMethod.TSne, perplexity: 10, iterations: 500);

        for (int i = 0; i < labels.Length; i++)
        {
            var nearest = map.Points.Where((_, j) => j != i).MinBy(p => Distance(p.X, p.Y, map.Points[i].X, map.Points[i].Y))!;
            Assert.Equal(labels[i], nearest.Token);
        }
        Assert.True(double.IsFinite(map.Divergence) && map.Divergence > 0 && map.Divergence < 1.5, $"KL {map.Divergence}");
        EmbeddingMapResult again = EmbeddingMap.Layout(rows, labels, MapMethod.TSne, perplexity: 10, iterations: 500);
        Assert.Equal(map.Points, again.Points);
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddingMap.Layout(rows, labels, MapMethod.TSne, perplexity: 60));
    }

    [Fact]
    public void A_models_map_shows_its_most_frequent_ordinary_tokens_and_saves_as_a_png()
    {
        TorchTestSetup.Use();
        var words = Vocabulary.FromTokens([.. SpecialTokens.All, "the", "cat", "sat", "on", "mat", ".", "a", "dog"]);
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: words.Count, seed: 17);
        EmbeddingMapResult map = EmbeddingMap.Create(model, words, count: 5);
        Assert.Equal(["the", "cat", "sat", "on", "mat"], map.Points.Select(p => p.Token));

        string png = Path.Combine(folder.Path, "map.png");
        TrainingPlots.SaveLabelledPoints(png, map.Points.Select(p => (p.Token, p.X, p.Y)).ToList(), "map", "PC 1", "PC 2");
        byte[] bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
        Assert.Equal(1400, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
    }

    [Fact]
    public async Task The_map_command_writes_a_png_by_either_method_and_names_a_bad_method()
    {
        TorchTestSetup.Use();
        string[] tokens = Enumerable.Range(0, 40).Select(i => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var words = Vocabulary.FromTokens([.. SpecialTokens.All, .. tokens]);
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: words.Count, seed: 19);
        string lm = folder.Combine("lm");
        LanguageModelArtifact.Save(lm, model, words, Tokenization.Words, 0);
        var output = new StringWriter();
        var handlers = new PipelineCommandHandlers(new TerminalProgress(output, interactive: false));
        foreach (string method in new[] { "pca", "tsne" })
        {
            string png = folder.Combine(method + ".png");
            Assert.Equal(0, await handlers.MapAsync(new MapRequest(lm, 30, method, png, 1), CancellationToken.None));
            Assert.True(new FileInfo(png).Length > 1000);
        }
        Assert.Contains("PCA of 30 tokens' embeddings", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("t-SNE of 30 tokens' embeddings (perplexity 10; KL", output.ToString(), StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => handlers.MapAsync(new MapRequest(lm, 30, "umap", folder.Combine("x.png"), 1), CancellationToken.None));
        Assert.Equal("--method must be pca or tsne; got 'umap'.", error.Message);
    }
}
