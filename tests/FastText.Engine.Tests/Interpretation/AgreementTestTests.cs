using FastText.Engine.Interpretation;
using FastText.Engine.Models;
using FastText.Engine.Tests.Training;
using FastText.Engine.Text;

namespace FastText.Engine.Tests.Interpretation;

[Collection(SequentialTorchCollection.Name)]
public sealed class AgreementTestTests
{
    private static readonly IReadOnlyList<AgreementPair> Pairs = AgreementTest.TemplatePairs();

    // Every word of the templates, lower-cased as fastai's rules leave them (after xxmaj).
    private static readonly Vocabulary TemplateWords = Vocabulary.FromTokens([.. SpecialTokens.All,
        .. Pairs.SelectMany(p => p.Prefix.Split(' ').Append(p.Grammatical).Append(p.Ungrammatical)).Select(w => w.ToLowerInvariant()).Distinct()]);

    private static int Id(string token) => TemplateWords.IdOf(token);

    [Fact]
    public void The_templates_make_360_distinct_pairs_in_three_conditions()
    {
        Assert.Equal(360, Pairs.Count);
        Assert.Equal(360, Pairs.Select(p => (p.Prefix, p.Grammatical)).Distinct().Count());
        Assert.All(Enum.GetValues<AgreementCondition>(), c => Assert.Equal(120, Pairs.Count(p => p.Condition == c)));
        AgreementPair attracted = Assert.Single(Pairs, p => p is { Prefix: "The man of the women", Grammatical: "is", Ungrammatical: "are" });
        Assert.Equal(AgreementCondition.OtherNumberAttractor, attracted.Condition);
        Assert.Single(Pairs, p => p is { Prefix: "The men of the women", Grammatical: "were", Ungrammatical: "was", Condition: AgreementCondition.SameNumberAttractor });
        Assert.Single(Pairs, p => p is { Prefix: "The children", Grammatical: "have", Ungrammatical: "has", Condition: AgreementCondition.Simple });
        Assert.All(Pairs, p => Assert.NotEqual(p.Grammatical, p.Ungrammatical));
        // Each group: the singular- and the plural-subject version of one item, same condition, verbs swapped.
        var groups = Pairs.GroupBy(p => p.Group).ToList();
        Assert.Equal(180, groups.Count);
        Assert.All(groups, g =>
        {
            Assert.Equal(2, g.Count());
            Assert.Single(g.Select(p => p.Condition).Distinct());
            Assert.Equal(g.First().Grammatical, g.Last().Ungrammatical);
        });
        Assert.Equal(["The man of the women", "The men of the woman"], Pairs.Where(p => p.Group == attracted.Group).Select(p => p.Prefix));
    }

    [Fact]
    public void The_bigram_baseline_agrees_with_the_nearest_noun_and_is_smoothed_add_k()
    {
        int bos = SpecialTokens.BeginningOfStreamId, maj = SpecialTokens.CapitalizedId;
        int[][] corpus =
        [
            [bos, maj, Id("the"), Id("man"), Id("is")],
            [bos, maj, Id("the"), Id("man"), Id("is")],
            [bos, maj, Id("the"), Id("man"), Id("are")],
            [bos, maj, Id("the"), Id("men"), Id("are")],
        ];
        var bigram = new BigramModel(corpus, TemplateWords.Count, k: 0.5);
        Assert.Equal(2, bigram.Count(Id("man"), Id("is")));
        double expected = Math.Log((2 + 0.5) / (3 + 0.5 * TemplateWords.Count));                 // c(man is) = 2, c(man ·) = 3
        Assert.Equal(expected, bigram.LogProbability([Id("the"), Id("man")], [Id("is")]), 12);
        Assert.Equal(Math.Log(0.5 / (0 + 0.5 * TemplateWords.Count)), bigram.LogProbability([Id("women")], [Id("is")]), 12);   // unseen history

        AgreementPair[] pairs =
        [
            new("The man", "is", "are", AgreementCondition.Simple, 0),
            new("The men", "are", "is", AgreementCondition.Simple, 0),
            new("The men of the man", "are", "is", AgreementCondition.OtherNumberAttractor, 1),
            new("The man of the men", "is", "are", AgreementCondition.OtherNumberAttractor, 1),
            new("The zebra", "is", "are", AgreementCondition.Simple),                               // not in the vocabulary
        ];
        AgreementReport report = AgreementTest.Run(pairs, Tokenization.Words, TemplateWords, bigram, bigram);
        Assert.Equal(4, report.Overall.Pairs);
        Assert.Equal(2, report.Overall.BaselineCorrect);
        AgreementScore simple = report.Scores.Single(s => s.Condition == AgreementCondition.Simple);
        AgreementScore attractor = report.Scores.Single(s => s.Condition == AgreementCondition.OtherNumberAttractor);
        Assert.Equal(2, simple.BaselineCorrect);                                                  // man → is, men → are
        Assert.Equal(0, attractor.BaselineCorrect);                                               // the nearest noun wins
        Assert.Equal((1, 1, 1), (simple.Groups, simple.BaselineShifts, simple.LanguageModelShifts));
        Assert.Equal((1, 0), (attractor.Groups, attractor.BaselineShifts));
        Assert.Equal(0.5, report.Overall.BaselineShiftAccuracy);
        var skipped = Assert.Single(report.Skipped);
        Assert.Equal("The zebra", skipped.Pair.Prefix);
        Assert.Contains("The zebra", skipped.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_language_model_score_is_the_lens_probability_of_the_continuation()
    {
        TorchTestSetup.Use();
        using AwdLstmLanguageModel model = TinyModels.LanguageModel(vocabulary: TemplateWords.Count, seed: 31);
        var lens = new LanguageModelLens(model, TemplateWords);
        var scorer = new LanguageModelScorer(lens);
        int[] prefix = Tokenization.Words.Numericalize("The author of the books", TemplateWords);
        foreach (string verb in (string[])["is", "are"])
        {
            double p = lens.NextTokens(prefix, TemplateWords.Count).Single(c => c.Token == verb).Probability;
            Assert.Equal(Math.Log(p), scorer.LogProbability(prefix, [Id(verb)]), 5);
        }
        // Two tokens: the chain rule over the lens's next-token probabilities.
        double first = lens.NextTokens(prefix, TemplateWords.Count).Single(c => c.Token == "has").Probability;
        double second = lens.NextTokens([.. prefix, Id("has")], TemplateWords.Count).Single(c => c.Token == "men").Probability;
        Assert.Equal(Math.Log(first) + Math.Log(second), scorer.LogProbability(prefix, [Id("has"), Id("men")]), 5);

        // All 360 template pairs are scored (none skipped) by the model and by a baseline, per condition and overall.
        var bigram = new BigramModel([prefix], TemplateWords.Count, targets: AgreementTest.VerbTokens(Pairs, Tokenization.Words, TemplateWords));
        AgreementReport report = AgreementTest.Run(Pairs, Tokenization.Words, TemplateWords, scorer, bigram);
        Assert.Empty(report.Skipped);
        Assert.Equal(4, report.Scores.Count);
        Assert.Equal(360, report.Overall.Pairs);
        Assert.Equal(report.Scores.Take(3).Sum(s => s.LanguageModelCorrect), report.Overall.LanguageModelCorrect);
        // With no verb ever counted, the baseline's two verbs tie after every noun, and a tie counts as wrong.
        Assert.Equal(0, report.Overall.BaselineCorrect);
        Assert.Throws<ArgumentException>(() => bigram.LogProbability(prefix, [Id("men")]));      // not a counted target
    }
}
