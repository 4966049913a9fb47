using System.Buffers;
using System.Text;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// SentencePiece BPE exactly as llama.cpp's <c>llm_tokenizer_spm</c>: the text (with the dummy-prefix space, spaces
/// spelled U+2581) is split into code points, then the adjacent pair whose concatenation is the highest-scoring piece
/// is merged, leftmost first on equal scores, until no pair forms a piece; a leftover symbol that is not a piece is
/// emitted as its UTF-8 bytes through the <c>&lt;0xXX&gt;</c> byte tokens.
/// <para>
/// Why not Microsoft.ML.Tokenizers' <c>SentencePieceTokenizer</c> (fed a ModelProto synthesized from the GGUF arrays)?
/// It reproduces 44 of llama.cpp's 46 Llama-2 goldens: its <c>SymbolPair.CompareTo</c> breaks equal-score ties
/// rightmost first (<c>other.Left.CompareTo(Left)</c>), the opposite of sentencepiece's <c>bpe_model.cc</c> and
/// llama.cpp, so runs such as "!!!!!!" come out as "▁!", "!!!", "!!" instead of "▁!", "!!", "!!!". The tie order is not
/// configurable, hence this ~100-line merge. The test suite pins the library's behaviour so a fix upstream is noticed.
/// </para>
/// </summary>
internal sealed class SentencePieceBpeEncoder : IFragmentEncoder
{
    public const char SpaceMarker = '\u2581';

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _pieces;
    private readonly float[] _scores;
    private readonly int[] _byteTokens;
    private readonly int _unknownId;
    private readonly bool _addSpacePrefix;

    /// <param name="pieces">Mergeable pieces (normal and user-defined tokens) by text.</param>
    /// <param name="scores">Score per token id; a higher score merges first.</param>
    /// <param name="byteTokens">Token id of <c>&lt;0xXX&gt;</c> for each byte, -1 where the vocabulary has none.</param>
    /// <param name="unknownId">Emitted for a symbol that has no byte tokens to fall back to (-1: throw).</param>
    /// <param name="addSpacePrefix">Prepend the dummy-prefix space to every run of text (llama.cpp add_space_prefix).</param>
    public SentencePieceBpeEncoder(Dictionary<string, int> pieces, float[] scores, int[] byteTokens, int unknownId, bool addSpacePrefix)
    {
        _pieces = pieces.GetAlternateLookup<ReadOnlySpan<char>>();
        _scores = scores;
        _byteTokens = byteTokens;
        _unknownId = unknownId;
        _addSpacePrefix = addSpacePrefix;
    }

    public void Encode(ReadOnlySpan<char> text, List<int> output)
    {
        if (text.IsEmpty) return;
        int length = text.Length + (_addSpacePrefix ? 1 : 0);
        char[] escaped = ArrayPool<char>.Shared.Rent(length);
        Symbol[] symbols = ArrayPool<Symbol>.Shared.Rent(length);
        try
        {
            int at = 0;
            if (_addSpacePrefix) escaped[at++] = SpaceMarker;
            foreach (char c in text) escaped[at++] = c == ' ' ? SpaceMarker : c;
            var chars = escaped.AsSpan(0, length);
            int count = SplitCodePoints(chars, symbols);
            Merge(chars, symbols, count);
            for (int i = 0; i != -1; i = symbols[i].Next)
                Emit(chars.Slice(symbols[i].Start, symbols[i].Length), output);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(escaped);
            ArrayPool<Symbol>.Shared.Return(symbols);
        }
    }

    private static int SplitCodePoints(ReadOnlySpan<char> chars, Symbol[] symbols)
    {
        int count = 0;
        for (int i = 0; i < chars.Length;)
        {
            int n = char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]) ? 2 : 1;
            symbols[count] = new Symbol(i, n, count - 1, i + n == chars.Length ? -1 : count + 1);
            count++;
            i += n;
        }
        return count;
    }

    private void Merge(ReadOnlySpan<char> chars, Symbol[] symbols, int count)
    {
        var queue = new PriorityQueue<Bigram, Bigram>(count, BigramOrder.Instance);
        for (int i = 1; i < count; i++) TryAddBigram(chars, symbols, i - 1, i, queue);
        while (queue.TryDequeue(out var bigram, out _))
        {
            ref Symbol left = ref symbols[bigram.Left];
            ref Symbol right = ref symbols[bigram.Right];
            // Stale entry: one side was merged away or grew since the pair was queued.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Length) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) symbols[right.Next].Prev = bigram.Left;
            TryAddBigram(chars, symbols, left.Prev, bigram.Left, queue);
            TryAddBigram(chars, symbols, bigram.Left, left.Next, queue);
        }
    }

    private void TryAddBigram(ReadOnlySpan<char> chars, Symbol[] symbols, int left, int right, PriorityQueue<Bigram, Bigram> queue)
    {
        if (left < 0 || right < 0) return;
        int length = symbols[left].Length + symbols[right].Length;
        if (!_pieces.TryGetValue(chars.Slice(symbols[left].Start, length), out int id)) return;
        var bigram = new Bigram(left, right, length, _scores[id]);
        queue.Enqueue(bigram, bigram);
    }

    private void Emit(ReadOnlySpan<char> symbol, List<int> output)
    {
        if (_pieces.TryGetValue(symbol, out int id))
        {
            output.Add(id);
            return;
        }
        Span<byte> utf8 = stackalloc byte[8]; // one code point (or a lone surrogate -> U+FFFD): at most 4 bytes
        int n = Encoding.UTF8.GetBytes(symbol, utf8);
        for (int i = 0; i < n; i++)
        {
            int byteToken = _byteTokens[utf8[i]];
            if (byteToken < 0)
            {
                if (_unknownId < 0)
                    throw new InvalidOperationException($"'{symbol}' is not in the vocabulary, which has neither byte tokens nor an unknown token");
                output.Add(_unknownId);
                return;
            }
            output.Add(byteToken);
        }
    }

    private record struct Symbol(int Start, int Length, int Prev, int Next);

    private readonly record struct Bigram(int Left, int Right, int Length, float Score);

    /// <summary>Highest score first; equal scores: leftmost first (llama.cpp <c>llm_bigram_spm::comparator</c>).</summary>
    private sealed class BigramOrder : IComparer<Bigram>
    {
        public static readonly BigramOrder Instance = new();

        public int Compare(Bigram x, Bigram y)
        {
            int byScore = y.Score.CompareTo(x.Score);
            return byScore != 0 ? byScore : x.Left.CompareTo(y.Left);
        }
    }
}
