namespace FastText.Engine.Text;

/// <summary>
/// fastai's nine special tokens (<c>defaults.text_spec_tok</c>). Their ids are fixed (0–8) because every
/// vocabulary starts with them in this order.
/// </summary>
public static class SpecialTokens
{
    /// <summary>Unknown word (fastai <c>UNK</c>, id 0): every token missing from the vocabulary maps here.</summary>
    public const string Unknown = "xxunk";

    /// <summary>Padding (fastai <c>PAD</c>, id 1).</summary>
    public const string Padding = "xxpad";

    /// <summary>Beginning of stream (fastai <c>BOS</c>, id 2), prepended to every document.</summary>
    public const string BeginningOfStream = "xxbos";

    /// <summary>End of stream (fastai <c>EOS</c>, id 3); not added by default.</summary>
    public const string EndOfStream = "xxeos";

    /// <summary>Field separator (fastai <c>FLD</c>, id 4) when several text columns are joined.</summary>
    public const string Field = "xxfld";

    /// <summary>Character repetition marker (fastai <c>TK_REP</c>, id 5): <c>xxrep N c</c>.</summary>
    public const string Repeat = "xxrep";

    /// <summary>Word repetition marker (fastai <c>TK_WREP</c>, id 6): <c>xxwrep N word</c>.</summary>
    public const string WordRepeat = "xxwrep";

    /// <summary>Next word was ALL CAPS (fastai <c>TK_UP</c>, id 7).</summary>
    public const string AllCaps = "xxup";

    /// <summary>Next word was Capitalized (fastai <c>TK_MAJ</c>, id 8).</summary>
    public const string Capitalized = "xxmaj";

    /// <summary>Vocabulary padding entry (never produced by the tokenizer; maps to <see cref="Unknown"/>).</summary>
    public const string Fake = "xxfake";

    /// <summary>Id of <see cref="Unknown"/>.</summary>
    public const int UnknownId = 0;

    /// <summary>Id of <see cref="Padding"/> (the pad id everywhere: embedding padding index, classifier padding).</summary>
    public const int PaddingId = 1;

    /// <summary>Id of <see cref="BeginningOfStream"/>.</summary>
    public const int BeginningOfStreamId = 2;

    /// <summary>Id of <see cref="EndOfStream"/>.</summary>
    public const int EndOfStreamId = 3;

    /// <summary>Id of <see cref="Field"/>.</summary>
    public const int FieldId = 4;

    /// <summary>Id of <see cref="Repeat"/>.</summary>
    public const int RepeatId = 5;

    /// <summary>Id of <see cref="WordRepeat"/>.</summary>
    public const int WordRepeatId = 6;

    /// <summary>Id of <see cref="AllCaps"/>.</summary>
    public const int AllCapsId = 7;

    /// <summary>Id of <see cref="Capitalized"/>.</summary>
    public const int CapitalizedId = 8;

    /// <summary>The nine special tokens in id order.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Unknown, Padding, BeginningOfStream, EndOfStream, Field, Repeat, WordRepeat, AllCaps, Capitalized];
}
