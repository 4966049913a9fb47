using System.Diagnostics;

namespace BitNet.Runtime.Sampling;

/// <summary>
/// Partial selection of the largest values of a logit vector, best first. Order is by value descending, ties by
/// index ascending, so the result is fully deterministic (and top-1 agrees with a first-index argmax).
/// </summary>
internal static class TopSelection
{
    /// <summary>
    /// Above this fraction of the input a heap no longer pays off (O(n log k) sift-downs) and a full sort is used.
    /// </summary>
    private const int FullSortDivisor = 4;

    /// <summary>
    /// Writes the indices of the <paramref name="k"/> largest <paramref name="values"/> to
    /// <paramref name="indices"/>[0..k), best first. Uses a size-k min-heap (the worst kept value on top), so a
    /// typical logit vector costs one comparison per element; falls back to a full sort of
    /// <paramref name="sortKeys"/> (allocated on first use, at most values.Length) when k is a large fraction.
    /// </summary>
    public static void SelectTop(ReadOnlySpan<float> values, int k, Span<int> indices, ref ulong[]? sortKeys)
    {
        Debug.Assert(k > 0 && k <= values.Length && indices.Length >= k);
        if (k > values.Length / FullSortDivisor)
        {
            sortKeys ??= new ulong[values.Length];
            FullSort(values, k, indices, sortKeys);
            return;
        }

        var heap = indices[..k];
        for (int i = 0; i < k; i++) heap[i] = i;
        for (int i = k / 2 - 1; i >= 0; i--) SiftDown(values, heap, i, k);

        // After the first k, an element enters only if it beats the worst kept one (the root). Every kept index is
        // smaller than i, so a tie never wins: one float comparison per element is the whole test.
        float worst = values[heap[0]];
        for (int i = k; i < values.Length; i++)
        {
            if (values[i] > worst)
            {
                heap[0] = i;
                SiftDown(values, heap, 0, k);
                worst = values[heap[0]];
            }
        }

        // Heap sort: repeatedly move the worst to the end, which leaves the span best first.
        for (int end = k - 1; end > 0; end--)
        {
            (heap[0], heap[end]) = (heap[end], heap[0]);
            SiftDown(values, heap, 0, end);
        }
    }

    /// <summary>True when value a ranks before value b (larger, or equal with a smaller index).</summary>
    private static bool IsBetter(ReadOnlySpan<float> values, int a, int b)
    {
        float va = values[a], vb = values[b];
        return va > vb || (va == vb && a < b);
    }

    /// <summary>Min-heap on rank: the root is the worst element kept.</summary>
    private static void SiftDown(ReadOnlySpan<float> values, Span<int> heap, int node, int count)
    {
        int item = heap[node];
        while (true)
        {
            int child = 2 * node + 1;
            if (child >= count) break;
            if (child + 1 < count && IsBetter(values, heap[child], heap[child + 1])) child++;
            if (!IsBetter(values, item, heap[child])) break;
            heap[node] = heap[child];
            node = child;
        }
        heap[node] = item;
    }

    /// <summary>
    /// Sorts (rank key, index) pairs packed in one ulong (see <see cref="RankKey"/>): ascending keys are best first.
    /// </summary>
    private static void FullSort(ReadOnlySpan<float> values, int k, Span<int> indices, ulong[] sortKeys)
    {
        var keys = sortKeys.AsSpan(0, values.Length);
        for (int i = 0; i < values.Length; i++) keys[i] = RankKey(values[i], i);
        keys.Sort();
        for (int i = 0; i < k; i++) indices[i] = (int)(uint)keys[i];
    }

    /// <summary>
    /// A key whose ascending order is value descending, then index ascending: the high half maps the float to an
    /// unsigned integer that orders like the float, inverted; the low half is the index (read back with (int)(uint)key).
    /// </summary>
    public static ulong RankKey(float value, int index)
    {
        // -0 and +0 must tie, as they do in IsBetter.
        uint bits = BitConverter.SingleToUInt32Bits(value == 0f ? 0f : value);
        uint ascending = (bits & 0x8000_0000u) == 0 ? bits | 0x8000_0000u : ~bits;
        return ((ulong)~ascending << 32) | (uint)index;
    }
}
