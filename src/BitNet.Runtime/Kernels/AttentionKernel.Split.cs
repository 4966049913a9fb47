using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// A decoded token's attention in three stages that split one KV head's work (<see cref="Attend{TIsa}"/> is one item per
/// KV head, so one token of a model with 5 KV heads kept at most 5 threads busy, 3 on one core and 2 on the other with
/// 2): the scores by ranges of positions, the softmax per query head, the weighted sum by 32-dimension slices. Each
/// score, weight and output element is the operation sequence Attend makes for it, so the results are identical.
/// </summary>
internal static unsafe partial class AttentionKernel
{
    /// <summary>Dimensions per slice of the weighted sum (<see cref="IKernelIsa.AttendValues"/>'s register tile).</summary>
    public const int ValueSlice = 32;

    /// <summary>Whether the row's <see cref="IKernelIsa.AttendValues"/> serves this cache and head size (Attend's weighted sum, and the split's).</summary>
    public static bool ValuesInRegisters<TIsa>(KvCacheType type, int hd) where TIsa : struct, IKernelIsa =>
        TIsa.AttentionPairs && type != KvCacheType.Q8_0 && hd % ValueSlice == 0;

    /// <summary>scores[h * n + p] for the heads of q (hd apart) and positions [p0, p1), as Attend computes them.</summary>
    public static void SplitScores<TIsa>(KvCacheType type, float* q, int heads, byte* keys, int stride, int n, int p0, int p1, int hd, float* scores)
        where TIsa : struct, IKernelIsa
    {
        for (int h0 = 0; h0 < heads; h0 += MaxHeadsPerPass)
            Scores<TIsa>(type, q + (long)h0 * hd, Math.Min(MaxHeadsPerPass, heads - h0), keys, stride, n, p0, p1, hd, scores + (long)h0 * n);
    }

    /// <summary>One head's n scores to its softmax weights in place (Attend's own softmax).</summary>
    public static void SplitSoftmax(float* scores, int n) => Softmax(new Span<float>(scores, n));

    /// <summary>output[h * hd + j] for the heads' weights [heads, n] and dimensions [j0, j0 + 32), as Attend sums them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SplitValues<TIsa>(KvCacheType type, float* weights, int heads, byte* values, int stride, int n, int hd, int j0, float* output)
        where TIsa : struct, IKernelIsa
    {
        long element = type == KvCacheType.F16 ? 2 : 4;
        for (int h0 = 0; h0 < heads; h0 += MaxHeadsPerPass)
            TIsa.AttendValues(type, weights + (long)h0 * n, n, Math.Min(MaxHeadsPerPass, heads - h0), values + j0 * element, stride, n,
                ValueSlice, output + (long)h0 * hd + j0, hd);
    }
}
