using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The LM-head drivers (F16 rows read in place, Q8_0 rows requantized at load), written once over an instruction
/// set's primitives. Rows outer, tokens inner: each row is read once from memory and reused from L1 for every token
/// of the batch. Single tokens stream one row at a time (interleaving rows measured much slower from DRAM); batches of
/// F16 rows go in blocks whose next block is prefetched explicitly.
/// </summary>
internal static unsafe class RowKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Half<TIsa>(ushort* rows, int k, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, bool finite,
        HalfExceptions? exceptions) where TIsa : struct, IKernelIsa
    {
        var widening = exceptions is not null ? HalfWidening.Rebias : finite ? HalfWidening.Finite : HalfWidening.Exact;
        if (TIsa.HalfTiles && tokens >= HalfTileMinTokens && k % 8 == 0)
            HalfBlocks<TIsa>(rows, k, x, tokens, xStride, y, yStride, r0, r1, widening);
        else
            HalfRowByRow<TIsa>(rows, k, x, tokens, xStride, y, yStride, r0, r1, widening);
        exceptions?.Correct(x, tokens, xStride, y, yStride, r0, r1);
    }

    /// <summary>One row at a time, each against up to eight tokens (the single-token decode path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void HalfRowByRow<TIsa>(ushort* rows, int k, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1,
        HalfWidening widening) where TIsa : struct, IKernelIsa
    {
        float* eight = stackalloc float[8];
        for (int r = r0; r < r1; r++)
        {
            ushort* row = rows + (long)r * k;
            if (tokens == 1)
            {
                y[r] = TIsa.HalfDot(row, x, k, widening);
                continue;
            }
            // Several tokens: each group of halves is widened once per eight tokens.
            for (int t = 0; t < tokens; t += 8)
            {
                int n = Math.Min(8, tokens - t);
                if (n == 1) eight[0] = TIsa.HalfDot(row, x + (long)t * xStride, k, widening);
                else TIsa.HalfDotTokens(row, x + (long)t * xStride, xStride, n, k, eight, widening);
                for (int i = 0; i < n; i++) y[(long)(t + i) * yStride + r] = eight[i];
            }
        }
    }

    /// <summary>Batches from this size take the blocked F16 driver (below it, widening each group once per token pair wins).</summary>
    internal const int HalfTileMinTokens = 4;

    /// <summary>Rows per block: the next block (8 x K halves, 40 KB at K = 2560) is prefetched while this one computes.</summary>
    internal const int HalfBlockRows = 8;

    /// <summary>Columns per chunk: eight tokens' activations over a chunk (16 KB) stay in L1 for every row of the block.</summary>
    internal const int HalfChunkColumns = 512;

    /// <summary>
    /// Batched F16 rows in blocks of <see cref="HalfBlockRows"/>. Reading one row against eight tokens streamed the 80 KB
    /// of activations from L2 for every row, one load per multiply-add; here a 2-row x 4-token register tile loads each
    /// activation vector once for two rows and each widened half once for four tokens, over column chunks whose
    /// activations stay in L1. Rows are no longer one sequential stream each, so the tile prefetches the next block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void HalfBlocks<TIsa>(ushort* rows, int k, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, HalfWidening widening)
        where TIsa : struct, IKernelIsa
    {
        float* acc = stackalloc float[HalfBlockRows * 64];  // [row of block][token of group (8)][lane (8)]
        for (int rb = r0; rb < r1; rb += HalfBlockRows)
        {
            int nr = Math.Min(HalfBlockRows, r1 - rb);
            int nextRows = Math.Min(HalfBlockRows, r1 - rb - nr);  // rows past r1 are another thread's
            for (int t0 = 0; t0 < tokens; t0 += 8)
            {
                int nt = Math.Min(8, tokens - t0);
                new Span<float>(acc, HalfBlockRows * 64).Clear();
                for (int j0 = 0; j0 < k; j0 += HalfChunkColumns)
                {
                    int j1 = Math.Min(k, j0 + HalfChunkColumns);
                    for (int rp = 0; rp < nr; rp += 2)
                    {
                        ushort* a = rows + (long)(rb + rp) * k;
                        ushort* b = rp + 1 < nr ? a + k : a;
                        int tq = 0;
                        if (TIsa.HalfTiles8 && nt == 8)
                        {
                            bool fetch8 = t0 == 0 && rp < nextRows;
                            ushort* pa8 = fetch8 ? a + (long)HalfBlockRows * k : a;
                            ushort* pb8 = fetch8 && rp + 1 < nextRows ? pa8 + k : b;
                            TIsa.HalfTile2x8(a, b, x + (long)t0 * xStride, xStride, j0, j1, acc + rp * 64, pa8, pb8, widening);
                            tq = 8;
                        }
                        for (; tq < nt; tq += 4)
                        {
                            // The first pass over a block prefetches the next one; later passes name lines already in L1.
                            bool fetch = t0 == 0 && tq == 0 && rp < nextRows;
                            ushort* pa = fetch ? a + (long)HalfBlockRows * k : a;
                            ushort* pb = fetch && rp + 1 < nextRows ? pa + k : b;
                            float* xq = x + (long)(t0 + tq) * xStride;
                            int last = Math.Min(4, nt - tq) - 1;  // missing tokens repeat the last one
                            TIsa.HalfTile2x4(a, b, xq, xq + (long)Math.Min(1, last) * xStride, xq + (long)Math.Min(2, last) * xStride,
                                xq + (long)last * xStride, j0, j1, acc + rp * 64 + tq * 8, pa, pb, widening);
                        }
                    }
                }
                for (int i = 0; i < nr; i++)
                    for (int t = 0; t < nt; t++)
                    {
                        float* l = acc + i * 64 + t * 8;
                        y[(long)(t0 + t) * yStride + rb + i] = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
                    }
            }
        }
    }

    /// <summary><see cref="IKernelIsa.HalfTile2x4"/>'s scalar definition: each dot's sum in lane 0.</summary>
    internal static void ReferenceHalfTile2x4(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1, float* acc,
        HalfWidening widening)
    {
        ushort** rows = stackalloc ushort*[] { a, b };
        float** xs = stackalloc float*[] { x0, x1, x2, x3 };
        for (int i = 0; i < 2; i++)
            for (int t = 0; t < 4; t++)
            {
                float sum = 0;
                for (int j = j0; j < j1; j++)
                    sum += (widening == HalfWidening.Rebias ? HalfExceptions.Rebiased(rows[i][j]) : TernaryKernels.HalfToSingle(rows[i][j])) * xs[t][j];
                acc[i * 64 + t * 8] += sum;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8<TIsa>(sbyte* codes, float* scales, int k, sbyte* xq, float* xd, int* xs, int tokens, float* y, int yStride, int r0, int r1)
        where TIsa : struct, IKernelIsa
    {
        int blocks = k / Q8RowMatrix.Block;
        float* four = stackalloc float[4];
        for (int r = r0; r < r1; r++)
        {
            sbyte* w = codes + (long)r * k;
            float* wd = scales + (long)r * blocks;
            int t = 0;
            if (TIsa.Q8Tiles && tokens >= 2)
                for (; t + 2 <= tokens; t += 4)
                {
                    // A last group of 2 or 3 repeats its last token: cheaper than streaming the row again per token.
                    int last = Math.Min(4, tokens - t) - 1;
                    TIsa.Q8Dot4(w, wd, xq + (long)t * k, xd + (long)t * blocks, xs + (long)t * blocks, k, last, four);
                    for (int i = 0; i <= last; i++) y[(long)(t + i) * yStride + r] = four[i];
                }
            for (; t < tokens; t++)
                y[(long)t * yStride + r] = TIsa.Q8Dot(w, wd, xq + (long)t * k, xd + (long)t * blocks, xs + (long)t * blocks, blocks);
        }
    }
}
