using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The ternary GEMV/GEMM drivers, written once over an instruction set's primitives: which rows, which tokens, in
/// which order, and every float operation (so each variant's outputs are bit-identical to the scalar reference's).
/// Output for a token with int8 activations q and scale a: <c>a * OutputScale * sum_b d_b * (sum_i code_i q_i - sum_i q_i)</c>.
/// </summary>
internal static unsafe class TernaryKernels
{
    /// <summary>Tokens per tile in prefill: a tile's activations (16 x K bytes) and a chunk's rows stay in L2.</summary>
    private const int TokenTile = 16;

    /// <summary>
    /// I2_S batches below this many tokens go row by row (<see cref="I2SRows{TIsa}"/>) rather than by lane tiles: one
    /// thread, 2B4T shapes, the rows ran 4 tokens at 1.7-3.2x and 8 at 1.1-1.4x the tiles' rate on AVX-VNNI (AVX2:
    /// 1.9-2.2x and about equal; `ternary-rates --batch-drivers`).
    /// </summary>
    internal const int RowBatchesBelow = 16;

    /// <summary>Rows per block of <see cref="I2SRows{TIsa}"/>: 32 rows of K = 6912 (55 KB) stay in L2 between column chunks.</summary>
    private const int RowBlock = 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute<TIsa>(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where TIsa : struct, IKernelIsa
    {
        Debug.Assert(x.K == w.K, "activation width matches the matrix");
        Debug.Assert(rowStart >= 0 && rowEnd <= w.N && rowStart <= rowEnd);
        bool rowBatch = w.Layout == TernaryLayout.I2S && x.Tokens < RowBatchesBelow;
        if (TIsa.LutTiles && x.HasTables && w.Layout == TernaryLayout.I2S && !w.HasCode3)
        {
            // Table lookups for whole groups of 4 rows (the tiles below need lanes, which a table batch has too).
            int looked = rowStart + (rowEnd - rowStart) / 4 * 4;
            TernaryLut.Compute<TIsa>(w, x, y, yStride, rowStart, looked);
            rowStart = looked;
            if (rowStart == rowEnd) return;
        }
        if (TIsa.TokenLaneTiles && x.HasLanes && !rowBatch)
        {
            // Batches: 4-row x 16-token register tiles; the last rows of an uneven range take the row kernels below.
            int tiled = rowStart + (rowEnd - rowStart) / 4 * 4;
            TernaryTiles.Compute<TIsa>(w, x, y, yStride, rowStart, tiled);
            rowStart = tiled;
            if (rowStart == rowEnd) return;
        }
        switch (w.Layout)
        {
            case TernaryLayout.I2S: I2S<TIsa>(w, x, y, yStride, rowStart, rowEnd); break;
            case TernaryLayout.TQ2: TQ2<TIsa>(w, x, y, yStride, rowStart, rowEnd); break;
            default: TQ1<TIsa>(w, x, y, yStride, rowStart, rowEnd); break;
        }
    }

    /// <summary>
    /// A block scale's half to float, inline and branch-free (.NET's conversion is a call per block, which bound the
    /// single-token TQ loops): the bits scaled by 2^112 (exact for normals and, without DAZ, subnormals), exponent 31
    /// mapped to 255 (inf/NaN, payload kept), the sign put back. Equal to <c>(float)(Half)bits</c> for every finite
    /// half and infinity, and NaN for NaN (tested over all 65,536).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float HalfToSingle(ushort h)
    {
        uint m = (uint)(h & 0x7FFF) << 13;
        uint bits = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(m) * 5.192297e33f); // 2^112
        if (m > 0x0F7FFFFF) bits |= 0x7F800000;
        return BitConverter.UInt32BitsToSingle(bits | (uint)(h & 0x8000) << 16);
    }

