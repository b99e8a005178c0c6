using FastText.Engine.Models;
using FastText.Engine.Text;

namespace FastText.Engine.Interpretation;

/// <summary>Which kind of subject a pair has (Linzen et al. 2016's agreement test with and without attractors).</summary>
public enum AgreementCondition
{
    /// <summary>"The author is/are": the subject's head noun right before the verb.</summary>
    Simple,

    /// <summary>"The author of the book is/are": a noun of the same number between subject and verb.</summary>
    SameNumberAttractor,

    /// <summary>"The author of the books is/are": a noun of the other number right before the verb, the case a
    /// model that agrees with the nearest noun gets wrong.</summary>
    OtherNumberAttractor,
}

/// <summary>A minimal pair: the same prefix, continued by a verb that agrees with its subject or one that does not.</summary>
/// <param name="Prefix">The text before the verb, e.g. "The author of the books".</param>
/// <param name="Grammatical">The verb that agrees with the subject ("is").</param>
/// <param name="Ungrammatical">The verb that does not ("are").</param>
/// <param name="Condition">Whether and how an attractor noun intervenes.</param>
/// <param name="Group">Pairs of the same group (≥ 0) are the singular- and the plural-subject version of one item
/// (same condition, same verbs swapped): their sum of log-odds measures whether the subject moves the model towards
/// the right verb, whatever its prior for either verb. −1 = no group.</param>
public sealed record AgreementPair(string Prefix, string Grammatical, string Ungrammatical, AgreementCondition Condition, int Group = -1);

/// <summary>Scores a continuation of a token prefix: log p(continuation | prefix), natural log.</summary>
public interface IContinuationScorer
{
    /// <summary>log p(<paramref name="continuation"/> | <paramref name="prefix"/>), the sum over the continuation's tokens.</summary>
    double LogProbability(IReadOnlyList<int> prefix, IReadOnlyList<int> continuation);
}

/// <summary>The language model's score, read from <see cref="LanguageModelLens.Surprisal"/> over prefix + continuation
/// (the same numbers the surprisal view shows).</summary>
public sealed class LanguageModelScorer(LanguageModelLens lens) : IContinuationScorer
{
    /// <inheritdoc />
    public double LogProbability(IReadOnlyList<int> prefix, IReadOnlyList<int> continuation)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(continuation);
        IReadOnlyList<TokenSurprisal> scored = lens.Surprisal([.. prefix, .. continuation], alternatives: 0);
        return scored.Skip(scored.Count - continuation.Count).Sum(t => Math.Log(Math.Max(t.Probability, 1e-300)));
    }
}

/// <summary>
/// A bigram model with add-k smoothing, p(b | a) = (c(a b) + k) / (c(a) + k·V), counted over token-id documents (a
/// language model's training corpus): the baseline that knows only the token before the verb, so it agrees with the
/// nearest noun and fails on attractors of the other number.
/// </summary>
public sealed class BigramModel : IContinuationScorer
{
    private readonly Dictionary<(int, int), long> pairs = [];
    private readonly Dictionary<int, long> histories = [];
    private readonly HashSet<int>? targets;
    private readonly int vocabularySize;
    private readonly double k;

