namespace BitNet.Runtime.Grammar;

/// <summary>
/// The live grammar state of one generated sequence: which tokens may come next (<see cref="ComputeMask"/>), and
/// what was chosen (<see cref="Accept"/>). Not thread-safe; use one per sequence (masks of different sequences
/// can be computed in parallel). <see cref="Clone"/> forks it, e.g. for speculative decoding.
/// </summary>
public sealed class GrammarConstraint
{
    /// <summary>Pass as remaining tokens when there is no budget.</summary>
    public const int Unlimited = int.MaxValue;

    private const int CacheSlots = 8;

    /// <summary>
    /// Past this many interned recognizer states (each keeps a 1 KB transition row) the machine is rebuilt from the
    /// accepted bytes, bounding memory per sequence at about 32 MB however long the output runs.
    /// </summary>
    internal const int MaxMachineStates = 32 * 1024;

    private readonly JsonGrammar _grammar;
    private readonly TokenVocabulary _vocabulary;
    private StackSetMachine _machine;
    private int _state;
    private readonly List<byte> _accepted = [];
    private int[] _stateAtDepth;

    // Masks already computed for a state without budget pressure, keyed by state: inside a string the state after
    // each token is usually the same, so the trie walk is skipped for most steps.
    private readonly int[] _cachedState = new int[CacheSlots];
    private readonly int[] _cachedMaxNeed = new int[CacheSlots];
    private readonly ulong[][] _cachedMask = new ulong[CacheSlots][];

    internal GrammarConstraint(JsonGrammar grammar, TokenVocabulary vocabulary)
    {
        _grammar = grammar;
        _vocabulary = vocabulary;
        _machine = new StackSetMachine(grammar.Compiled);
        _state = _machine.Initial;
        _stateAtDepth = new int[vocabulary.MaxDepth + 1];
        Array.Fill(_cachedState, -1);
    }

    private GrammarConstraint(GrammarConstraint other)
    {
        _grammar = other._grammar;
        _vocabulary = other._vocabulary;
        _machine = other._machine.Clone();
        _state = other._state;
        _accepted.AddRange(other._accepted);
        _stateAtDepth = new int[other._stateAtDepth.Length];
        Array.Fill(_cachedState, -1);
        IsFinished = other.IsFinished;
        TokenCount = other.TokenCount;
    }

    /// <summary>The vocabulary masks are computed over.</summary>
    public TokenVocabulary Vocabulary => _vocabulary;

    /// <summary>The output so far is a complete value: end-of-generation is allowed.</summary>
    public bool IsComplete => _machine.IsAccepting(_state);

    /// <summary>The value is complete and nothing can follow it: only end-of-generation is allowed.</summary>
    public bool MustEnd => IsComplete && !_machine.CanContinue(_state);

    /// <summary>An end-of-generation token was accepted; nothing more is allowed.</summary>
    public bool IsFinished { get; private set; }

    /// <summary>Tokens accepted (end-of-generation excluded).</summary>
    public int TokenCount { get; private set; }

    /// <summary>Fewest bytes that complete the value from here (0 when complete).</summary>
    public int MinBytesToComplete => _machine.MinBytesToComplete(_state);

    /// <summary>
    /// Writes the allowed next tokens into <paramref name="allowed"/> (length <see cref="TokenVocabulary.MaskLength"/>)
    /// and returns how many there are. Every allowed token keeps the output a prefix of some complete value;
    /// end-of-generation tokens are allowed exactly when the value is complete, and are the only ones once nothing can follow.
    /// </summary>
    /// <param name="allowed">Receives the mask (bit set = allowed); overwritten entirely.</param>
    /// <param name="remainingTokens">
    /// How many tokens may still be generated, this one included (<see cref="Unlimited"/>: no limit). A token is
    /// allowed only if, after it, the shortest completion (in bytes) fits in the tokens left after it; since every
    /// byte value is a token of byte-level BPE and byte-fallback SentencePiece vocabularies
    /// (<see cref="TokenVocabulary.HasAllSingleByteTokens"/>), a completion of n bytes never needs more than n
    /// tokens, so a value started within budget always closes in time, steering to the shortest completion as the
    /// budget runs out. When even the shortest completion does not fit (the budget was too small from the start),
    /// the tokens that leave the shortest completion are allowed: the output stops as an unfinished prefix, which
    /// the caller sees as <see cref="IsComplete"/> false (report it as finish_reason "length").
    /// </param>
    /// <returns>The number of allowed tokens; 0 only after <see cref="IsFinished"/> or when the vocabulary cannot
    /// spell any continuation.</returns>
    public int ComputeMask(Span<ulong> allowed, int remainingTokens = Unlimited)
    {
        if (allowed.Length < _vocabulary.MaskLength)
            throw new ArgumentException($"mask needs {_vocabulary.MaskLength} words, got {allowed.Length}", nameof(allowed));
        allowed.Clear();
        if (IsFinished) return 0;
        int count = 0;
        if (_machine.CanContinue(_state))
        {
            // After this token, (remainingTokens - 1) tokens remain for the completion.
            int afterBudget = remainingTokens <= 1 ? 0 : remainingTokens - 1;
            int slot = _state % CacheSlots;
            if (_cachedState[slot] == _state && _cachedMaxNeed[slot] <= afterBudget)
            {
                _cachedMask[slot].AsSpan(0, _vocabulary.MaskLength).CopyTo(allowed);
                count = TokenMask.Count(allowed);
            }
            else
            {
                count = Scan(allowed, afterBudget, out int maxNeed, out int minNeed);
                if (count == 0 && minNeed < CompiledGrammar.Infinite && !IsComplete)
                {
                    // Nothing closes in time: keep to the tokens that get closest to a complete value.
                    count = Scan(allowed, minNeed, out _, out _);
                }
                else if (maxNeed <= afterBudget)
                {
                    Remember(slot, allowed, maxNeed);
                }
            }
        }
        if (IsComplete)
        {
            foreach (int id in _vocabulary.EndOfGenerationIds)
            {
                ref ulong word = ref allowed[id >> 6];
                if ((word >> (id & 63) & 1) == 0) count++;
                word |= 1UL << (id & 63);
            }
        }
        return count;
    }

