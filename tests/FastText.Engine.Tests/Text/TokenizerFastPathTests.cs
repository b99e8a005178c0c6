using FastText.Engine.Text;

namespace FastText.Engine.Tests.Text;

/// <summary>Edge cases of the tokenizer's fast paths, each checked against the general path or the BCL.</summary>
public sealed class TokenizerFastPathTests
{
    [Fact]
    public void Token_table_tells_apart_tokens_that_share_the_words_the_hash_reads()
    {
        // The hash and the inline compare read the first and last 8 bytes (4 chars), overlapping for 4–8 chars, and
        // the 9–16-char table the first and last 8 chars: tokens that agree there but differ in the middle, or
        // differ only in length, must stay distinct.
        string[] tokens =
        [
            "", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh", "abcdefghi",
            "abcdXfgh", "abcdefgh1", "abcdefghij", "abcdXfghij", "abcdeXghij", "abcdefghijklmnop", "abcdefghXjklmnop",
            "abcdefghijklmnopq", "abcdefghijklmnXpq", "abcdefghiXklmnopq", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaXaaaaaaaaaaaaaaaaaaaa", "aa\0", "aa", "a\0", "\0", "é", "€uro", "😀", "😀😀",
            "abcdefghijklmno", "abcdefgXijklmno", "abcdefghabcdefgh", "abcdefghabcdefg", "😀😀😀😀😀", "😀😀😀😀😀😀😀😀",
        ];
        var table = new TokenTable(4);
        foreach (string token in tokens.Distinct())
        {
            Assert.Equal(table.Count, table.GetOrAdd(token));
        }
        table.BuildInlineTables();
        for (int id = 0; id < table.Count; id++)
        {
            Assert.Equal(id, table.Find(table[id].ToString()));
        }
        Assert.Equal(-1, table.Find("abcdXfgh1"));
        Assert.Equal(-1, table.Find("abcdefghX"));
        Assert.Equal(-1, table.Find("aaa"));
        Assert.Equal(-1, table.Find("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        Assert.Equal(-1, table.Find("abcdefgYijklmno"));
        Assert.Equal(-1, table.Find("abcdefghabcdefgX"));
        Assert.Equal(-1, table.Find("abcdefghijklmn"));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(300)]
    public void A_word_with_many_affixes_keeps_every_character(int pairs)
    {
        // spaCy splits off one prefix and one suffix per round for as long as there are any; a run of brackets around
        // a word is one token per bracket whatever its length (the splitter's affix stacks grow past their first size).
        string word = string.Concat(Enumerable.Repeat("([", pairs)) + "x" + string.Concat(Enumerable.Repeat("])", pairs));
        IReadOnlyList<string> tokens = new FastaiTokenizer(addBeginningOfStream: false).Tokenize(word);
        Assert.Equal(word, string.Concat(tokens));
        Assert.Equal(4 * pairs + 1, tokens.Count);
    }

    [Fact]
    public void Vocabulary_short_token_table_and_main_table_agree_for_every_token()
    {
        // Many short and long tokens, so lookups go through both tables and probe past occupied slots.
        var counts = Enumerable.Range(0, 20000)
            .Select(i => new KeyValuePair<string, long>(
                i % 3 == 0 ? "long-token-number-" + i : i % 3 == 1 ? "mid-token" + i : "t" + i, 100000 - i))
            .ToList();
        Vocabulary vocabulary = Vocabulary.Build(counts, maximumSize: 30000);
        for (int id = 0; id < vocabulary.Count; id++)
        {
            string token = vocabulary[id];
            int expected = token == SpecialTokens.Fake ? SpecialTokens.UnknownId : id;
            Assert.Equal(expected, vocabulary.IdOf(token));
        }
        Assert.Equal(SpecialTokens.UnknownId, vocabulary.IdOf("t20000"));
        Assert.Equal(SpecialTokens.UnknownId, vocabulary.IdOf("t1x"));
        Assert.Equal(SpecialTokens.UnknownId, vocabulary.IdOf("mid-token2"));
    }

    [Fact]
    public void Batched_ids_equal_one_lookup_at_a_time_in_order()
    {
        // Short, long (> 32 chars: their text is batched too; 300+ chars outgrow the batch's text buffer), unknown and
        // repeated tokens, more than one batch of 32.
        string[] stream = Enumerable.Range(0, 200)
            .Select(i => (i % 7) switch
            {
                0 => "w" + (i % 13),
                1 => new string('x', 33 + (i % 5)),
                2 => "unknown" + i,
                3 => "a-rather-long-token-" + (i % 3),
                5 => new string('y', 300 + (i % 4)),
                _ => "t" + (i % 11),
            })
            .ToArray();
        Vocabulary vocabulary = Vocabulary.Build(stream.Where((_, i) => i % 7 != 2).Select(t => new KeyValuePair<string, long>(t, 5)));
        var buffer = new TokenIdBuffer(vocabulary);
        foreach (string token in stream)
        {
            buffer.Add(token);
        }
        buffer.Flush();
        Assert.Equal(stream.Select(t => vocabulary.IdOf(t)), buffer.Ids.ToArray());
        Assert.Contains(SpecialTokens.UnknownId, buffer.Ids.ToArray());

        // Growing-table mode: ids in first-occurrence order, exactly as GetOrAdd one at a time.
        var table = new TokenTable(4);
        var reference = new TokenTable(4);
        var growing = new TokenIdBuffer(table);
        foreach (string token in stream)
        {
            growing.Add(token);
        }
        growing.Flush();
        Assert.Equal(stream.Select(t => reference.GetOrAdd(t)), growing.Ids.ToArray());
        growing.Clear();
        Assert.Equal(0, growing.Ids.Length);
    }

    [Fact]
    public void Simple_affix_fast_path_matches_the_general_affix_loop()
    {
        // Bodies that are exceptions ("im", "dont", "a", "etc"), whole words that are exceptions ("etc.", "a.", "u.",
        // "e.g."), digits, and every affix char the fast path takes, plus some it must leave alone.
        string[] bodies = ["word", "im", "dont", "a", "etc", "e", "u", "s", "2002", "7", "5km", "ab1", "cant", "lets", "id", "wo"];
        string[] affixed = [.. bodies.SelectMany(b => ",.:;!?)>]}\"'%".Select(c => b + c)),
            .. bodies.SelectMany(b => "(<[{\"'$-".Select(c => c + b)), .. bodies, "e.g.", "..", "<>", "((", "a..", "(a)", "\"a\""];
        var fast = new WordSplitter();
        var general = new WordSplitter { DisableAffixFastPath = true };
        foreach (string word in affixed)
        {
            var expected = new CollectingSink();
            var actual = new CollectingSink();
            general.Split("x " + word + " y", ref expected, applyCaseRules: true, addBeginningOfStream: false);
            fast.Split("x " + word + " y", ref actual, applyCaseRules: true, addBeginningOfStream: false);
            Assert.True(expected.Tokens.SequenceEqual(actual.Tokens), $"'{word}': {string.Join(" | ", expected.Tokens)} vs {string.Join(" | ", actual.Tokens)}");
        }
    }

    private struct CollectingSink() : ITokenSink
    {
        public List<string> Tokens { get; } = [];

        public readonly void Add(ReadOnlySpan<char> token) => Tokens.Add(token.ToString());
    }

    [Fact]
    public void Cached_lowercase_matches_char_ToLowerInvariant_for_every_BMP_char()
    {
        for (int c = 0; c <= char.MaxValue; c++)
        {
            if (TextRules.ToLowerSimple((char)c) != char.ToLowerInvariant((char)c))
            {
                Assert.Fail($"U+{c:X4}: {(int)TextRules.ToLowerSimple((char)c):X4} vs {(int)char.ToLowerInvariant((char)c):X4}");
            }
        }
    }

    [Fact]
    public void Vectorized_infix_candidate_search_matches_the_per_char_filter()
    {
        var random = new Random(7);
        const string alphabet = "abcXYZ0189+-*^,~:<>=/.'\"()!?_é…—😀";
        for (int trial = 0; trial < 2000; trial++)
        {
            var text = new string(Enumerable.Range(0, random.Next(0, 80)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            for (int start = 0; start <= text.Length; start++)
            {
                int expected = -1;
                for (int i = start; i < text.Length; i++)
                {
                    if (CharacterClasses.MayStartInfix(text[i]))
                    {
                        expected = i;
                        break;
                    }
                }
                Assert.Equal(expected, CharacterClasses.IndexOfMayStartInfix(text, start));
            }
        }
    }

    [Fact]
    public void Fused_rules_4_and_5_equal_the_two_passes()
    {
        var random = new Random(11);
        const string alphabet = "  /#\\ab\n\t";
        var first = new CharBuffer();
        var second = new CharBuffer();
        var fused = new CharBuffer();
        for (int trial = 0; trial < 5000; trial++)
        {
            // Up to 150 chars: several 32-char blocks, with events at block edges; every 4th text is mostly letters
            // (long runs between events).
            int length = random.Next(0, trial % 2 == 0 ? 40 : 150);
            string letters = trial % 4 == 1 ? "abcdefgh " : alphabet;
            var text = new string(Enumerable.Range(0, length).Select(i => (i % 37 == 5 ? alphabet : letters)[random.Next((i % 37 == 5 ? alphabet : letters).Length)]).ToArray());
            ReadOnlySpan<char> expected = text;
            if (TextRules.AddSpacesAroundSpecialCharacters(expected, first))
            {
                expected = first.Written;
            }
            if (TextRules.RemoveUselessSpaces(expected, second))
            {
                expected = second.Written;
            }
            bool changed = TextRules.AddSpecialSpacesAndRemoveUselessSpaces(text, fused);
            Assert.Equal(expected.ToString(), changed ? fused.Written.ToString() : text);
        }
    }

    [Theory]
    [InlineData("/")]
    [InlineData("#")]
    [InlineData("\\")]
    [InlineData("(")]
    [InlineData(")")]
    [InlineData(".")]
    [InlineData("'")]
    [InlineData("\"")]
    [InlineData("$")]
    [InlineData("%")]
    [InlineData("+")]
    [InlineData("-")]
    [InlineData("=")]
    [InlineData("…")]
    [InlineData("—")]
    [InlineData("“")]
    [InlineData("©")]
    [InlineData("€")]
    [InlineData("s")]
    [InlineData("A")]
    [InlineData("É")]
    public void A_one_char_word_is_one_token(string word)
    {
        var tokenizer = new FastaiTokenizer();
        string lowered = word.ToLowerInvariant();
        Assert.Equal(["xxbos", "a", lowered, "b"], tokenizer.Tokenize($"a {word} b"));
        Assert.Equal(["xxbos", lowered], tokenizer.Tokenize(word));
    }

    [Theory]
    [InlineData("HELLO world", "xxbos xxup hello world")]
    [InlineData("Hello World", "xxbos xxmaj hello xxmaj world")]
    [InlineData("HeLLo", "xxbos hello")]
    [InlineData("I am A OK", "xxbos i am a xxup ok")]
    [InlineData("ABC123 X1 Ab1C", "xxbos xxup abc123 xxup x1 ab1c")]
    [InlineData("(Don't) U.S.A. HTML-Mail", "xxbos ( do n't ) xxup u.s.a . html - mail")]
    public void Ascii_words_with_capitals_get_markers_and_lowercase(string text, string expected)
    {
        Assert.Equal(expected.Split(' '), new FastaiTokenizer().Tokenize(text));
    }
}
