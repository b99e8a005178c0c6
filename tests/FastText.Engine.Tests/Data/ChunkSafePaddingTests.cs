using FastText.Engine.Data;

namespace FastText.Engine.Tests.Data;

/// <summary>
/// The minimal chunk-safe width checked against an independent replay of fastai's SentenceEncoder + masked_concat_pool
/// on thousands of random longest-first batches: the chosen width passes, and every narrower width ≥ the longest row fails.
/// </summary>
public sealed class ChunkSafePaddingTests
{
    /// <summary>Replays the encoder on a layout built with fastai's front/back rule; true when no text token is skipped
    /// and the pooling's "last token" index is right for every row.</summary>
    private static bool Replay(int[] lengths, int width, int chunk)
    {
        int rows = lengths.Length;
        var isText = new bool[rows, width];
        var starts = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            starts[r] = ClassifierBatchPlanner.FrontPadding(width, lengths[r], chunk);
            for (int j = starts[r]; j < starts[r] + lengths[r]; j++)
            {
                isText[r, j] = true;
            }
        }
        var fed = new bool[rows, width];
        for (int i = 0; i < width; i += chunk)
        {
            int realRows = 0;
            for (int r = 0; r < rows; r++)
            {
                realRows += isText[r, i] ? 1 : 0;
            }
            for (int r = 0; r < realRows; r++)
            {
                for (int j = i; j < Math.Min(i + chunk, width); j++)
                {
                    fed[r, j] = true;
                }
            }
        }
        for (int r = 0; r < rows; r++)
        {
            if (lengths[r] == 0)
            {
                continue;
            }
            int lastWindowPads = 0;
            for (int j = Math.Max(0, width - chunk); j < width; j++)
            {
                lastWindowPads += isText[r, j] ? 0 : 1;
            }
            if (width - lastWindowPads - 1 != starts[r] + lengths[r] - 1)
            {
                return false;
            }
            for (int j = starts[r]; j < starts[r] + lengths[r]; j++)
            {
                if (!fed[r, j])
                {
                    return false;
                }
            }
        }
        return true;
    }

    [Fact]
    public void Minimal_width_is_safe_and_no_narrower_width_is()
    {
        var random = new Random(17);
        int widened = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            int chunk = random.Next(2, 12);
            int rows = random.Next(1, 7);
            int spread = random.Next(1, 5 * chunk);
            int longest = random.Next(1, 6 * chunk);
            int[] lengths = Enumerable.Range(0, rows).Select(_ => Math.Max(0, longest - random.Next(spread))).OrderByDescending(l => l).ToArray();
            lengths[0] = longest;
            int width = ClassifierBatchPlanner.Width(lengths, chunk, ClassifierPadding.MinimalChunkSafe);
            int aligned = ClassifierBatchPlanner.Width(lengths, chunk, ClassifierPadding.AlignedChunks);
            Assert.InRange(width, longest, aligned);
            Assert.True(Replay(lengths, width, chunk), $"width {width} unsafe for [{string.Join(",", lengths)}], chunk {chunk}");
            Assert.True(Replay(lengths, aligned, chunk), $"aligned width {aligned} unsafe for [{string.Join(",", lengths)}], chunk {chunk}");
            for (int narrower = longest; narrower < width; narrower++)
            {
                Assert.False(Replay(lengths, narrower, chunk), $"width {narrower} < {width} is also safe for [{string.Join(",", lengths)}], chunk {chunk}");
            }
            widened += width > longest ? 1 : 0;
        }
        Assert.InRange(widened, 100, 2900); // both outcomes are exercised
    }
}
