namespace FastText.Engine.Data;

/// <summary>
/// How fastai's <c>LMDataLoader</c> lays a stream of <see cref="TokenCount"/> tokens out in batches: the stream is cut
/// into <see cref="Rows"/> contiguous rows of <see cref="RowLength"/> tokens; batch <c>b</c> row <c>r</c> is
/// <c>S[r·RowLength + b·seq_len …]</c> and its targets are the same window shifted by one, so the hidden state of row
/// <c>r</c> carries over from one batch to the next.
/// </summary>
/// <param name="TokenCount">Tokens in the stream, N.</param>
/// <param name="Rows">Rows per batch (fastai <c>bs</c>).</param>
/// <param name="SequenceLength">Nominal tokens per row per batch (fastai <c>seq_len</c>).</param>
public sealed record LanguageModelLayout(long TokenCount, int Rows, int SequenceLength)
{
    /// <summary>Tokens used, fastai's <c>corpus</c> = floor((N − 1) / bs) · bs (the −1 keeps a target for the last input).</summary>
    public long UsedTokens => (TokenCount - 1) / Rows * Rows;

    /// <summary>Tokens per row, fastai's <c>bl</c> = corpus / bs.</summary>
    public long RowLength => (TokenCount - 1) / Rows;

    /// <summary>Batches with a fixed sequence length, fastai's <c>n_batches</c> = ceil(bl / seq_len).</summary>
    public int BatchCount => checked((int)((RowLength + SequenceLength - 1) / SequenceLength));

    /// <summary>Length of the final batch, bl − (n_batches − 1) · seq_len (1 … seq_len).</summary>
    public int LastLength => checked((int)(RowLength - (long)(BatchCount - 1) * SequenceLength));

    /// <summary>Computes the layout, failing with a clear message when the stream is too short for one token per row.</summary>
    public static LanguageModelLayout Create(long tokenCount, int rows, int sequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        if (tokenCount - 1 < rows)
        {
            throw new ArgumentException(
                $"A language-model stream of {tokenCount} tokens is too short for {rows} rows: it needs at least {rows + 1} tokens (one per row plus the last target).",
                nameof(tokenCount));
        }
        return new LanguageModelLayout(tokenCount, rows, sequenceLength);
    }
}
