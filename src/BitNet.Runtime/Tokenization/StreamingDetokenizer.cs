using System.Text;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// Turns one sequence's tokens into text as they are generated. A token can end inside a UTF-8 character (byte-level
/// pieces, SentencePiece <c>&lt;0xXX&gt;</c> tokens): the incomplete bytes are held until the character completes, and
/// bytes that can no longer form one become U+FFFD. Everything returned by <see cref="Append"/> and <see cref="Flush"/>,
/// concatenated, equals <see cref="TextTokenizer.Decode"/> of all the ids (same skip and start-of-sequence settings).
/// <para>
/// One instance per sequence, used by one thread at a time. Appending allocates nothing except the returned string,
/// and nothing at all when no character completes.
/// </para>
/// </summary>
public sealed class StreamingDetokenizer
{
    private readonly TextTokenizer _tokenizer;
    private readonly SpecialText _specials;
    private readonly bool _stripAtStart;
    // Stateful UTF-8 decoder with replacement: chunked decoding gives the same U+FFFD placement as one-shot decoding.
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _chars = new char[64];
    private bool _stripLeadingSpace;

    internal StreamingDetokenizer(TextTokenizer tokenizer, SpecialText specials, bool stripLeadingSpace)
    {
        _tokenizer = tokenizer;
        _specials = specials;
        _stripAtStart = stripLeadingSpace;
        _stripLeadingSpace = stripLeadingSpace;
    }

    /// <summary>Adds one token and returns the text it completes (often the token's text, sometimes empty).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tokenId"/> is outside the vocabulary.</exception>
    public string Append(int tokenId)
    {
        var bytes = _tokenizer.PieceBytes(tokenId, _specials, ref _stripLeadingSpace);
        if (bytes.IsEmpty) return string.Empty;
        // At most one char per byte, plus one U+FFFD for held bytes that this token proves invalid.
        int capacity = bytes.Length + 4;
        if (_chars.Length < capacity) _chars = new char[Math.Max(capacity, _chars.Length * 2)];
        int count = _utf8.GetChars(bytes, _chars, flush: false);
        return count == 0 ? string.Empty : new string(_chars, 0, count);
    }

    /// <summary>Ends the sequence: held bytes of an unfinished character come out as U+FFFD. The instance can be reused.</summary>
    public string Flush()
    {
        int count = _utf8.GetChars(ReadOnlySpan<byte>.Empty, _chars, flush: true);
        _stripLeadingSpace = _stripAtStart;
        return count == 0 ? string.Empty : new string(_chars, 0, count);
    }
}
