using System.Runtime.CompilerServices;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Grammar;

/// <summary>
/// The per-model structure grammar masks are computed over: a trie of every token's bytes, laid out in depth-first
/// order so a mask is one forward scan that skips whole subtrees once a prefix is rejected. Special and control
/// tokens (and unknown-piece markers, and tokens with no bytes) are left out of the trie: they are never allowed
/// inside a value. End-of-generation tokens are kept aside and allowed exactly when the value is complete.
/// Immutable and thread-safe; <see cref="For"/> builds it once per tokenizer.
/// </summary>
public sealed class TokenVocabulary
{
    private static readonly ConditionalWeakTable<TextTokenizer, TokenVocabulary> Cache = new();

    private readonly byte[] _tokenBytes;
    private readonly int[] _tokenOffsets;

    private TokenVocabulary(int vocabSize, Func<int, ReadOnlySpan<byte>> bytesOf, Func<int, bool> inTrie, IReadOnlyList<int> endOfGeneration)
    {
        VocabSize = vocabSize;
        MaskLength = (vocabSize + 63) >> 6;
        var flat = new List<byte>(vocabSize * 6);
        _tokenOffsets = new int[vocabSize + 1];
        var members = new List<int>(vocabSize);
        for (int id = 0; id < vocabSize; id++)
        {
            var bytes = bytesOf(id);
            if (inTrie(id) && !bytes.IsEmpty)
            {
                members.Add(id);
                foreach (byte b in bytes) flat.Add(b);
            }
            _tokenOffsets[id + 1] = flat.Count;
        }
        _tokenBytes = [.. flat];
        var eog = new List<int>();
        foreach (int id in endOfGeneration) if (id >= 0 && id < vocabSize && !eog.Contains(id)) eog.Add(id);
        EndOfGenerationIds = [.. eog];
        BuildTrie(members);
    }

    /// <summary>The cached vocabulary of <paramref name="tokenizer"/> (built on first use, about 100 ms for 128k tokens).</summary>
    public static TokenVocabulary For(TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return Cache.GetValue(tokenizer, Build);
    }

    /// <summary>Builds the vocabulary of <paramref name="tokenizer"/> without caching it.</summary>
    public static TokenVocabulary Build(TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var endOfGeneration = new HashSet<int>(tokenizer.EndOfGenerationIds);
        return new TokenVocabulary(tokenizer.VocabSize, tokenizer.TokenBytes,
            id => !tokenizer.IsSpecial(id) && !endOfGeneration.Contains(id) && !IsMarker(tokenizer, id),
            tokenizer.EndOfGenerationIds);
    }

    /// <summary>A vocabulary from raw token byte strings (null: never allowed), for tests and other tokenizers.</summary>
    public static TokenVocabulary FromTokens(IReadOnlyList<byte[]?> tokens, IReadOnlyList<int> endOfGenerationIds)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(endOfGenerationIds);
        return new TokenVocabulary(tokens.Count, id => tokens[id], id => tokens[id] is not null && !endOfGenerationIds.Contains(id), endOfGenerationIds);
    }

    /// <summary>Token ids 0..VocabSize-1.</summary>
    public int VocabSize { get; }

    /// <summary>Length in 64-bit words of a mask (<c>ceil(VocabSize / 64)</c>); bit <c>id &amp; 63</c> of word <c>id &gt;&gt; 6</c>.</summary>
    public int MaskLength { get; }

    /// <summary>Tokens allowed (only) when the value is complete.</summary>
    public IReadOnlyList<int> EndOfGenerationIds { get; }

    /// <summary>Number of trie nodes (one per distinct token prefix).</summary>
    public int TrieNodeCount => NodeByte.Length;

    /// <summary>Whether every byte value is a token on its own, which the token budget relies on (see <see cref="GrammarConstraint.ComputeMask"/>).</summary>
    public bool HasAllSingleByteTokens { get; private set; }

    /// <summary>The bytes of token <paramref name="id"/> as the grammar sees them; empty for tokens outside the trie.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) => _tokenBytes.AsSpan(_tokenOffsets[id], _tokenOffsets[id + 1] - _tokenOffsets[id]);

    // Trie in depth-first order: node i has a byte, a depth (1 = child of the root), the index just past its subtree,
    // and the first token whose bytes end there (more in NextToken, for vocabularies with duplicate pieces).
    internal byte[] NodeByte { get; private set; } = [];
    internal int[] NodeDepth { get; private set; } = [];
    internal int[] NodeSubtreeEnd { get; private set; } = [];
    internal int[] NodeToken { get; private set; } = [];
    internal int[] NextToken { get; private set; } = [];
    internal int MaxDepth { get; private set; }

    private void BuildTrie(List<int> members)
    {
        members.Sort((a, b) => TokenBytes(a).SequenceCompareTo(TokenBytes(b)));
        var nodeByte = new List<byte>();
        var nodeDepth = new List<int>();
        var nodeToken = new List<int>();
        var nextToken = new int[VocabSize];
        Array.Fill(nextToken, -1);
        var path = new List<int>(); // node index at each depth of the current branch
        var subtreeEnd = new List<int>();
        ReadOnlySpan<byte> previous = default;
        var singleBytes = new bool[256];
        foreach (int id in members)
        {
            var bytes = TokenBytes(id);
            if (bytes.Length == 1) singleBytes[bytes[0]] = true;
            int common = bytes.CommonPrefixLength(previous);
            while (path.Count > common)
            {
                subtreeEnd[path[^1]] = nodeByte.Count;
                path.RemoveAt(path.Count - 1);
            }
            for (int d = path.Count; d < bytes.Length; d++)
            {
                path.Add(nodeByte.Count);
                nodeByte.Add(bytes[d]);
                nodeDepth.Add(d + 1);
                nodeToken.Add(-1);
                subtreeEnd.Add(0);
            }
            int last = path[bytes.Length - 1];
            if (nodeToken[last] < 0) nodeToken[last] = id;
            else
            {
                // Duplicate piece: chain it after the first token of the node.
                int tail = nodeToken[last];
                while (nextToken[tail] >= 0) tail = nextToken[tail];
                nextToken[tail] = id;
            }
            MaxDepth = Math.Max(MaxDepth, bytes.Length);
            previous = bytes;
        }
        foreach (int node in path) subtreeEnd[node] = nodeByte.Count;
        NodeByte = [.. nodeByte];
        NodeDepth = [.. nodeDepth];
        NodeToken = [.. nodeToken];
        NodeSubtreeEnd = [.. subtreeEnd];
        NextToken = nextToken;
        HasAllSingleByteTokens = Array.TrueForAll(singleBytes, x => x);
    }

    /// <summary>Unknown-piece markers such as <c>&lt;unk&gt;</c>: dropped when decoding with skipSpecial, though not "special".</summary>
    private static bool IsMarker(TextTokenizer tokenizer, int id) =>
        tokenizer.Decode([id], skipSpecial: true).Length == 0 && tokenizer.Decode([id]).Length > 0;
}
