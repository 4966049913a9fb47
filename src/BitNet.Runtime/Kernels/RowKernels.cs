using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The LM-head drivers (F16 rows read in place, Q8_0 rows requantized at load), written once over an instruction
/// set's primitives. Rows outer, tokens inner: each row is one sequential stream from memory (interleaving rows
/// measured much slower from DRAM) and is reused from L1 for every token of the batch.
/// </summary>
internal static unsafe class RowKernels
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Half<TIsa>(ushort* rows, int k, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, bool finite)
        where TIsa : struct, IKernelIsa
    {
        float* eight = stackalloc float[8];
        for (int r = r0; r < r1; r++)
        {
            ushort* row = rows + (long)r * k;
            if (tokens == 1)
            {
                y[r] = TIsa.HalfDot(row, x, k, finite);
                continue;
            }
            // Several tokens: each group of halves is widened once per eight tokens.
            for (int t = 0; t < tokens; t += 8)
            {
                int n = Math.Min(8, tokens - t);
                if (n == 1) eight[0] = TIsa.HalfDot(row, x + (long)t * xStride, k, finite);
                else TIsa.HalfDotTokens(row, x + (long)t * xStride, xStride, n, k, eight, finite);
                for (int i = 0; i < n; i++) y[(long)(t + i) * yStride + r] = eight[i];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8<TIsa>(sbyte* codes, float* scales, int k, sbyte* xq, float* xd, int tokens, float* y, int yStride, int r0, int r1)
        where TIsa : struct, IKernelIsa
    {
        int blocks = k / Q8RowMatrix.Block;
        for (int r = r0; r < r1; r++)
        {
            sbyte* w = codes + (long)r * k;
            float* wd = scales + (long)r * blocks;
            for (int t = 0; t < tokens; t++)
                y[(long)t * yStride + r] = TIsa.Q8Dot(w, wd, xq + (long)t * k, xd + (long)t * blocks, blocks);
        }
    }
}