    /// <summary>Counts the bigrams of <paramref name="documents"/> (each in reading order).</summary>
    /// <param name="documents">Token-id documents.</param>
    /// <param name="vocabularySize">V of the smoothing.</param>
    /// <param name="k">The add-k constant (&gt; 0).</param>
    /// <param name="targets">When given, only bigrams ending in these ids are kept (the verbs to score; saves memory
    /// on a large corpus); scoring another continuation token then throws.</param>
    public BigramModel(IEnumerable<IReadOnlyList<int>> documents, int vocabularySize, double k = 0.1, IReadOnlySet<int>? targets = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 1);
        if (!(k > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "The add-k constant must be positive.");
        }
        this.vocabularySize = vocabularySize;
        this.k = k;
        this.targets = targets is null ? null : [.. targets];
        foreach (IReadOnlyList<int> document in documents)
        {
            for (int i = 0; i + 1 < document.Count; i++)
            {
                histories[document[i]] = histories.GetValueOrDefault(document[i]) + 1;
                if (this.targets is null || this.targets.Contains(document[i + 1]))
                {
                    pairs[(document[i], document[i + 1])] = pairs.GetValueOrDefault((document[i], document[i + 1])) + 1;
                }
            }
        }
    }

    /// <summary>How often <paramref name="first"/> was followed by <paramref name="second"/>.</summary>
    public long Count(int first, int second) => pairs.GetValueOrDefault((first, second));

    /// <inheritdoc />
    public double LogProbability(IReadOnlyList<int> prefix, IReadOnlyList<int> continuation)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(continuation);
        if (prefix.Count == 0)
        {
            throw new ArgumentException("A bigram needs a token before the continuation.", nameof(prefix));
        }
        double sum = 0;
        int previous = prefix[^1];
        foreach (int token in continuation)
        {
            if (targets is not null && !targets.Contains(token))
            {
                throw new ArgumentException($"Token {token} was not among the targets counted.", nameof(continuation));
            }
            sum += Math.Log((Count(previous, token) + k) / (histories.GetValueOrDefault(previous) + k * vocabularySize));
            previous = token;
        }
        return sum;
    }
}

/// <summary>Agreement accuracy of one condition (or of all pairs).</summary>
/// <param name="Condition">The condition, or null for all pairs.</param>
/// <param name="Pairs">Pairs scored.</param>
/// <param name="LanguageModelCorrect">Pairs where the model gave the grammatical verb the higher probability.</param>
/// <param name="BaselineCorrect">The same for the bigram baseline, when one was given.</param>
/// <param name="Groups">Complete groups (a singular- and a plural-subject pair, see <see cref="AgreementPair.Group"/>).</param>
/// <param name="LanguageModelShifts">Groups where the model's log-odds of the plural over the singular verb are higher
/// after the plural subject than after the singular one (the sum of the two pairs' log-odds is positive): the subject
/// moves the model the right way, even where a strong prior for "is" wins both pairs.</param>
/// <param name="BaselineShifts">The same for the baseline.</param>
public sealed record AgreementScore(AgreementCondition? Condition, int Pairs, int LanguageModelCorrect, int? BaselineCorrect,
    int Groups = 0, int LanguageModelShifts = 0, int? BaselineShifts = null)
{
    /// <summary>Share of pairs the language model got right.</summary>
    public double LanguageModelAccuracy => Pairs == 0 ? double.NaN : LanguageModelCorrect / (double)Pairs;

    /// <summary>Share of pairs the baseline got right.</summary>
    public double? BaselineAccuracy => BaselineCorrect is { } c && Pairs > 0 ? c / (double)Pairs : null;

    /// <summary>Share of groups the subject moved the model the right way.</summary>
    public double LanguageModelShiftAccuracy => Groups == 0 ? double.NaN : LanguageModelShifts / (double)Groups;

    /// <summary>Share of groups the subject moved the baseline the right way.</summary>
    public double? BaselineShiftAccuracy => BaselineShifts is { } c && Groups > 0 ? c / (double)Groups : null;
}

/// <summary>Scores per condition and overall; pairs with a word outside the vocabulary are skipped.</summary>
/// <param name="Scores">One per condition present, then the overall score (Condition null).</param>
/// <param name="Skipped">The pairs skipped, each with the word the vocabulary lacks.</param>
public sealed record AgreementReport(IReadOnlyList<AgreementScore> Scores, IReadOnlyList<(AgreementPair Pair, string Reason)> Skipped)
{
    /// <summary>The score over all pairs.</summary>
    public AgreementScore Overall => Scores[^1];
}

