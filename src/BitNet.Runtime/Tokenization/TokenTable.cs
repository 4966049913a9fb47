namespace BitNet.Runtime.Tokenization;

/// <summary>GGUF <c>tokenizer.ggml.token_type</c> values (llama.cpp <c>llama_token_type</c>).</summary>
internal enum TokenType : byte
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// Per-token output bytes and types, in one flat array so looking a token up during decoding allocates nothing:
/// token <c>id</c> is <c>bytes[offsets[id]..offsets[id + 1]]</c>.
/// </summary>
internal sealed class TokenTable
{
    private readonly byte[] _bytes;
    private readonly int[] _offsets;
    private readonly TokenType[] _types;

    private TokenTable(byte[] bytes, int[] offsets, TokenType[] types)
    {
        _bytes = bytes;
        _offsets = offsets;
        _types = types;
    }

    public int Count => _types.Length;

    public ReadOnlySpan<byte> Bytes(int id) => _bytes.AsSpan(_offsets[id], _offsets[id + 1] - _offsets[id]);

    public TokenType Type(int id) => _types[id];

    /// <summary>Control, user-defined or unknown: the tokens matched verbatim when special parsing is on.</summary>
    public bool IsMarker(int id) => _types[id] is TokenType.Control or TokenType.UserDefined or TokenType.Unknown;

    /// <summary>Collects tokens in id order.</summary>
    public sealed class Builder(int capacity)
    {
        private readonly List<byte> _bytes = new(capacity * 6);
        private readonly int[] _offsets = new int[capacity + 1];
        private readonly TokenType[] _types = new TokenType[capacity];
        private int _count;

        /// <summary>The buffer the next token's bytes are appended to; call <see cref="EndToken"/> after.</summary>
        public List<byte> Bytes => _bytes;

        public void Add(ReadOnlySpan<byte> bytes, TokenType type)
        {
            foreach (byte b in bytes) _bytes.Add(b);
            EndToken(type);
        }

        public void EndToken(TokenType type)
        {
            _types[_count] = type;
            _offsets[++_count] = _bytes.Count;
        }

        public TokenTable Build()
        {
            if (_count != _types.Length)
                throw new InvalidOperationException($"token table has {_count} of {_types.Length} tokens");
            return new TokenTable(_bytes.ToArray(), _offsets, _types);
        }
    }
}