    /// <summary>The final multiply, shared by every path so that they agree bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Finish(TernaryMatrix w, float rowDot, float activationScale) => rowDot * activationScale * w.OutputScale;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void I2S<TIsa>(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where TIsa : struct, IKernelIsa
    {
        int blocks = w.K / 128;
        float ws = w.TensorScale;
        if (x.Tokens == 1)
        {
            // Decode: one row at a time, so the weights are a single sequential stream the hardware prefetcher follows
            // at full bandwidth (interleaving four rows to share activation loads measured 3-4x slower from DRAM; the
            // activations are in L1 anyway).
            float a = x.Scale[0];
            int total = x.Totals[0];
            for (int n = rowStart; n < rowEnd; n++)
                y[n] = Finish(w, (TIsa.I2SDot(w.Row(n), x.Q, blocks) - total) * ws, a);
            return;
        }

        if (x.Tokens < RowBatchesBelow)
        {
            I2SRows<TIsa>(w, x, y, yStride, rowStart, rowEnd);
            return;
        }
        // Prefill without lane tiles: each row's codes are unpacked once per block and applied to four tokens, in token
        // tiles: streaming all of a 512-token prompt's activations (3.5 MB for K = 6912) past every row made long
        // prefills memory-bound.
        int* s = stackalloc int[4];
        for (int t0 = 0; t0 < x.Tokens; t0 += TokenTile)
        {
            int t1 = Math.Min(x.Tokens, t0 + TokenTile);
            for (int n = rowStart; n < rowEnd; n++)
            {
                byte* row = w.Row(n);
                int t = t0;
                for (; t + 4 <= t1; t += 4)
                {
                    TIsa.I2SDot4(row, x.Q + (long)t * x.K, x.K, blocks, s);
                    for (int j = 0; j < 4; j++)
                        y[(long)(t + j) * yStride + n] = Finish(w, (s[j] - x.Totals[t + j]) * ws, x.Scale[t + j]);
                }
                for (; t < t1; t++)
                    y[(long)t * yStride + n] = Finish(w, (TIsa.I2SDot(row, x.Q + (long)t * x.K, blocks) - x.Totals[t]) * ws, x.Scale[t]);
            }
        }
    }

