namespace BitNet.Runtime.Grammar;

/// <summary>Helpers for token masks: bit <c>id &amp; 63</c> of word <c>id &gt;&gt; 6</c> set means "allowed".</summary>
public static class TokenMask
{
    public static bool IsAllowed(ReadOnlySpan<ulong> mask, int id) => (mask[id >> 6] >> (id & 63) & 1) != 0;

    /// <summary>Sets the logits of disallowed tokens to negative infinity, so any sampler (any temperature, top-p) picks an allowed one.</summary>
    public static void Apply(Span<float> logits, ReadOnlySpan<ulong> mask)
    {
        for (int word = 0; word < mask.Length; word++)
        {
            ulong bits = mask[word];
            if (bits == ulong.MaxValue) continue;
            int start = word << 6, end = Math.Min(start + 64, logits.Length);
            for (int id = start; id < end; id++)
                if ((bits >> (id - start) & 1) == 0) logits[id] = float.NegativeInfinity;
        }
    }

    /// <summary>Number of allowed tokens.</summary>
    public static int Count(ReadOnlySpan<ulong> mask)
    {
        int count = 0;
        foreach (ulong word in mask) count += System.Numerics.BitOperations.PopCount(word);
        return count;
    }
}
