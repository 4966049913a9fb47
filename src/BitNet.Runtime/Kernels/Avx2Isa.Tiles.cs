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

    public static bool TokenLaneTiles => true;

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
    /// two unsigned-max compares. 32 codes per digit in 8 instructions instead of 32 table lookups.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ1Unpack(byte* row, int blocks, byte* codes)
    {
        var c86 = Vector256.Create((byte)86);
        var c171 = Vector256.Create((byte)171);
        for (int b = 0; b < blocks; b++)
        {
            byte* blk = row + b * 54;
            byte* c = codes + b * 256;
            var t = Avx.LoadVector256(blk);
            for (int n = 0; n < 5; n++)
            {
                Avx.Store(c + n * 32, Trits(t, c86, c171));
                t = Avx2.Add(Avx2.Add(t, t), t);
            }
            var t16 = Sse2.LoadVector128(blk + 32);
            for (int n = 0; n < 5; n++)
            {
                Sse2.Store(c + 160 + n * 16, Trits(t16, c86.GetLower(), c171.GetLower()));
                t16 = Sse2.Add(Sse2.Add(t16, t16), t16);
            }
            var t4 = Vector128.CreateScalar(Unsafe.ReadUnaligned<uint>(blk + 48)).AsByte();
            for (int n = 0; n < 4; n++)
            {
                Unsafe.WriteUnaligned(c + 240 + n * 4, Trits(t4, c86.GetLower(), c171.GetLower()).AsUInt32().ToScalar());
                t4 = Sse2.Add(Sse2.Add(t4, t4), t4);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ1Dot(byte* block, sbyte* q) => TQ1Dot<MaddubsDot>(block, q);

    /// <summary>u8 x s8 multiply-adds into int32 lanes (four products per lane), as one instruction set does them.</summary>
    internal interface IByteDot
    {
        static abstract Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x);
        static abstract Vector128<int> Dot(Vector128<int> acc, Vector128<byte> codes, Vector128<sbyte> x);
    }

    private struct MaddubsDot : IByteDot
    {
        public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(codes, x), Vector256.Create((short)1)));

        public static Vector128<int> Dot(Vector128<int> acc, Vector128<byte> codes, Vector128<sbyte> x) =>
            Sse2.Add(acc, Sse2.MultiplyAddAdjacent(Ssse3.MultiplyAddAdjacent(codes, x), Vector128.Create((short)1)));
    }

    /// <summary>
    /// One TQ1_0 block against one token, the digits straight into the dot (no code buffer): digit n of the 32 leading
    /// bytes multiplies q[32n ..], of the next 16 q[160 + 16n ..], and the four digits of the last 4 bytes, gathered in
    /// one vector, q[240 ..]. Per lane the products stay within int16 before widening (digits are at most 2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int TQ1Dot<TD>(byte* blk, sbyte* q) where TD : struct, IByteDot
    {
        var c86 = Vector256.Create((byte)86);
        var c171 = Vector256.Create((byte)171);
        var t = Avx.LoadVector256(blk);
        Vector256<int> acc = default;
        for (int n = 0; n < 5; n++)
        {
            acc = TD.Dot(acc, Trits(t, c86, c171), Avx.LoadVector256(q + n * 32));
            t = Avx2.Add(Avx2.Add(t, t), t);
        }
        var t16 = Sse2.LoadVector128(blk + 32);
        Vector128<int> acc16 = default;
        for (int n = 0; n < 5; n++)
        {
            acc16 = TD.Dot(acc16, Trits(t16, c86.GetLower(), c171.GetLower()), Sse2.LoadVector128(q + 160 + n * 16));
            t16 = Sse2.Add(Sse2.Add(t16, t16), t16);
        }
        var v0 = Vector128.CreateScalar(Unsafe.ReadUnaligned<uint>(blk + 48)).AsByte();
        var v1 = Sse2.Add(Sse2.Add(v0, v0), v0);
        var v2 = Sse2.Add(Sse2.Add(v1, v1), v1);
        var v3 = Sse2.Add(Sse2.Add(v2, v2), v2);
        var last = Sse2.UnpackLow(Sse2.UnpackLow(v0.AsUInt32(), v1.AsUInt32()).AsUInt64(), Sse2.UnpackLow(v2.AsUInt32(), v3.AsUInt32()).AsUInt64()).AsByte();
        acc16 = TD.Dot(acc16, Trits(last, c86.GetLower(), c171.GetLower()), Sse2.LoadVector128(q + 240));
        return Vector256.Sum(acc) + Vector128.Sum(acc16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Trits(Vector256<byte> t, Vector256<byte> c86, Vector256<byte> c171)
    {
        var ge86 = Avx2.CompareEqual(Avx2.Max(t, c86), t);      // 0xFF where t >= 86
        var ge171 = Avx2.CompareEqual(Avx2.Max(t, c171), t);
        return Avx2.Subtract(Avx2.Subtract(Vector256<byte>.Zero, ge86), ge171);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Trits(Vector128<byte> t, Vector128<byte> c86, Vector128<byte> c171)
    {
        var ge86 = Sse2.CompareEqual(Sse2.Max(t, c86), t);
        var ge171 = Sse2.CompareEqual(Sse2.Max(t, c171), t);
        return Sse2.Subtract(Sse2.Subtract(Vector128<byte>.Zero, ge86), ge171);
    }

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