    /// <summary>
    /// Batched decode, I2_S: each row read once for all tokens, straight from the packed weights: eight tokens per pass
    /// where the variant has <see cref="IKernelIsa.I2SDot8"/>, then fours, a pair, a single. Eight tokens of a long row
    /// (K = 6912: 55 KB) would not stay in L1, so where the variant says so (<see cref="IKernelIsa.I2SEightTokenBytes"/>)
    /// their dots go by column chunks over blocks of rows: each chunk's activations stay in L1 and the row block's
    /// weights in L2 for the next chunk (exact: the chunks' sums are ints).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void I2SRows<TIsa>(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where TIsa : struct, IKernelIsa
    {
        int blocks = w.K / 128;
        float ws = w.TensorScale;
        int eights = TIsa.I2SEightTokens ? x.Tokens / 8 * 8 : 0;
        int chunks = (int)((8L * x.K + TIsa.I2SEightTokenBytes - 1) / TIsa.I2SEightTokenBytes);
        int chunkBlocks = (blocks + chunks - 1) / chunks;
        int* s = stackalloc int[8];
        int* acc = stackalloc int[RowBlock * 8];     // [row of the block, token of the group]
        for (int n0 = rowStart; n0 < rowEnd; n0 += RowBlock)
        {
            int n1 = Math.Min(rowEnd, n0 + RowBlock);
            for (int t = 0; t < eights; t += 8)
            {
                sbyte* q = x.Q + (long)t * x.K;
                for (int b0 = 0; b0 < blocks; b0 += chunkBlocks)
                {
                    int nb = Math.Min(chunkBlocks, blocks - b0);
                    for (int n = n0; n < n1; n++)
                    {
                        TIsa.I2SDot8(w.Row(n) + b0 * 32, q + b0 * 128, x.K, nb, s);
                        int* a = acc + (n - n0) * 8;
                        for (int j = 0; j < 8; j++) a[j] = b0 == 0 ? s[j] : a[j] + s[j];
                    }
                }
                for (int n = n0; n < n1; n++)
                    for (int j = 0; j < 8; j++)
                        y[(long)(t + j) * yStride + n] = Finish(w, (acc[(n - n0) * 8 + j] - x.Totals[t + j]) * ws, x.Scale[t + j]);
            }
            for (int n = n0; n < n1; n++)
            {
                byte* row = w.Row(n);
                int t = eights;
                for (; t + 4 <= x.Tokens; t += 4)
                {
                    TIsa.I2SDot4(row, x.Q + (long)t * x.K, x.K, blocks, s);
                    for (int j = 0; j < 4; j++)
                        y[(long)(t + j) * yStride + n] = Finish(w, (s[j] - x.Totals[t + j]) * ws, x.Scale[t + j]);
                }
                if (t + 2 <= x.Tokens)
                {
                    TIsa.I2SDot2(row, x.Q + (long)t * x.K, x.K, blocks, s);
                    for (int j = 0; j < 2; j++)
                        y[(long)(t + j) * yStride + n] = Finish(w, (s[j] - x.Totals[t + j]) * ws, x.Scale[t + j]);
                    t += 2;
                }
                for (; t < x.Tokens; t++)
                    y[(long)t * yStride + n] = Finish(w, (TIsa.I2SDot(row, x.Q + (long)t * x.K, blocks) - x.Totals[t]) * ws, x.Scale[t]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TQ2<TIsa>(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where TIsa : struct, IKernelIsa
    {
        int blocks = w.K / 256;
        int* s = stackalloc int[2];
        if (x.Tokens == 1 && TIsa.TQRows8)
        {
            // Decode: eight rows at a time (their block dots reduced together), the rest row by row below.
            float* acc8 = stackalloc float[8];
            for (; rowStart + 8 <= rowEnd; rowStart += 8)
            {
                TIsa.TQ2Rows8(w.Row(rowStart), (nint)w.RowBytes, blocks, x.Q, x.BlockSums, acc8);
                for (int r = 0; r < 8; r++) y[rowStart + r] = Finish(w, acc8[r], x.Scale[0]);
            }
        }
        for (int n = rowStart; n < rowEnd; n++)
        {
            byte* row = w.Row(n);
            int t = 0;
            for (; t + 2 <= x.Tokens; t += 2)
            {
                sbyte* q0 = x.Q + (long)t * x.K;
                int* u0 = x.BlockSums + (long)t * x.SumsPerToken;
                int* u1 = u0 + x.SumsPerToken;
                float acc0 = 0, acc1 = 0;
                for (int b = 0; b < blocks; b++)
                {
                    byte* blk = row + b * 66;
                    float d = HalfToSingle(Unsafe.ReadUnaligned<ushort>(blk + 64));
                    TIsa.TQ2Dot2(blk, q0 + b * 256, q0 + x.K + b * 256, s);
                    acc0 += d * (s[0] - (u0[2 * b] + u0[2 * b + 1]));
                    acc1 += d * (s[1] - (u1[2 * b] + u1[2 * b + 1]));
                }
                y[(long)t * yStride + n] = Finish(w, acc0, x.Scale[t]);
                y[(long)(t + 1) * yStride + n] = Finish(w, acc1, x.Scale[t + 1]);
            }
            for (; t < x.Tokens; t++)
            {
                sbyte* q = x.Q + (long)t * x.K;
                int* u = x.BlockSums + (long)t * x.SumsPerToken;
                float acc = 0;
                for (int b = 0; b < blocks; b++)
                {
                    byte* blk = row + b * 66;
                    float d = HalfToSingle(Unsafe.ReadUnaligned<ushort>(blk + 64));
                    acc += d * (TIsa.TQ2Dot(blk, q + b * 256) - (u[2 * b] + u[2 * b + 1]));
                }
                y[(long)t * yStride + n] = Finish(w, acc, x.Scale[t]);
            }
        }
    }

    /// <summary>TritTable[n * 256 + b] = base-3 digit n of the fixed-point byte b (see ReferenceDequantizer.TQ1_0Codes).</summary>
    private static readonly byte[] TritTable = BuildTritTable();

    private static byte[] BuildTritTable()
    {
        var t = new byte[5 * 256];
        ReadOnlySpan<byte> pow3 = [1, 3, 9, 27, 81];
        for (int n = 0; n < 5; n++)
            for (int b = 0; b < 256; b++)
                t[n * 256 + b] = (byte)(((byte)(b * pow3[n]) * 3) >> 8);
        return t;
    }

    /// <summary>One TQ1_0 block's 256 codes (0..2) in weight order, through the digit table.</summary>
    internal static void TQ1Codes(byte* blk, byte* codes)
    {
        fixed (byte* lut = TritTable)
        {
            for (int d5 = 0; d5 < 5; d5++)
            {
                byte* l = lut + d5 * 256;
                for (int m = 0; m < 32; m++) codes[d5 * 32 + m] = l[blk[m]];
                for (int m = 0; m < 16; m++) codes[160 + d5 * 16 + m] = l[blk[32 + m]];
            }
            for (int d4 = 0; d4 < 4; d4++)
                for (int j = 0; j < 4; j++) codes[240 + d4 * 4 + j] = lut[d4 * 256 + blk[48 + j]];
        }
    }

    /// <summary>Bytes of one TQ1_0 block's digit lanes (<see cref="TQ1DigitLanes"/>): 64 per base-3 digit.</summary>
    internal const int TQ1LaneBytes = 5 * 64;

    /// <summary>
    /// One token's activations laid out for <see cref="IKernelIsa.TQ1LanesDot"/>: per block and digit n, 64 bytes that
    /// pair with the block's bytes 0..31 and 22..53, so that a variant multiplies whole vectors of trit bytes without
    /// gathering. Bytes 0..31 hold digit n of weights 32n + j, so q[32n ..]; of bytes 22..53, 32..47 hold weights
    /// 160 + 16n + j and 48..51 weights 240 + 4n + j (digits 0..3 only); the rest (bytes 22..31 again, the scale, the
    /// fifth digit of the last four) meet zeros.
    /// </summary>
    internal static void TQ1DigitLanes(sbyte* q, int blocks, sbyte* lanes)
    {
        new Span<byte>(lanes, blocks * TQ1LaneBytes).Clear();
        for (int b = 0; b < blocks; b++, q += 256)
            for (int n = 0; n < 5; n++)
            {
                sbyte* l = lanes + b * TQ1LaneBytes + n * 64;
                new ReadOnlySpan<byte>(q + 32 * n, 32).CopyTo(new Span<byte>(l, 32));
                new ReadOnlySpan<byte>(q + 160 + 16 * n, 16).CopyTo(new Span<byte>(l + 32 + 10, 16));
                if (n < 4) new ReadOnlySpan<byte>(q + 240 + 4 * n, 4).CopyTo(new Span<byte>(l + 32 + 26, 4));
            }
    }

    /// <summary>The definition of <see cref="IKernelIsa.TQ1LanesDot"/> (and its test oracle): the digit table over the lane layout.</summary>
    internal static int ReferenceTQ1LanesDot(byte* blk, sbyte* lanes)
    {
        int sum = 0;
        fixed (byte* lut = TritTable)
            for (int n = 0; n < 5; n++)
                for (int j = 0; j < 32; j++)
                    sum += lut[n * 256 + blk[j]] * lanes[n * 64 + j] + lut[n * 256 + blk[22 + j]] * lanes[n * 64 + 32 + j];
        return sum;
    }

    /// <summary>
    /// The definition of <see cref="IKernelIsa.TQ2Rows8"/> and <see cref="IKernelIsa.TQ1Rows8"/> (and their test oracle):
    /// the single-token loops of <see cref="TQ2{TIsa}"/> and <see cref="TQ1Decode{TIsa}"/> over eight rows.
    /// </summary>
    internal static void ReferenceBlockRows8(TernaryLayout layout, byte* row, nint rowBytes, int blocks, sbyte* act, int* u, float* acc)
    {
        bool tq2 = layout == TernaryLayout.TQ2;
        for (int r = 0; r < 8; r++)
        {
            byte* p = row + r * rowBytes;
            float sum = 0;
            for (int b = 0; b < blocks; b++)
            {
                byte* blk = p + b * (tq2 ? 66 : 54);
                float d = HalfToSingle(Unsafe.ReadUnaligned<ushort>(blk + (tq2 ? 64 : 52)));
                int dot = tq2 ? ScalarIsa.TQ2Dot(blk, act + b * 256) : ReferenceTQ1LanesDot(blk, act + b * TQ1LaneBytes);
                sum += d * (dot - (u[2 * b] + u[2 * b + 1]));
            }
            acc[r] = sum;
        }
    }

    /// <summary>The digit lanes of one token for a TQ1_0 GEMV: on the stack up to 32 KB (K up to 26,112), else a per-thread buffer.</summary>
    [ThreadStatic] private static NativeBuffer<sbyte>? t_tq1Lanes;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TQ1Decode<TIsa>(TernaryMatrix w, QuantizedActivations x, float* y, int rowStart, int rowEnd, sbyte* lanes)
        where TIsa : struct, IKernelIsa
    {
        int blocks = w.K / 256;
        TQ1DigitLanes(x.Q, blocks, lanes);
        int* u = x.BlockSums;
        float a = x.Scale[0];
        if (TIsa.TQRows8)
        {
            float* acc8 = stackalloc float[8];
            for (; rowStart + 8 <= rowEnd; rowStart += 8)
            {
                TIsa.TQ1Rows8(w.Row(rowStart), (nint)w.RowBytes, blocks, lanes, u, acc8);
                for (int r = 0; r < 8; r++) y[rowStart + r] = Finish(w, acc8[r], a);
            }
        }
        for (int n = rowStart; n < rowEnd; n++)
        {
            byte* row = w.Row(n);
            float acc = 0;
            for (int b = 0; b < blocks; b++)
            {
                byte* blk = row + b * 54;
                float d = HalfToSingle(Unsafe.ReadUnaligned<ushort>(blk + 52));
                acc += d * (TIsa.TQ1LanesDot(blk, lanes + b * TQ1LaneBytes) - (u[2 * b] + u[2 * b + 1]));
            }
            y[n] = Finish(w, acc, a);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TQ1<TIsa>(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where TIsa : struct, IKernelIsa
    {
        int blocks = w.K / 256;
        if (x.Tokens == 1 && TIsa.TQ1Lanes)
        {
            // Decode: the token's activations laid out once per digit, then each row's trit bytes against them whole.
            int bytes = blocks * TQ1LaneBytes;
            if (bytes <= 32768)
            {
                sbyte* onStack = stackalloc sbyte[bytes];
                TQ1Decode<TIsa>(w, x, y, rowStart, rowEnd, onStack);
            }
            else
            {
                TQ1Decode<TIsa>(w, x, y, rowStart, rowEnd, NativeBuffer<sbyte>.Grow(ref t_tq1Lanes, bytes).Pointer);
            }
            return;
        }
        byte* codes = stackalloc byte[256];
        for (int n = rowStart; n < rowEnd; n++)
        {
            byte* row = w.Row(n);
            for (int t = 0; t < x.Tokens; t++) y[(long)t * yStride + n] = 0;
            for (int b = 0; b < blocks; b++)
            {
                // Decode: the digits go straight into the dot; a few tokens: unpack the block's trits once for all.
                byte* blk = row + b * 54;
                if (x.Tokens > 1) TIsa.TQ1Unpack(blk, 1, codes);
                float d = HalfToSingle(Unsafe.ReadUnaligned<ushort>(blk + 52));
                for (int t = 0; t < x.Tokens; t++)
                {
                    int* u = x.BlockSums + (long)t * x.SumsPerToken;
                    sbyte* q = x.Q + (long)t * x.K + b * 256;
                    int dot = x.Tokens == 1 ? TIsa.TQ1Dot(blk, q) : TIsa.CodesDot256(codes, q);
                    // Accumulate in y itself, in block order.
                    y[(long)t * yStride + n] += d * (dot - (u[2 * b] + u[2 * b + 1]));
                }
            }
            for (int t = 0; t < x.Tokens; t++)
                y[(long)t * yStride + n] = Finish(w, y[(long)t * yStride + n], x.Scale[t]);
        }
    }
}
