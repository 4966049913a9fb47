using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>The AVX2 row's token-lane tile primitives (<see cref="TernaryTiles"/>): the code unpackers and the 4-row tile.</summary>
internal unsafe partial struct Avx2Isa
{
    public static bool HalfTiles => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfTile2x4(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1,
        float* acc, ushort* pa, ushort* pb, HalfWidening widening)
    {
        if (widening == HalfWidening.Rebias) HalfTile2x4<Rebias>(a, b, x0, x1, x2, x3, j0, j1, acc, pa, pb);
        else if (widening == HalfWidening.Finite) HalfTile2x4<Finite>(a, b, x0, x1, x2, x3, j0, j1, acc, pa, pb);
        else HalfTile2x4<Exact>(a, b, x0, x1, x2, x3, j0, j1, acc, pa, pb);
    }

    /// <summary>
    /// Eight accumulators, two widened rows and one activation vector: 11 of the 16 registers, so nothing spills. Per 8
    /// columns: 2 widenings, 4 activation loads (L1) and 8 FMAs, against 1 widening, 8 loads and 8 FMAs row by row.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void HalfTile2x4<TW>(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1,
        float* acc, ushort* pa, ushort* pb) where TW : struct, IWidening
    {
        var c00 = Avx.LoadVector256(acc); var c01 = Avx.LoadVector256(acc + 8);
        var c02 = Avx.LoadVector256(acc + 16); var c03 = Avx.LoadVector256(acc + 24);
        var c10 = Avx.LoadVector256(acc + 64); var c11 = Avx.LoadVector256(acc + 72);
        var c12 = Avx.LoadVector256(acc + 80); var c13 = Avx.LoadVector256(acc + 88);
        for (int j = j0; j < j1; j += 8)
        {
            if (((j - j0) & 31) == 0)
            {
                Sse.Prefetch1(pa + j);
                Sse.Prefetch1(pb + j);
            }
            var ha = TW.Widen(a + j);
            var hb = TW.Widen(b + j);
            var v = Avx.LoadVector256(x0 + j);
            c00 = Fma.MultiplyAdd(ha, v, c00); c10 = Fma.MultiplyAdd(hb, v, c10);
            v = Avx.LoadVector256(x1 + j);
            c01 = Fma.MultiplyAdd(ha, v, c01); c11 = Fma.MultiplyAdd(hb, v, c11);
            v = Avx.LoadVector256(x2 + j);
            c02 = Fma.MultiplyAdd(ha, v, c02); c12 = Fma.MultiplyAdd(hb, v, c12);
            v = Avx.LoadVector256(x3 + j);
            c03 = Fma.MultiplyAdd(ha, v, c03); c13 = Fma.MultiplyAdd(hb, v, c13);
        }
        Avx.Store(acc, c00); Avx.Store(acc + 8, c01); Avx.Store(acc + 16, c02); Avx.Store(acc + 24, c03);
        Avx.Store(acc + 64, c10); Avx.Store(acc + 72, c11); Avx.Store(acc + 80, c12); Avx.Store(acc + 88, c13);
    }

    public static bool HalfTiles8 => true;

    /// <summary>
    /// Two rows against eight tokens, one row at a time (<see cref="HalfRow8{TW}"/>) over whole 32-column groups, the
    /// rest by <see cref="HalfTile2x4"/>. Against two 2 x 4 tiles, each widened vector serves eight multiply-adds instead
    /// of four and each group of 16 halves takes one load (the widening's integer work competed with the FMAs for the
    /// vector ports).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfTile2x8(ushort* a, ushort* b, float* x, long xStride, int j0, int j1, float* acc, ushort* pa, ushort* pb,
        HalfWidening widening)
    {
        int j32 = j0 + (j1 - j0) / 32 * 32;
        if (widening == HalfWidening.Rebias) { HalfRow8<Rebias>(a, x, xStride, j0, j32, acc, pa); HalfRow8<Rebias>(b, x, xStride, j0, j32, acc + 64, pb); }
        else if (widening == HalfWidening.Finite) { HalfRow8<Finite>(a, x, xStride, j0, j32, acc, pa); HalfRow8<Finite>(b, x, xStride, j0, j32, acc + 64, pb); }
        else { HalfRow8<Exact>(a, x, xStride, j0, j32, acc, pa); HalfRow8<Exact>(b, x, xStride, j0, j32, acc + 64, pb); }
        if (j32 == j1) return;
        HalfTile2x4(a, b, x, x + xStride, x + 2 * xStride, x + 3 * xStride, j32, j1, acc, pa, pb, widening);
        float* x4 = x + 4 * xStride;
        HalfTile2x4(a, b, x4, x4 + xStride, x4 + 2 * xStride, x4 + 3 * xStride, j32, j1, acc + 32, a, b, widening);
    }

    /// <summary>
    /// One row against eight tokens over [j0, j1) (a multiple of 32), acc[t * 8 + lane]. A 32-byte load holds 16 halves,
    /// widened as two vectors by one permute, two unpacks against zero and the widening's shift; lane l sums columns
    /// 8n + l in order, as in <see cref="HalfTile2x4"/>, so the sums are the same to the bit. One prefetch per 32
    /// columns, the line at pa + j, as <see cref="HalfTile2x4"/> does.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void HalfRow8<TW>(ushort* a, float* x, long xStride, int j0, int j1, float* acc, ushort* pa) where TW : struct, IWidening
    {
        var c0 = Avx.LoadVector256(acc); var c1 = Avx.LoadVector256(acc + 8);
        var c2 = Avx.LoadVector256(acc + 16); var c3 = Avx.LoadVector256(acc + 24);
        var c4 = Avx.LoadVector256(acc + 32); var c5 = Avx.LoadVector256(acc + 40);
        var c6 = Avx.LoadVector256(acc + 48); var c7 = Avx.LoadVector256(acc + 56);
        float* x0 = x + j0, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        nint d4 = 4 * (nint)xStride;                 // tokens 4..7 as x0..x3 + d4
        for (int j = j0; j < j1; j += 32, x0 += 32, x1 += 32, x2 += 32, x3 += 32)
        {
            Sse.Prefetch1(pa + j);
            var r = Halves16(a + j);
            var h = TW.WidenHigh(Avx2.UnpackLow(Vector256<short>.Zero, r).AsInt32());
            Fma8(h, x0, x1, x2, x3, d4, ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7);
            h = TW.WidenHigh(Avx2.UnpackHigh(Vector256<short>.Zero, r).AsInt32());
            Fma8(h, x0 + 8, x1 + 8, x2 + 8, x3 + 8, d4, ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7);
            r = Halves16(a + j + 16);
            h = TW.WidenHigh(Avx2.UnpackLow(Vector256<short>.Zero, r).AsInt32());
            Fma8(h, x0 + 16, x1 + 16, x2 + 16, x3 + 16, d4, ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7);
            h = TW.WidenHigh(Avx2.UnpackHigh(Vector256<short>.Zero, r).AsInt32());
            Fma8(h, x0 + 24, x1 + 24, x2 + 24, x3 + 24, d4, ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7);
        }
        Avx.Store(acc, c0); Avx.Store(acc + 8, c1); Avx.Store(acc + 16, c2); Avx.Store(acc + 24, c3);
        Avx.Store(acc + 32, c4); Avx.Store(acc + 40, c5); Avx.Store(acc + 48, c6); Avx.Store(acc + 56, c7);
    }

    /// <summary>
    /// 16 halves with their 64-bit quarters in the order 0, 2, 1, 3, so that unpacking the 16-bit lanes against zero gives
    /// columns 0-7 (low halves of both 128-bit lanes) and 8-15 (high halves).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Halves16(ushort* p) => Avx2.Permute4x64(Avx.LoadVector256((long*)p), 0b11_01_10_00).AsInt16();

    /// <summary>Eight tokens' accumulators gain h times their activations: x0..x3 and x0..x3 + d4 for tokens 4..7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fma8(Vector256<float> h, float* x0, float* x1, float* x2, float* x3, nint d4,
        ref Vector256<float> c0, ref Vector256<float> c1, ref Vector256<float> c2, ref Vector256<float> c3,
        ref Vector256<float> c4, ref Vector256<float> c5, ref Vector256<float> c6, ref Vector256<float> c7)
    {
        c0 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0), c0); c1 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1), c1);
        c2 = Fma.MultiplyAdd(h, Avx.LoadVector256(x2), c2); c3 = Fma.MultiplyAdd(h, Avx.LoadVector256(x3), c3);
        c4 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + d4), c4); c5 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + d4), c5);
        c6 = Fma.MultiplyAdd(h, Avx.LoadVector256(x2 + d4), c6); c7 = Fma.MultiplyAdd(h, Avx.LoadVector256(x3 + d4), c7);
    }

    public static bool TokenLaneTiles => true;

    /// <summary>
    /// Eight tokens per step: each row's 8 outputs in one vector (the reference's operations per lane), then a 4 x 8
    /// transpose so that each token's 4 rows leave in one 16-byte store (the 32 scalar stores this replaced took about
    /// 6% of a 128-token GEMM on Zen 5).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FinishI2STile(int* sums, int* totals, float* scales, float tensorScale, float outputScale, int count, float* y, int yStride)
    {
        var ws = Vector256.Create(tensorScale);
        var os = Vector256.Create(outputScale);
        int j0 = 0;
        for (; j0 + 8 <= count; j0 += 8)
        {
            var t = Avx.LoadVector256(totals + j0);
            var sc = Avx.LoadVector256(scales + j0);
            var r0 = Avx.ConvertToVector256Single(Avx2.Subtract(Avx.LoadVector256(sums + j0), t)) * ws * sc * os;
            var r1 = Avx.ConvertToVector256Single(Avx2.Subtract(Avx.LoadVector256(sums + 16 + j0), t)) * ws * sc * os;
            var r2 = Avx.ConvertToVector256Single(Avx2.Subtract(Avx.LoadVector256(sums + 32 + j0), t)) * ws * sc * os;
            var r3 = Avx.ConvertToVector256Single(Avx2.Subtract(Avx.LoadVector256(sums + 48 + j0), t)) * ws * sc * os;
            Transpose4(r0, r1, r2, r3, out var q0, out var q1, out var q2, out var q3);  // q_i: tokens i and i + 4
            float* yj = y + (long)j0 * yStride;
            nint st = yStride;
            q0.GetLower().Store(yj); q1.GetLower().Store(yj + st); q2.GetLower().Store(yj + 2 * st); q3.GetLower().Store(yj + 3 * st);
            q0.GetUpper().Store(yj + 4 * st); q1.GetUpper().Store(yj + 5 * st); q2.GetUpper().Store(yj + 6 * st); q3.GetUpper().Store(yj + 7 * st);
        }
        TernaryTiles.ReferenceFinishI2STile(sums, totals, scales, tensorScale, outputScale, j0, count, y, yStride);
    }

    /// <summary>Rows r0..r3 of 8 floats to per-token quads: q_i holds token i in its low half and token i + 4 in its high half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose4(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        out Vector256<float> q0, out Vector256<float> q1, out Vector256<float> q2, out Vector256<float> q3)
    {
        var a = Avx.UnpackLow(r0, r1).AsDouble();    // r0[0] r1[0] r0[1] r1[1] | tokens 4, 5
        var b = Avx.UnpackHigh(r0, r1).AsDouble();   // r0[2] r1[2] r0[3] r1[3] | tokens 6, 7
        var c = Avx.UnpackLow(r2, r3).AsDouble();
        var d = Avx.UnpackHigh(r2, r3).AsDouble();
        q0 = Avx.UnpackLow(a, c).AsSingle();
        q1 = Avx.UnpackHigh(a, c).AsSingle();
        q2 = Avx.UnpackLow(b, d).AsSingle();
        q3 = Avx.UnpackHigh(b, d).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SUnpack(byte* row, int blocks, byte* codes)
    {
        var mask = Vector256.Create((byte)3);
        for (int b = 0; b < blocks; b++)
        {
            var w = Avx.LoadVector256(row + b * 32);
            byte* c = codes + b * 128;
            Avx.Store(c, Codes(w, 6, mask));
            Avx.Store(c + 32, Codes(w, 4, mask));
            Avx.Store(c + 64, Codes(w, 2, mask));
            Avx.Store(c + 96, Avx2.And(w, mask));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Unpack(byte* row, int blocks, byte* codes)
    {
        var mask = Vector256.Create((byte)3);
        for (int h = 0; h < 2 * blocks; h++)
        {
            var w = Avx.LoadVector256(row + h / 2 * 66 + h % 2 * 32);
            byte* c = codes + h * 128;
            Avx.Store(c, Avx2.And(w, mask));
            Avx.Store(c + 32, Codes(w, 2, mask));
            Avx.Store(c + 64, Codes(w, 4, mask));
            Avx.Store(c + 96, Codes(w, 6, mask));
        }
    }

    /// <summary>
    /// TQ1_0 without the digit table: a byte holds 5 trits as the fraction b / 256, so with t_0 = b and
    /// t_{n+1} = 3 t_n mod 256 (two byte adds), digit n is (3 t_n) &gt;&gt; 8, which is (t_n &gt;= 86) + (t_n &gt;= 171):
    /// two signed compares on the biased bytes (<see cref="Digit(Vector256{sbyte})"/>). 32 codes per digit in 6
    /// instructions instead of 32 table lookups.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ1Unpack(byte* row, int blocks, byte* codes)
    {
        // The trit bytes biased by 0x80, as TQ1LanesDot keeps them (see Digit).
        var bias = Vector256.Create((byte)0x80);
        for (int b = 0; b < blocks; b++)
        {
            byte* blk = row + b * 54;
            byte* c = codes + b * 256;
            var t = Avx2.Xor(Avx.LoadVector256(blk), bias).AsSByte();
            for (int n = 0; n < 5; n++)
            {
                Avx.Store(c + n * 32, Digit(t));
                t = Avx2.Add(Avx2.Add(t, t), t);
            }
            var t16 = Sse2.Xor(Sse2.LoadVector128(blk + 32), bias.GetLower()).AsSByte();
            for (int n = 0; n < 5; n++)
            {
                Sse2.Store(c + 160 + n * 16, Digit(t16));
                t16 = Sse2.Add(Sse2.Add(t16, t16), t16);
            }
            var t4 = Sse2.Xor(Vector128.CreateScalar(Unsafe.ReadUnaligned<uint>(blk + 48)).AsByte(), bias.GetLower()).AsSByte();
            for (int n = 0; n < 4; n++)
            {
                Unsafe.WriteUnaligned(c + 240 + n * 4, Digit(t4).AsUInt32().ToScalar());
                t4 = Sse2.Add(Sse2.Add(t4, t4), t4);
            }
        }
    }

    /// <summary>u8 x s8 multiply-adds, as one instruction set does them.</summary>
    internal interface IByteDot
    {
        /// <summary>The products added into lanes as the instruction set keeps them between widenings (int16 pairs or int32).</summary>
        static abstract Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x);

        /// <summary>An <see cref="Accumulate"/> accumulator as 8 int32 lanes whose sum is its total.</summary>
        static abstract Vector256<int> Lanes(Vector256<int> acc);
    }

    private struct MaddubsDot : IByteDot
    {
        public static Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x) =>
            Avx2.Add(acc.AsInt16(), Avx2.MultiplyAddAdjacent(codes, x)).AsInt32();

        public static Vector256<int> Lanes(Vector256<int> acc) => Avx2.MultiplyAddAdjacent(acc.AsInt16(), Vector256.Create((short)1));
    }

    public static bool TQ1Lanes => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ1LanesDot(byte* block, sbyte* lanes)
    {
        Sse.Prefetch0(block + Streaming.PrefetchBytes);
        return Vector256.Sum(TQ1LanesPartial<MaddubsDot>(block, lanes));
    }

    /// <summary>
    /// One TQ1_0 block against its digit lanes, left in 8 int32 lanes whose sum is the dot: bytes 0..31 and 22..53 (the second load ends at the block's end, so
    /// nothing past it is read), per digit two trit vectors against two plain lane vectors, and t = 3t between digits.
    /// The trit bytes are kept as s = t ^ 0x80 (= t + 128 mod 256, which follows the same s = 3s), so that t &gt;= 86 and
    /// t &gt;= 171 are two signed compares and the digit is 0 minus both masks: 4 instructions, against 5 unsigned.
    /// With maddubs an int16 lane gains at most 2 * 2 * 128 per product pair, 5 per accumulator: far from 32767.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> TQ1LanesPartial<TD>(byte* blk, sbyte* lanes) where TD : struct, IByteDot
    {
        var bias = Vector256.Create((byte)0x80);
        var a = Avx2.Xor(Avx.LoadVector256(blk), bias).AsSByte();
        var b = Avx2.Xor(Avx.LoadVector256(blk + 22), bias).AsSByte();
        Vector256<int> accA = default, accB = default;
        for (int n = 0; n < 5; n++)
        {
            accA = TD.Accumulate(accA, Digit(a), Avx.LoadVector256(lanes + n * 64));
            accB = TD.Accumulate(accB, Digit(b), Avx.LoadVector256(lanes + n * 64 + 32));
            a = Avx2.Add(Avx2.Add(a, a), a);
            b = Avx2.Add(Avx2.Add(b, b), b);
        }
        return Avx2.Add(TD.Lanes(accA), TD.Lanes(accB));
    }

    /// <summary>The leading base-3 digit of biased trit bytes s = t ^ 0x80: (t &gt;= 86) + (t &gt;= 171) as s &gt; -43 and s &gt; 42.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Digit(Vector256<sbyte> s) =>
        Avx2.Subtract(Avx2.Subtract(Vector256<sbyte>.Zero, Avx2.CompareGreaterThan(s, Vector256.Create((sbyte)-43))),
            Avx2.CompareGreaterThan(s, Vector256.Create((sbyte)42))).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Digit(Vector128<sbyte> s) =>
        Sse2.Subtract(Sse2.Subtract(Vector128<sbyte>.Zero, Sse2.CompareGreaterThan(s, Vector128.Create((sbyte)-43))),
            Sse2.CompareGreaterThan(s, Vector128.Create((sbyte)42))).AsByte();

    /// <summary>
    /// Per 4-element group: the activation vectors, one broadcast of each row's 4 codes, and per row and vector a
    /// maddubs into int16 lanes, which are widened into the int32 sums (in memory) every 32 groups: a lane gains at
    /// most 2 * 3 * 128 = 768 per group, so 32 groups stay below 24577 &lt; 32767. 8 int16 accumulators (4 rows x 2
    /// vectors, or 4 rows x even/odd groups for one vector) fit 16 registers; the int16 add chains have 1-cycle latency.
    /// Measured in L1 about 1.9x the loop that kept int32 accumulators in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // its own register allocation: inlined, the row pointers spilled
    public static void CodeTile4(byte* codes, int codeStride, sbyte* lanes, int vectors, int k, int* sums)
    {
        int groups = k / 4;
        nint s1 = codeStride / 4, s2 = 2 * s1, s3 = 3 * s1;   // rows 1..3 as offsets from row 0, in 4-byte groups
        var ones = Vector256.Create((short)1);
        for (int i = 0; i < 64; i += 8) Avx.Store(sums + i, Vector256<int>.Zero);
        uint* c = (uint*)codes;
        for (int g0 = 0; g0 < groups; g0 += 32)
        {
            int n = Math.Min(32, groups - g0);
            uint* end = c + n;
            Vector256<short> h00 = default, h01 = default, h10 = default, h11 = default, h20 = default, h21 = default, h30 = default, h31 = default;
            if (vectors == 2)
            {
                for (; c < end; c++, lanes += 64)
                {
                    var x0 = Avx.LoadVector256(lanes);
                    var x1 = Avx.LoadVector256(lanes + 32);
                    var b = Avx2.BroadcastScalarToVector256(c).AsByte();
                    h00 = Avx2.Add(h00, Avx2.MultiplyAddAdjacent(b, x0)); h01 = Avx2.Add(h01, Avx2.MultiplyAddAdjacent(b, x1));
                    b = Avx2.BroadcastScalarToVector256(c + s1).AsByte();
                    h10 = Avx2.Add(h10, Avx2.MultiplyAddAdjacent(b, x0)); h11 = Avx2.Add(h11, Avx2.MultiplyAddAdjacent(b, x1));
                    b = Avx2.BroadcastScalarToVector256(c + s2).AsByte();
                    h20 = Avx2.Add(h20, Avx2.MultiplyAddAdjacent(b, x0)); h21 = Avx2.Add(h21, Avx2.MultiplyAddAdjacent(b, x1));
                    b = Avx2.BroadcastScalarToVector256(c + s3).AsByte();
                    h30 = Avx2.Add(h30, Avx2.MultiplyAddAdjacent(b, x0)); h31 = Avx2.Add(h31, Avx2.MultiplyAddAdjacent(b, x1));
                }
                Flush(sums, h00, ones); Flush(sums + 8, h01, ones); Flush(sums + 16, h10, ones); Flush(sums + 24, h11, ones);
                Flush(sums + 32, h20, ones); Flush(sums + 40, h21, ones); Flush(sums + 48, h30, ones); Flush(sums + 56, h31, ones);
                continue;
            }
            // One vector: even groups into h?0, odd groups into h?1; the pairs are summed when flushed.
            for (; c + 2 <= end; c += 2, lanes += 64)
            {
                var x0 = Avx.LoadVector256(lanes);
                var x1 = Avx.LoadVector256(lanes + 32);
                h00 = Avx2.Add(h00, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c).AsByte(), x0));
                h01 = Avx2.Add(h01, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + 1).AsByte(), x1));
                h10 = Avx2.Add(h10, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s1).AsByte(), x0));
                h11 = Avx2.Add(h11, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s1 + 1).AsByte(), x1));
                h20 = Avx2.Add(h20, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s2).AsByte(), x0));
                h21 = Avx2.Add(h21, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s2 + 1).AsByte(), x1));
                h30 = Avx2.Add(h30, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s3).AsByte(), x0));
                h31 = Avx2.Add(h31, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s3 + 1).AsByte(), x1));
            }
            if (c < end)
            {
                var x0 = Avx.LoadVector256(lanes);
                h00 = Avx2.Add(h00, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c).AsByte(), x0));
                h10 = Avx2.Add(h10, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s1).AsByte(), x0));
                h20 = Avx2.Add(h20, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s2).AsByte(), x0));
                h30 = Avx2.Add(h30, Avx2.MultiplyAddAdjacent(Avx2.BroadcastScalarToVector256(c + s3).AsByte(), x0));
                c++;
                lanes += 32;
            }
            Flush(sums, h00, ones); Flush(sums, h01, ones); Flush(sums + 16, h10, ones); Flush(sums + 16, h11, ones);
            Flush(sums + 32, h20, ones); Flush(sums + 32, h21, ones); Flush(sums + 48, h30, ones); Flush(sums + 48, h31, ones);
        }
    }

    /// <summary>sums += the int16 lanes of h, pairwise widened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Flush(int* sums, Vector256<short> h, Vector256<short> ones) =>
        Avx.Store(sums, Avx2.Add(Avx.LoadVector256(sums), Avx2.MultiplyAddAdjacent(h, ones)));
}
