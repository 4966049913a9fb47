namespace BitNet.Runtime.Scheduling;

/// <summary>
/// The KV slots and what each one still holds: the tokens whose keys/values are valid in it. A finished sequence
/// leaves its tokens behind, so a later request with the same prefix (system prompt, earlier turns) reuses them.
/// Free slots are taken best-prefix-first, and among equals least-recently-used first (LRU eviction).
/// </summary>
public sealed class SlotTable
{
    private readonly int[][] _tokens;
    private readonly int[] _count;
    private readonly long[] _lastUsed;
    private readonly bool[] _busy;
    private long _clock;

    public SlotTable(int slots, int contextLength)
    {
        _tokens = new int[slots][];
        for (int i = 0; i < slots; i++) _tokens[i] = new int[contextLength];
        _count = new int[slots];
        _lastUsed = new long[slots];
        _busy = new bool[slots];
    }

    public int Slots => _busy.Length;

    public int FreeSlots
    {
        get
        {
            int n = 0;
            foreach (var b in _busy) if (!b) n++;
            return n;
        }
    }

    /// <summary>Context positions held by busy slots (for the KV-usage gauge).</summary>
    public long UsedPositions
    {
        get
        {
            long n = 0;
            for (int i = 0; i < _busy.Length; i++) if (_busy[i]) n += _count[i];
            return n;
        }
    }

    /// <summary>
    /// Takes the free slot whose cached tokens share the longest prefix with <paramref name="prompt"/> (ties: least
    /// recently used) and returns how many positions can be reused: at most prompt length - 1, because the last
    /// prompt token must run through the model to produce logits. When another slot, busy or free, holds a longer
    /// prefix (a system prompt that a running request shares), <c>CopyFrom</c> names it: the caller copies that many
    /// positions of its KV into the taken slot, which is thousands of times cheaper than computing them. Otherwise -1.
    /// </summary>
    public (int Slot, int Reused, int CopyFrom) AcquireForPrompt(ReadOnlySpan<int> prompt)
    {
        int best = -1, bestLcp = -1;
        for (int s = 0; s < _busy.Length; s++)
        {
            if (_busy[s]) continue;
            int lcp = prompt.CommonPrefixLength(_tokens[s].AsSpan(0, _count[s]));
            if (lcp > bestLcp || (lcp == bestLcp && _lastUsed[s] < _lastUsed[best]))
            {
                best = s;
                bestLcp = lcp;
            }
        }
        if (best < 0) throw new InvalidOperationException("no free KV slot");
        int limit = Math.Max(0, prompt.Length - 1);
        int reused = Math.Min(bestLcp, limit), copyFrom = -1;
        for (int s = 0; s < _busy.Length && reused < limit; s++)
        {
            if (s == best) continue;
            int lcp = Math.Min(prompt.CommonPrefixLength(_tokens[s].AsSpan(0, _count[s])), limit);
            if (lcp > reused)
            {
                reused = lcp;
                copyFrom = s;
            }
        }
        _busy[best] = true;
        if (copyFrom >= 0) Array.Copy(_tokens[copyFrom], _tokens[best], reused);
        _count[best] = reused;
        _lastUsed[best] = ++_clock;
        return (best, reused, copyFrom);
    }

    /// <summary>Takes the least valuable free slot (for extra choices, which receive a copied prefix).</summary>
    public int AcquireAny()
    {
        int best = -1;
        for (int s = 0; s < _busy.Length; s++)
            if (!_busy[s] && (best < 0 || _lastUsed[s] < _lastUsed[best])) best = s;
        if (best < 0) throw new InvalidOperationException("no free KV slot");
        _busy[best] = true;
        _count[best] = 0;
        _lastUsed[best] = ++_clock;
        return best;
    }

    /// <summary>Records that <paramref name="token"/> now has valid KV at <paramref name="position"/> of the slot.</summary>
    public void Record(int slot, int position, int token)
    {
        _tokens[slot][position] = token;
        _count[slot] = position + 1;
    }

    /// <summary>Makes <paramref name="to"/> hold the same first <paramref name="count"/> tokens as <paramref name="from"/>.</summary>
    public void CopyPrefix(int from, int to, int count)
    {
        Array.Copy(_tokens[from], _tokens[to], count);
        _count[to] = count;
    }

    public void Release(int slot)
    {
        _busy[slot] = false;
        _lastUsed[slot] = ++_clock;
    }

    /// <summary>Forgets a slot's cached tokens (after a failure left its KV in an unknown state).</summary>
    public void Invalidate(int slot) => _count[slot] = 0;
}