/// <summary>
/// Subject–verb agreement (Linzen, Dupoux and Goldberg 2016; Gulordava et al. 2018): does the language model prefer
/// "The author of the books <b>is</b>" to "… <b>are</b>"? A pair counts as right when log p(grammatical | prefix) is
/// strictly higher than log p(ungrammatical | prefix); a tie counts as wrong.
/// </summary>
public static class AgreementTest
{
    // Common nouns with their plurals (all frequent in Brown, irregular plurals included) and the verb pairs.
    private static readonly (string Singular, string Plural)[] Nouns =
    [
        ("man", "men"), ("woman", "women"), ("child", "children"), ("year", "years"), ("house", "houses"),
        ("state", "states"), ("member", "members"), ("officer", "officers"), ("student", "students"), ("boy", "boys"),
        ("girl", "girls"), ("teacher", "teachers"), ("letter", "letters"), ("book", "books"), ("car", "cars"),
        ("city", "cities"), ("country", "countries"), ("family", "families"), ("friend", "friends"), ("report", "reports"),
    ];

    private static readonly (string Singular, string Plural)[] Verbs = [("is", "are"), ("was", "were"), ("has", "have")];

    /// <summary>
    /// The 360 template pairs. For every noun, both numbers and every verb pair (is/are, was/were, has/have):
    /// <see cref="AgreementCondition.Simple"/> "The N" ; <see cref="AgreementCondition.SameNumberAttractor"/> "The N of
    /// the M" with M the next noun of the list in the same number; <see cref="AgreementCondition.OtherNumberAttractor"/>
    /// the same with M in the other number. 20 nouns × 2 numbers × 3 verbs × 3 conditions; the singular- and the
    /// plural-subject pair of each noun, verb pair and condition share a <see cref="AgreementPair.Group"/> (180 groups).
    /// </summary>
    public static IReadOnlyList<AgreementPair> TemplatePairs()
    {
        var pairs = new List<AgreementPair>();
        int group = 0;
        foreach (AgreementCondition condition in Enum.GetValues<AgreementCondition>())
        {
            for (int n = 0; n < Nouns.Length; n++)
            {
                var attractor = Nouns[(n + 1) % Nouns.Length];
                foreach (bool plural in (ReadOnlySpan<bool>)[false, true])
                {
                    string subject = plural ? Nouns[n].Plural : Nouns[n].Singular;
                    string prefix = condition switch
                    {
                        AgreementCondition.Simple => $"The {subject}",
                        AgreementCondition.SameNumberAttractor => $"The {subject} of the {(plural ? attractor.Plural : attractor.Singular)}",
                        _ => $"The {subject} of the {(plural ? attractor.Singular : attractor.Plural)}",
                    };
                    for (int v = 0; v < Verbs.Length; v++)
                    {
                        var (singular, pluralVerb) = Verbs[v];
                        int item = group + v;                                           // the same for both numbers
                        pairs.Add(plural
                            ? new AgreementPair(prefix, pluralVerb, singular, condition, item)
                            : new AgreementPair(prefix, singular, pluralVerb, condition, item));
                    }
                }
                group += Verbs.Length;
            }
        }
        return pairs;
    }