    /// <summary>
    /// The trie walk: node i's state is its parent's state fed node i's byte; a dead state skips the subtree. Sets
    /// the bit of each token whose end state can still complete within <paramref name="budget"/> bytes.
    /// </summary>
    private int Scan(Span<ulong> allowed, int budget, out int maxNeed, out int minNeed)
    {
        var vocabulary = _vocabulary;
        byte[] nodeByte = vocabulary.NodeByte;
        int[] nodeDepth = vocabulary.NodeDepth, subtreeEnd = vocabulary.NodeSubtreeEnd, nodeToken = vocabulary.NodeToken, nextToken = vocabulary.NextToken;
        int[] stateAt = _stateAtDepth;
        stateAt[0] = _state;
        int[] transitions = _machine.Transitions;
        int[] minBytes = _machine.StateMinBytes;
        int count = 0, max = 0, min = CompiledGrammar.Infinite;
        int n = nodeByte.Length;
        for (int i = 0; i < n;)
        {
            int depth = nodeDepth[i];
            int parent = stateAt[depth - 1];
            int next = transitions[parent * 256 + nodeByte[i]];
            if (next < 0)
            {
                next = _machine.Next(parent, nodeByte[i]);
                transitions = _machine.Transitions; // may have grown
                minBytes = _machine.StateMinBytes;
            }
            if (next == StackSetMachine.Dead)
            {
                i = subtreeEnd[i];
                continue;
            }
            stateAt[depth] = next;
            int token = nodeToken[i];
            if (token >= 0)
            {
                int need = minBytes[next];
                if (need > max) max = need;
                if (need < min) min = need;
                if (need <= budget)
                {
                    for (; token >= 0; token = nextToken[token])
                    {
                        allowed[token >> 6] |= 1UL << (token & 63);
                        count++;
                    }
                }
            }
            i++;
        }
        maxNeed = max;
        minNeed = min;
        return count;
    }

    private void Remember(int slot, ReadOnlySpan<ulong> mask, int maxNeed)
    {
        _cachedMask[slot] ??= new ulong[_vocabulary.MaskLength];
        mask[.._vocabulary.MaskLength].CopyTo(_cachedMask[slot]);
        _cachedState[slot] = _state;
        _cachedMaxNeed[slot] = maxNeed;
    }

    /// <summary>
    /// Advances past <paramref name="tokenId"/>. Returns false, leaving the state unchanged, when the token is not
    /// allowed here (the grammar rejects its bytes, it is a special token, or it ends generation too early).
    /// Ignores budgets: a token outside the budget mask but inside the grammar is accepted.
    /// </summary>
    public bool Accept(int tokenId)
    {
        if ((uint)tokenId >= (uint)_vocabulary.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokenId), tokenId, "outside the vocabulary");
        if (IsFinished) return false;
        foreach (int id in _vocabulary.EndOfGenerationIds)
        {
            if (id != tokenId) continue;
            if (!IsComplete) return false;
            IsFinished = true;
            return true;
        }
        var bytes = _vocabulary.TokenBytes(tokenId);
        if (bytes.IsEmpty) return false;
        int next = _machine.Run(_state, bytes);
        if (next == StackSetMachine.Dead) return false;
        Advance(next, bytes);
        TokenCount++;
        return true;
    }

    /// <summary>Whether <paramref name="tokenId"/> is one of the vocabulary's end-of-generation tokens.</summary>
    public bool EndOfGeneration(int tokenId)
    {
        foreach (int id in _vocabulary.EndOfGenerationIds)
            if (id == tokenId) return true;
        return false;
    }

    /// <summary>Like <see cref="Accept"/> but throws when the token is not allowed.</summary>
    /// <exception cref="InvalidOperationException">The token is not allowed in this state.</exception>
    public void AcceptOrThrow(int tokenId)
    {
        if (!Accept(tokenId))
            throw new InvalidOperationException($"token {tokenId} is not allowed by the grammar here");
    }

    /// <summary>
    /// Advances past raw text the caller writes itself (e.g. a forced prefix); false, state unchanged, if the
    /// grammar rejects it.
    /// </summary>
    public bool AcceptBytes(ReadOnlySpan<byte> utf8)
    {
        if (IsFinished) return false;
        int next = _machine.Run(_state, utf8);
        if (next == StackSetMachine.Dead) return false;
        Advance(next, utf8);
        return true;
    }

    /// <summary>The rebuild threshold (<see cref="MaxMachineStates"/>; lowered by tests to exercise the rebuild).</summary>
    internal int StateLimit { get; set; } = MaxMachineStates;

    /// <summary>Number of recognizer states interned so far (diagnostics).</summary>
    internal int MachineStateCount => _machine.StateCount;

    private void Advance(int next, ReadOnlySpan<byte> bytes)
    {
        _state = next;
        foreach (byte b in bytes) _accepted.Add(b);
        if (_machine.StateCount <= StateLimit) return;
        // Start over with empty caches; state ids change, so cached masks go too.
        _machine = new StackSetMachine(_grammar.Compiled);
        _state = _machine.Run(_machine.Initial, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_accepted));
        Array.Fill(_cachedState, -1);
    }

    /// <summary>An independent copy at the same point (the copy starts with an empty mask cache).</summary>
    public GrammarConstraint Clone() => new(this);
}
