namespace BitNet.Runtime.Tokenization;

/// <summary>
/// Encodes one run of ordinary text (special tokens already split out) and appends the ids. Implementations are
/// immutable after construction and safe to call from several threads at once.
/// </summary>
internal interface IFragmentEncoder
{
    void Encode(ReadOnlySpan<char> text, List<int> output);
}
