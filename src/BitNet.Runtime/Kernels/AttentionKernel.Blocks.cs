using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// Prefill attention for a block of consecutive query tokens of one sequence against one KV head. Token by token, the
/// weighted sum of values keeps each output vector in memory: one load and one store per multiply-add, per position.
/// Here the block's softmax weights become the columns of a [position, 32] matrix and the values are widened once, so
/// each value vector is loaded once for four columns while 16 accumulators stay in registers over all positions
/// (<see cref="IKernelIsa.ValueTile"/>). Scores and softmax are computed exactly as <see cref="Attend{TIsa}"/> does
/// per token, and the tile adds the same products in the same order (a masked position adds 0 * v), so a token's
/// output does not depend on whether it was batched: the engine's per-token numerics stay batch-invariant.
/// Causality: token i attends to positions [0, n0 + i).
/// </summary>
internal static unsafe partial class AttentionKernel
{
    /// <summary>Query vectors (tokens x heads) per block: the columns of the weight matrix, four 8-float vectors.</summary>
    public const int Columns = 32;

    [ThreadStatic] private static float[]? t_blockScratch;

    /// <summary>
    /// Whether <see cref="AttendBlock{TIsa}"/> handles this cache and head size: value tiles are 32 dimensions wide, and
    /// a Q8_0 cache scales each block by alpha * d before the codes, which a widened copy cannot repeat bit for bit.
    /// </summary>
    public static bool BlockSupports(KvCacheType type, int hd) => hd % 32 == 0 && type != KvCacheType.Q8_0;

    /// <param name="q">Token 0's first query head; token i's at q + i * qStride, its heads hd apart.</param>
    /// <param name="tokens">Tokens of the block: tiles of <see cref="Columns"/> / heads tokens share one widening of the cache.</param>
    /// <param name="n0">Positions token 0 attends to; token i attends to n0 + i.</param>
    /// <param name="output">Token 0's first output head; token i's at output + i * outStride.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AttendBlock<TIsa>(KvCacheType type, float* q, int qStride, int tokens, int heads, byte* keys, byte* values,
        int stride, int n0, int hd, float* output, int outStride) where TIsa : struct, IKernelIsa
    {
        if (heads > Columns || tokens < 1 || !BlockSupports(type, hd))
            throw new ArgumentException("the block does not fit the attention tiles");
        int n = n0 + tokens - 1;                           // positions the block reads
        long need = 2L * n * hd + 2L * n * Columns + (long)Columns * hd;
        if (t_blockScratch is null || t_blockScratch.Length < need) t_blockScratch = new float[Math.Max(need, 1 << 16)];
        fixed (float* scratch = t_blockScratch)
        {
            float* vf = scratch;                           // values  [n, hd] float
            float* kf = vf + (long)n * hd;                 // keys    [n, hd] float
            float* tiles = kf + (long)n * hd;              // one tile's weights, scores and outputs

            // Keys and values widened once for all the block's tiles (exactly: a float dot then gives Attend's
            // numbers); per tile of 8 tokens the widening took a sixth of a 512-token prompt's attention.
            Widen<TIsa>(type, keys, stride, n, hd, kf);
            Widen<TIsa>(type, values, stride, n, hd, vf);
            int per = Columns / heads;
            for (int b = 0; b < tokens; b += per)
                Tile<TIsa>(q + (long)b * qStride, qStride, Math.Min(per, tokens - b), heads, kf, vf, n0 + b, hd, tiles,
                    output + (long)b * outStride, outStride);
        }
    }

    /// <summary>One tile of tokens * heads &lt;= <see cref="Columns"/> query vectors over the widened keys kf and values vf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TIsa>(float* q, int qStride, int tokens, int heads, float* kf, float* vf, int n0, int hd, float* scratch,
        float* output, int outStride) where TIsa : struct, IKernelIsa
    {
        int columns = tokens * heads;
        int n = n0 + tokens - 1;                           // positions the tile reads
        float* wt = scratch;                               // weights [n, Columns], zero past each column's positions
        float* sp = wt + (long)n * Columns;                // one column's scores, then weights [columns, n]
        float* ot = sp + (long)columns * n;                // outputs [Columns, hd]

        // Scores and softmax per token, as Attend computes them.
        for (int i = 0; i < tokens; i++)
        {
            int ni = n0 + i;
            for (int h0 = 0; h0 < heads; h0 += MaxHeadsPerPass)
            {
                int g = Math.Min(MaxHeadsPerPass, heads - h0);
                float* qg = q + (long)i * qStride + (long)h0 * hd;
                float* sc = sp + (long)(i * heads + h0) * n;
                // The widened keys as an F32 cache of stride hd: Attend's own score loop.
                Scores<TIsa>(KvCacheType.F32, qg, g, (byte*)kf, hd * sizeof(float), n, 0, ni, hd, sc);
                for (int j = 0; j < g; j++) Softmax(new Span<float>(sc + (long)j * n, ni));
            }
        }

        // Weights transposed to [position, column].
        new Span<float>(wt, n * Columns).Clear();
        for (int c = 0; c < columns; c++)
        {
            float* row = sp + (long)c * n;
            for (int p = 0, end = n0 + c / heads; p < end; p++) wt[(long)p * Columns + c] = row[p];
        }

        for (int c0 = 0; c0 < columns; c0 += 4)
            for (int j0 = 0; j0 < hd; j0 += 32) TIsa.ValueTile(wt + c0, vf + j0, hd, n, ot + (long)c0 * hd + j0, hd);
        for (int i = 0; i < tokens; i++)
            new ReadOnlySpan<float>(ot + (long)i * heads * hd, heads * hd).CopyTo(new Span<float>(output + (long)i * outStride, heads * hd));
    }

    /// <summary>Positions [0, n) of one KV head (F16 or F32) as floats, exactly.</summary>
    private static void Widen<TIsa>(KvCacheType type, byte* src, int stride, int n, int hd, float* dst) where TIsa : struct, IKernelIsa
    {
        for (int p = 0; p < n; p++)
        {
            byte* at = src + (long)p * stride;
            float* row = dst + (long)p * hd;
            if (type == KvCacheType.F32)
            {
                new ReadOnlySpan<float>(at, hd).CopyTo(new Span<float>(row, hd));
                continue;
            }
            // The widening HalfDotHeads and AxpyHalfHeads load with (the axpy 0 + 1 * v it replaced turned -0 into +0).
            TIsa.WidenHalves((ushort*)at, row, hd);
        }
    }

    /// <summary><see cref="IKernelIsa.ValueTile"/>'s scalar definition.</summary>
    internal static void ReferenceValueTile(float* weights, float* values, int hd, int n, float* output, int outStride)
    {
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 32; j++)
            {
                float s = 0;
                for (int p = 0; p < n; p++) s += weights[(long)p * Columns + c] * values[(long)p * hd + j];
                output[(long)c * outStride + j] = s;
            }
    }
}
