using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// AVX2 ternary kernels. Codes stay unsigned (t+1 in {0,1,2}; a hostile file may hold 3) and activations int8:
/// <c>vpmaddubsw</c> (u8 x s8 -> s16, pairs summed) then <c>vpmaddwd</c> with ones (s16 -> s32).
/// Accumulator bound: one maddubs lane is at most 2 * 3 * 128 = 768 in magnitude; a 128-weight block adds four of
/// them (3072) before it is widened to int32, far below 32767, so no int16 overflow is possible even for all-(+127)
/// or all-(-128) activations.
/// <code>
/// I2_S block (32 bytes = 128 weights), byte i:  [7:6] w[i]  [5:4] w[32+i]  [3:2] w[64+i]  [1:0] w[96+i]
/// TQ2_0 half (32 of 64 code bytes), byte m:     [1:0] w[m]  [3:2] w[32+m]  [5:4] w[64+m]  [7:6] w[96+m]
/// </code>
/// Integer sums are exact, and per-block float work happens in the same order as the scalar reference, so both paths
/// give bit-identical outputs.
/// </summary>
public static unsafe partial class TernaryMatMul
{
    internal static void ComputeAvx2(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
    {
        switch (w.Layout)
        {
            case TernaryLayout.I2S: I2SAvx2(w, x, y, yStride, rowStart, rowEnd); break;
            case TernaryLayout.TQ2: TQ2Avx2(w, x, y, yStride, rowStart, rowEnd); break;
            default: TQ1Avx2(w, x, y, yStride, rowStart, rowEnd); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Codes(Vector256<byte> w, [ConstantExpected] byte shift, Vector256<byte> mask) =>
        Avx2.And(Avx2.ShiftRightLogical(w.AsUInt16(), shift).AsByte(), mask);

    /// <summary>Dot of 128 codes (as four 32-code vectors) with 128 int8 activations, widened to 8 int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot128(
        Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> c2, Vector256<byte> c3, sbyte* q, Vector256<short> ones)
    {
        var s01 = Avx2.Add(Avx2.MultiplyAddAdjacent(c0, Avx.LoadVector256(q)), Avx2.MultiplyAddAdjacent(c1, Avx.LoadVector256(q + 32)));
        var s23 = Avx2.Add(Avx2.MultiplyAddAdjacent(c2, Avx.LoadVector256(q + 64)), Avx2.MultiplyAddAdjacent(c3, Avx.LoadVector256(q + 96)));
        return Avx2.MultiplyAddAdjacent(Avx2.Add(s01, s23), ones);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> I2SBlock(byte* wp, sbyte* q, Vector256<byte> mask, Vector256<short> ones)
    {
        var w = Avx.LoadVector256(wp);
        return Dot128(Codes(w, 6, mask), Codes(w, 4, mask), Codes(w, 2, mask), Avx2.And(w, mask), q, ones);
    }

    // ---------------------------------------------------------------- I2_S

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void I2SAvx2(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
    {
        int blocks = w.K / 128;
        int n = rowStart;
        if (x.Tokens == 1)
        {
            // Decode: one row at a time, so the weights are a single sequential stream the hardware prefetcher
            // follows at full bandwidth (interleaving four rows to share activation loads measured 3-4x slower from
            // DRAM; the activations are in L1 anyway).
            float a = x.Scale[0];
            int total = x.Totals[0];
            for (; n < rowEnd; n++)
                y[n] = Finish(w, (I2SDot(w.Row(n), x.Q, blocks) - total) * w.TensorScale, a);
            return;
        }

        // Prefill / batched decode: each row's codes are unpacked once per block and applied to four tokens. Tokens
        // go in tiles so that a tile's activations (16 x K bytes) and this call's rows both stay in L2: streaming all
        // of a 512-token prompt's activations (3.5 MB for K = 6912) past every row made long prefills memory-bound.
        const int TokenTile = 16;
        for (int t0 = 0; t0 < x.Tokens; t0 += TokenTile)
        {
            int t1 = Math.Min(x.Tokens, t0 + TokenTile);
            for (n = rowStart; n < rowEnd; n++)
            {
                byte* row = w.Row(n);
                int t = t0;
                for (; t + 4 <= t1; t += 4)
                {
                    sbyte* q = x.Q + (long)t * x.K;
                    I2SDot4Tokens(row, q, x.K, blocks, out int s0, out int s1, out int s2, out int s3);
                    y[(long)t * yStride + n] = Finish(w, (s0 - x.Totals[t]) * w.TensorScale, x.Scale[t]);
                    y[(long)(t + 1) * yStride + n] = Finish(w, (s1 - x.Totals[t + 1]) * w.TensorScale, x.Scale[t + 1]);
                    y[(long)(t + 2) * yStride + n] = Finish(w, (s2 - x.Totals[t + 2]) * w.TensorScale, x.Scale[t + 2]);
                    y[(long)(t + 3) * yStride + n] = Finish(w, (s3 - x.Totals[t + 3]) * w.TensorScale, x.Scale[t + 3]);
                }
                for (; t < t1; t++)
                    y[(long)t * yStride + n] = Finish(w, (I2SDot(row, x.Q + (long)t * x.K, blocks) - x.Totals[t]) * w.TensorScale, x.Scale[t]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int I2SDot(byte* row, sbyte* q, int blocks)
    {
        var mask = Vector256.Create((byte)3);
        var ones = Vector256.Create((short)1);
        var acc = Vector256<int>.Zero;
        for (int b = 0; b < blocks; b++)
            acc = Avx2.Add(acc, I2SBlock(row + b * 32, q + b * 128, mask, ones));
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void I2SDot4Tokens(byte* row, sbyte* q, int k, int blocks, out int s0, out int s1, out int s2, out int s3)
    {
        var mask = Vector256.Create((byte)3);
        var ones = Vector256.Create((short)1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        // int16 partial sums over up to 8 blocks before widening: a block adds at most 4 * 768 = 3072 per lane (even
        // with hostile code 3), so 8 blocks stay below 24576 < 32767. Widening once per 8 blocks saves a vpmaddwd and
        // a vpaddd per block and token in this compute-bound loop.
        for (int b0 = 0; b0 < blocks; b0 += 8)
        {
            int b1 = Math.Min(blocks, b0 + 8);
            Vector256<short> h0 = default, h1 = default, h2 = default, h3 = default;
            for (int b = b0; b < b1; b++)
            {
                var w = Avx.LoadVector256(row + b * 32);
                var c0 = Codes(w, 6, mask);
                var c1 = Codes(w, 4, mask);
                var c2 = Codes(w, 2, mask);
                var c3 = Avx2.And(w, mask);
                sbyte* qb = q + b * 128;
                h0 = Avx2.Add(h0, Dot128x16(c0, c1, c2, c3, qb));
                h1 = Avx2.Add(h1, Dot128x16(c0, c1, c2, c3, qb + k));
                h2 = Avx2.Add(h2, Dot128x16(c0, c1, c2, c3, qb + 2 * k));
                h3 = Avx2.Add(h3, Dot128x16(c0, c1, c2, c3, qb + 3 * k));
            }
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(h0, ones));
            a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(h1, ones));
            a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(h2, ones));
            a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(h3, ones));
        }
        s0 = Vector256.Sum(a0);
        s1 = Vector256.Sum(a1);
        s2 = Vector256.Sum(a2);
        s3 = Vector256.Sum(a3);
    }

    /// <summary>Like <see cref="Dot128"/> but left in 16 int16 lanes (each at most 4 * 768 in magnitude).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Dot128x16(Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> c2, Vector256<byte> c3, sbyte* q)
    {
        var s01 = Avx2.Add(Avx2.MultiplyAddAdjacent(c0, Avx.LoadVector256(q)), Avx2.MultiplyAddAdjacent(c1, Avx.LoadVector256(q + 32)));
        var s23 = Avx2.Add(Avx2.MultiplyAddAdjacent(c2, Avx.LoadVector256(q + 64)), Avx2.MultiplyAddAdjacent(c3, Avx.LoadVector256(q + 96)));
        return Avx2.Add(s01, s23);
    }

    // ---------------------------------------------------------------- TQ2_0

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TQ2Avx2(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
    {
        int blocks = w.K / 256;
        var mask = Vector256.Create((byte)3);
        var ones = Vector256.Create((short)1);
        for (int n = rowStart; n < rowEnd; n++)
        {
            byte* row = w.Row(n);
            int t = 0;
            for (; t + 2 <= x.Tokens; t += 2)
            {
                sbyte* q0 = x.Q + (long)t * x.K;
                sbyte* q1 = q0 + x.K;
                int* u0 = x.BlockSums + (long)t * x.SumsPerToken;
                int* u1 = u0 + x.SumsPerToken;
                float acc0 = 0, acc1 = 0;
                for (int b = 0; b < blocks; b++)
                {
                    byte* blk = row + b * 66;
                    float d = (float)Unsafe.ReadUnaligned<Half>(blk + 64);
                    var lo = Avx.LoadVector256(blk);
                    var hi = Avx.LoadVector256(blk + 32);
                    var l0 = Avx2.And(lo, mask); var l1 = Codes(lo, 2, mask); var l2 = Codes(lo, 4, mask); var l3 = Codes(lo, 6, mask);
                    var h0 = Avx2.And(hi, mask); var h1 = Codes(hi, 2, mask); var h2 = Codes(hi, 4, mask); var h3 = Codes(hi, 6, mask);
                    int i0 = Vector256.Sum(Avx2.Add(Dot128(l0, l1, l2, l3, q0 + b * 256, ones), Dot128(h0, h1, h2, h3, q0 + b * 256 + 128, ones)));
                    int i1 = Vector256.Sum(Avx2.Add(Dot128(l0, l1, l2, l3, q1 + b * 256, ones), Dot128(h0, h1, h2, h3, q1 + b * 256 + 128, ones)));
                    acc0 += d * (i0 - (u0[2 * b] + u0[2 * b + 1]));
                    acc1 += d * (i1 - (u1[2 * b] + u1[2 * b + 1]));
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
                    float d = (float)Unsafe.ReadUnaligned<Half>(blk + 64);
                    var lo = Avx.LoadVector256(blk);
                    var hi = Avx.LoadVector256(blk + 32);
                    var s = Avx2.Add(
                        Dot128(Avx2.And(lo, mask), Codes(lo, 2, mask), Codes(lo, 4, mask), Codes(lo, 6, mask), q + b * 256, ones),
                        Dot128(Avx2.And(hi, mask), Codes(hi, 2, mask), Codes(hi, 4, mask), Codes(hi, 6, mask), q + b * 256 + 128, ones));
                    acc += d * (Vector256.Sum(s) - (u[2 * b] + u[2 * b + 1]));
                }
                y[(long)t * yStride + n] = Finish(w, acc, x.Scale[t]);
            }
        }
    }

    // ---------------------------------------------------------------- TQ1_0

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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TQ1Avx2(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
    {
        int blocks = w.K / 256;
        var ones = Vector256.Create((short)1);
        byte* codes = stackalloc byte[256];
        fixed (byte* lut = TritTable)
        {
            for (int n = rowStart; n < rowEnd; n++)
            {
                byte* row = w.Row(n);
                for (int t = 0; t < x.Tokens; t++) y[(long)t * yStride + n] = 0;
                for (int b = 0; b < blocks; b++)
                {
                    // Unpack the block's trits once, then apply them to every token.
                    byte* blk = row + b * 54;
                    for (int d5 = 0; d5 < 5; d5++)
                    {
                        byte* l = lut + d5 * 256;
                        for (int m = 0; m < 32; m++) codes[d5 * 32 + m] = l[blk[m]];
                        for (int m = 0; m < 16; m++) codes[160 + d5 * 16 + m] = l[blk[32 + m]];
                    }
                    for (int d4 = 0; d4 < 4; d4++)
                        for (int j = 0; j < 4; j++) codes[240 + d4 * 4 + j] = lut[d4 * 256 + blk[48 + j]];
                    float d = (float)Unsafe.ReadUnaligned<Half>(blk + 52);
                    var c0 = Avx.LoadVector256(codes); var c1 = Avx.LoadVector256(codes + 32);
                    var c2 = Avx.LoadVector256(codes + 64); var c3 = Avx.LoadVector256(codes + 96);
                    var c4 = Avx.LoadVector256(codes + 128); var c5 = Avx.LoadVector256(codes + 160);
                    var c6 = Avx.LoadVector256(codes + 192); var c7 = Avx.LoadVector256(codes + 224);
                    for (int t = 0; t < x.Tokens; t++)
                    {
                        sbyte* q = x.Q + (long)t * x.K + b * 256;
                        int* u = x.BlockSums + (long)t * x.SumsPerToken;
                        var s = Avx2.Add(Dot128(c0, c1, c2, c3, q, ones), Dot128(c4, c5, c6, c7, q + 128, ones));
                        // Accumulate in y itself, in block order, exactly like the scalar reference.
                        y[(long)t * yStride + n] += d * (Vector256.Sum(s) - (u[2 * b] + u[2 * b + 1]));
                    }
                }
                for (int t = 0; t < x.Tokens; t++)
                    y[(long)t * yStride + n] = Finish(w, y[(long)t * yStride + n], x.Scale[t]);
            }
        }
    }
}
