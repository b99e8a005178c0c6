namespace FastText.Engine.Text;

/// <summary>Receives tokens one at a time from a tokenizer, without a string per token.</summary>
/// <remarks>The span is only valid during the call: copy it (or look it up) before returning.</remarks>
public interface ITokenSink
{
    /// <summary>Called once per token, in document order.</summary>
    void Add(ReadOnlySpan<char> token);
}