    /// <summary>
    /// The bigram baseline counted on <paramref name="corpus"/>'s training documents, in <paramref name="model"/>'s ids
    /// (the corpus may have been built with another vocabulary: tokens are matched by spelling).
    /// </summary>
    public static BigramModel BigramBaseline(TextDataset corpus, ModelArtifact model, IReadOnlyList<AgreementPair> pairs, double k = 0.1)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(model);
        corpus.Tokenization.EnsureSameAs(model.Tokenization, $"the corpus '{corpus.Folder}'", $"the model '{model.Folder}'");
        Vocabulary from = corpus.Vocabulary, to = model.Vocabulary;
        int[] map = from.Hash == to.Hash ? [.. Enumerable.Range(0, from.Count)] : [.. from.Tokens.Select(t => to.IdOf(t))];
        IEnumerable<IReadOnlyList<int>> documents = corpus.Training.Select(d => (IReadOnlyList<int>)Array.ConvertAll(corpus.Document(d), id => map[id]));
        return new BigramModel(documents, to.Count, k, VerbTokens(pairs, model.Tokenization, to));
    }

    /// <summary>The verb ids to count bigrams for: every verb of <paramref name="pairs"/> numericalized.</summary>
    public static IReadOnlySet<int> VerbTokens(IReadOnlyList<AgreementPair> pairs, Tokenization tokenization, Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return pairs.SelectMany(p => new[] { p.Grammatical, p.Ungrammatical }).Distinct(StringComparer.Ordinal)
            .SelectMany(v => Continuation(v, tokenization, vocabulary)).ToHashSet();
    }

    /// <summary>Scores <paramref name="pairs"/> with the language model and, when given, the baseline, in the
    /// language model's tokens (<paramref name="tokenization"/>, <paramref name="vocabulary"/>).</summary>
    public static AgreementReport Run(IReadOnlyList<AgreementPair> pairs, Tokenization tokenization, Vocabulary vocabulary,
        IContinuationScorer languageModel, IContinuationScorer? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(tokenization);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(languageModel);
        var skipped = new List<(AgreementPair, string)>();
        var results = new List<Scored>();
        foreach (AgreementPair pair in pairs)
        {
            int[] prefix = tokenization.Numericalize(pair.Prefix, vocabulary);
            int[] good = Continuation(pair.Grammatical, tokenization, vocabulary), bad = Continuation(pair.Ungrammatical, tokenization, vocabulary);
            string? unknown = UnknownWord(pair, prefix, good, bad);
            if (unknown is not null)
            {
                skipped.Add((pair, $"'{unknown}' has a word outside the vocabulary (xxunk)"));
                continue;
            }
            double model = languageModel.LogProbability(prefix, good) - languageModel.LogProbability(prefix, bad);
            double bigram = baseline is null ? 0 : baseline.LogProbability(prefix, good) - baseline.LogProbability(prefix, bad);
            results.Add(new Scored(pair, model, bigram));
        }
        AgreementScore Score(AgreementCondition? condition, IEnumerable<Scored> rows)
        {
            var list = rows.ToList();
            // A group counts when both its pairs were scored; its shift is right when the two log-odds sum above 0.
            var groups = list.Where(r => r.Pair.Group >= 0).GroupBy(r => r.Pair.Group).Where(g => g.Count() == 2).ToList();
            return new AgreementScore(condition, list.Count, list.Count(r => r.Model > 0), baseline is null ? null : list.Count(r => r.Baseline > 0),
                groups.Count, groups.Count(g => g.Sum(r => r.Model) > 0), baseline is null ? null : groups.Count(g => g.Sum(r => r.Baseline) > 0));
        }
        var scores = results.GroupBy(r => r.Pair.Condition).OrderBy(g => g.Key).Select(g => Score(g.Key, g)).ToList();
        scores.Add(Score(null, results));
        return new AgreementReport(scores, skipped);
    }

    // One scored pair: log p(grammatical) − log p(ungrammatical) for the model and the baseline (0 without one).
    private sealed record Scored(AgreementPair Pair, double Model, double Baseline);

    // The verb's tokens without the xxbos the tokenizer puts first.
    private static int[] Continuation(string verb, Tokenization tokenization, Vocabulary vocabulary)
    {
        int[] ids = tokenization.Numericalize(verb, vocabulary);
        return ids.Length > 0 && ids[0] == SpecialTokens.BeginningOfStreamId ? ids[1..] : ids;
    }

    private static string? UnknownWord(AgreementPair pair, int[] prefix, int[] good, int[] bad)
    {
        if (prefix.Contains(SpecialTokens.UnknownId))
        {
            return pair.Prefix;
        }
        return good.Contains(SpecialTokens.UnknownId) || good.Length == 0 ? pair.Grammatical
            : bad.Contains(SpecialTokens.UnknownId) || bad.Length == 0 ? pair.Ungrammatical : null;
    }
}
