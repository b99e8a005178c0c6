namespace FastText.Engine.Text;

/// <summary>
/// Turns one raw UTF-8 document into tokens. <see cref="FastaiTokenizer"/> (words, the default) and
/// <see cref="SubwordTokenizer"/> (SentencePiece/BPE through Microsoft.ML.Tokenizers) implement it; the corpus
/// builder creates one per thread through <see cref="CorpusBuildOptions.TokenizerFactory"/>.
/// </summary>
public interface IDocumentTokenizer
{
    /// <summary>Decodes <paramref name="utf8"/> (repairing bad input) and hands every token to <paramref name="sink"/>.</summary>
    DecodeReport TokenizeUtf8<TSink>(ReadOnlySpan<byte> utf8, ref TSink sink)
        where TSink : ITokenSink, allows ref struct;
}
