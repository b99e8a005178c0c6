using TorchSharp;
using static TorchSharp.torch;

namespace FastText.Engine.Models;

/// <summary>fastai's <c>match_embeds</c> on tensors.</summary>
internal static class EmbeddingMatcher
{
    /// <summary>
    /// fastai <c>match_embeds(old_wgts, old_vocab, new_vocab)</c>: for each token of <paramref name="newVocabulary"/>,
    /// the pretrained row of <paramref name="oldWeights"/> (and entry of <paramref name="oldBias"/>) when
    /// <paramref name="oldVocabulary"/> has the token, otherwise the mean of all pretrained rows (and the mean bias).
    /// </summary>
    /// <remarks>A token repeated in the old vocabulary matches its first occurrence (the id fastai's
    /// <c>o2i</c> would give it). Results are new tensors in the dtype of the inputs.</remarks>
    /// <exception cref="ArgumentException">The old weights' row count differs from the old vocabulary size.</exception>
    public static MatchedEmbeddings MatchEmbeddings(Tensor oldWeights, Tensor? oldBias,
        IReadOnlyList<string> oldVocabulary, IReadOnlyList<string> newVocabulary)
    {
        ArgumentNullException.ThrowIfNull(oldWeights);
        ArgumentNullException.ThrowIfNull(oldVocabulary);
        ArgumentNullException.ThrowIfNull(newVocabulary);
        if (oldWeights.dim() != 2 || oldWeights.shape[0] != oldVocabulary.Count)
        {
            throw new ArgumentException($"The pretrained embedding has shape [{string.Join(", ", oldWeights.shape)}] " +
                $"but the pretrained vocabulary has {oldVocabulary.Count} tokens.", nameof(oldWeights));
        }
        if (oldBias is not null && (oldBias.dim() != 1 || oldBias.shape[0] != oldVocabulary.Count))
        {
            throw new ArgumentException($"The pretrained decoder bias has shape [{string.Join(", ", oldBias.shape)}] " +
                $"but the pretrained vocabulary has {oldVocabulary.Count} tokens.", nameof(oldBias));
        }
        if (newVocabulary.Count == 0)
        {
            throw new ArgumentException("The new vocabulary is empty.", nameof(newVocabulary));
        }

        var oldIndex = new Dictionary<string, long>(oldVocabulary.Count, StringComparer.Ordinal);
        for (int i = 0; i < oldVocabulary.Count; i++)
        {
            oldIndex.TryAdd(oldVocabulary[i], i);
        }
        // Row oldVocabulary.Count of the extended matrix is the mean row: one gather builds the whole result.
        long meanRow = oldVocabulary.Count;
        var rows = new long[newVocabulary.Count];
        int matched = 0;
        for (int i = 0; i < newVocabulary.Count; i++)
        {
            if (oldIndex.TryGetValue(newVocabulary[i], out long row))
            {
                rows[i] = row;
                matched++;
            }
            else
            {
                rows[i] = meanRow;
            }
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var index = torch.tensor(rows, ScalarType.Int64);
        var weights = oldWeights.detach();
        var extended = torch.cat([weights, weights.mean([0], keepdim: true)], 0);
        var newWeights = extended.index_select(0, index).MoveToOuterDisposeScope();
        Tensor? newBias = null;
        if (oldBias is not null)
        {
            var bias = oldBias.detach();
            newBias = torch.cat([bias, bias.mean([0], keepdim: true)], 0).index_select(0, index).MoveToOuterDisposeScope();
        }
        return new MatchedEmbeddings(newWeights, newBias, matched, newVocabulary.Count - matched);
    }
}
