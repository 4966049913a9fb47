using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// AVX2 (+FMA) primitives (x64 since Haswell / Zen). Ternary: codes stay unsigned (t+1 in {0,1,2}; a hostile file may
/// hold 3) and activations int8: <c>vpmaddubsw</c> (u8 x s8 -> s16, pairs summed) then <c>vpmaddwd</c> with ones
/// (s16 -> s32). Per 128 weights with the plain unpack (the prefill kernel, which unpacks once for four tokens): 1
/// weight load, 3 shifts, 4 ANDs, 4 maddubs (activations as memory operands), 3 adds, 1 madd, 1 add (17 + 4 loads);
/// the decode GEMV uses the cheaper unpack of <see cref="I2SBlockTimes4"/>.
/// Accumulator bound: one maddubs lane is at most 2 * 3 * 128 = 768 in magnitude; a 128-weight block adds four of
/// them (3072) before it is widened to int32, far below 32767, so no int16 overflow is possible even for all-(+127)
/// or all-(-128) activations. The 4-token kernel keeps int16 sums over 8 blocks (8 * 3072 = 24576 &lt; 32767).
/// </summary>
internal unsafe partial struct Avx2Isa : IKernelIsa
{
    public static string Name => "AVX2";

    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Codes(Vector256<byte> w, [ConstantExpected] byte shift, Vector256<byte> mask) =>
        Avx2.And(Avx2.ShiftRightLogical(w.AsUInt16(), shift).AsByte(), mask);

    /// <summary>Dot of 128 codes (as four 32-code vectors) with 128 int8 activations, left in 16 int16 lanes (each at most 3072).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Dot128x16(Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> c2, Vector256<byte> c3, sbyte* q)
    {
        var s01 = Avx2.Add(Avx2.MultiplyAddAdjacent(c0, Avx.LoadVector256(q)), Avx2.MultiplyAddAdjacent(c1, Avx.LoadVector256(q + 32)));
        var s23 = Avx2.Add(Avx2.MultiplyAddAdjacent(c2, Avx.LoadVector256(q + 64)), Avx2.MultiplyAddAdjacent(c3, Avx.LoadVector256(q + 96)));
        return Avx2.Add(s01, s23);
    }

    /// <summary>The same widened to 8 int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot128(Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> c2, Vector256<byte> c3, sbyte* q) =>
        Avx2.MultiplyAddAdjacent(Dot128x16(c0, c1, c2, c3, q), Vector256.Create((short)1));

    // ---------------------------------------------------------------- I2_S

    /// <summary>
    /// Decode GEMV: 4 x (sum of code * q) of one block in 16 int16 lanes, from one shift and four masks instead of three
    /// shifts and four masks: <c>(w &gt;&gt; 4) &amp; 0x0C</c> and <c>w &amp; 0x0C</c> are codes 0 and 2 times 4,
    /// <c>(w &gt;&gt; 4) &amp; 3</c> and <c>w &amp; 3</c> codes 1 and 3, whose sum is scaled by 4 with one shift. Per
    /// 128 weights: 1 weight load, 1 shift, 4 ANDs, 4 maddubs (activations as memory operands), 3 adds, 1 shift, and
    /// half a madd and two adds per block pair: 15.5 instructions (the plain unpack takes 21).
    /// Bound: a maddubs lane is at most 2 * 12 * 128 = 3072 (hostile code 3), so a block is at most
    /// 2 * 3072 + 4 * 2 * 768 = 12288 per lane and two blocks 24576 &lt; 32767 before they are widened.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> I2SBlockTimes4(byte* p, sbyte* q, Vector256<byte> m3, Vector256<byte> mC)
    {
        var w = Avx.LoadVector256(p);
        var h = Avx2.ShiftRightLogical(w.AsUInt16(), 4).AsByte();  // bits 7:6 -> 3:2, 5:4 -> 1:0 (the rest is masked off)
        var fours = Avx2.Add(Avx2.MultiplyAddAdjacent(Avx2.And(h, mC), Avx.LoadVector256(q)),        // w[0..32) x 4
            Avx2.MultiplyAddAdjacent(Avx2.And(w, mC), Avx.LoadVector256(q + 64)));                     // w[64..96) x 4
        var ones = Avx2.Add(Avx2.MultiplyAddAdjacent(Avx2.And(h, m3), Avx.LoadVector256(q + 32)),     // w[32..64)
            Avx2.MultiplyAddAdjacent(Avx2.And(w, m3), Avx.LoadVector256(q + 96)));                     // w[96..128)
        return Avx2.Add(fours, Avx2.ShiftLeftLogical(ones, 2));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int I2SDot(byte* row, sbyte* q, int blocks)
    {
        var m3 = Vector256.Create((byte)0x03);
        var mC = Vector256.Create((byte)0x0C);
        var one = Vector256.Create((short)1);
        var acc = Vector256<int>.Zero;
        int b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes);
            var pair = Avx2.Add(I2SBlockTimes4(row + b * 32, q + b * 128, m3, mC), I2SBlockTimes4(row + b * 32 + 32, q + b * 128 + 128, m3, mC));
            acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(pair, one));
        }
        if (b < blocks) acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(I2SBlockTimes4(row + b * 32, q + b * 128, m3, mC), one));
        return Vector256.Sum(acc) >> 2; // an exact multiple of 4
    }

    /// <summary>Two single-token dots (this instruction set has no shared-unpack pair kernel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SDot2(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        sums[0] = I2SDot(row, q, blocks);
        sums[1] = I2SDot(row, q + k, blocks);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SDot4(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        var mask = Vector256.Create((byte)3);
        var ones = Vector256.Create((short)1);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        // int16 partial sums over up to 8 blocks before widening saves a vpmaddwd and a vpaddd per block and token in
        // this compute-bound loop (bound in the class comment).
        for (int b0 = 0; b0 < blocks; b0 += 8)
        {
            int b1 = Math.Min(blocks, b0 + 8);
            Vector256<short> h0 = default, h1 = default, h2 = default, h3 = default;
            for (int b = b0; b < b1; b++)
            {
                if ((b & 1) == 0) Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes); // as the GEMV: rows come from DRAM
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
        sums[0] = Vector256.Sum(a0);
        sums[1] = Vector256.Sum(a1);
        sums[2] = Vector256.Sum(a2);
        sums[3] = Vector256.Sum(a3);
    }

    public static bool I2SEightTokens => true;

    public static int I2SEightTokenBytes => int.MaxValue;

    /// <summary>
    /// Batched decode: one row against eight tokens (q + t * k), each 32-code vector unpacked once for all eight (7
    /// instructions per 32 maddubs, against 7 per 16 when <see cref="I2SDot4"/> runs twice). The codes are unpacked one
    /// vector at a time, so 8 int16 accumulators, the code vector, the weights and the mask fit 16 registers; the int16
    /// sums are widened into int32 lanes in memory every 8 blocks (the bound in the class comment).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void I2SDot8(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        var mask = Vector256.Create((byte)3);
        var ones = Vector256.Create((short)1);
        int* wide = stackalloc int[64];                       // [token][lane] int32 sums
        for (int i = 0; i < 64; i += 8) Avx.Store(wide + i, Vector256<int>.Zero);
        sbyte* x0 = q, x1 = q + k, x2 = q + 2L * k, x3 = q + 3L * k;
        nint d4 = 4 * (nint)k;                                // tokens 4..7 as x0..x3 + d4
        for (int b0 = 0; b0 < blocks; b0 += 8)
        {
            int b1 = Math.Min(blocks, b0 + 8);
            Vector256<short> h0 = default, h1 = default, h2 = default, h3 = default, h4 = default, h5 = default, h6 = default, h7 = default;
            for (int b = b0; b < b1; b++, x0 += 128, x1 += 128, x2 += 128, x3 += 128)
            {
                if ((b & 1) == 0) Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes); // as the GEMV: rows come from DRAM
                var w = Avx.LoadVector256(row + b * 32);
                Dot8(Codes(w, 6, mask), x0, x1, x2, x3, d4, ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7);
                Dot8(Codes(w, 4, mask), x0 + 32, x1 + 32, x2 + 32, x3 + 32, d4, ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7);
                Dot8(Codes(w, 2, mask), x0 + 64, x1 + 64, x2 + 64, x3 + 64, d4, ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7);
                Dot8(Avx2.And(w, mask), x0 + 96, x1 + 96, x2 + 96, x3 + 96, d4, ref h0, ref h1, ref h2, ref h3, ref h4, ref h5, ref h6, ref h7);
            }
            Flush(wide, h0, ones); Flush(wide + 8, h1, ones); Flush(wide + 16, h2, ones); Flush(wide + 24, h3, ones);
            Flush(wide + 32, h4, ones); Flush(wide + 40, h5, ones); Flush(wide + 48, h6, ones); Flush(wide + 56, h7, ones);
        }
        Avx.Store(sums, Reduce8(Avx.LoadVector256(wide), Avx.LoadVector256(wide + 8), Avx.LoadVector256(wide + 16), Avx.LoadVector256(wide + 24),
            Avx.LoadVector256(wide + 32), Avx.LoadVector256(wide + 40), Avx.LoadVector256(wide + 48), Avx.LoadVector256(wide + 56)));
    }

    /// <summary>Each of eight tokens' int16 sums gains maddubs(c, its 32 activations): x0..x3 and x0..x3 + d4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot8(Vector256<byte> c, sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3, nint d4,
        ref Vector256<short> h0, ref Vector256<short> h1, ref Vector256<short> h2, ref Vector256<short> h3,
        ref Vector256<short> h4, ref Vector256<short> h5, ref Vector256<short> h6, ref Vector256<short> h7)
    {
        h0 = Avx2.Add(h0, Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x0))); h1 = Avx2.Add(h1, Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x1)));
        h2 = Avx2.Add(h2, Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x2))); h3 = Avx2.Add(h3, Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x3)));
        h4 = Avx2.Add(h4, Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x0 + d4))); h5 = Avx2.Add(h5, Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x1 + d4)));
        h6 = Avx2.Add(h6, Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x2 + d4))); h7 = Avx2.Add(h7, Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x3 + d4)));
    }

    /// <summary>Lane t of the result = the sum of v_t's eight lanes (wrapping int32 adds, as the scalar sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Reduce8(Vector256<int> v0, Vector256<int> v1, Vector256<int> v2, Vector256<int> v3,
        Vector256<int> v4, Vector256<int> v5, Vector256<int> v6, Vector256<int> v7)
    {
        // hadd pairs within 128-bit halves: after two rounds half 0 holds v0..v3's partial sums over lanes 0-3, half 1
        // over lanes 4-7.
        var a = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v0, v1), Avx2.HorizontalAdd(v2, v3));
        var b = Avx2.HorizontalAdd(Avx2.HorizontalAdd(v4, v5), Avx2.HorizontalAdd(v6, v7));
        return Avx2.Add(Avx2.Permute2x128(a, b, 0x20), Avx2.Permute2x128(a, b, 0x31));
    }

    // ---------------------------------------------------------------- TQ2_0, TQ1_0

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums)
    {
        var mask = Vector256.Create((byte)3);
        var lo = Avx.LoadVector256(block);
        var hi = Avx.LoadVector256(block + 32);
        var l0 = Avx2.And(lo, mask); var l1 = Codes(lo, 2, mask); var l2 = Codes(lo, 4, mask); var l3 = Codes(lo, 6, mask);
        var h0 = Avx2.And(hi, mask); var h1 = Codes(hi, 2, mask); var h2 = Codes(hi, 4, mask); var h3 = Codes(hi, 6, mask);
        sums[0] = Vector256.Sum(Avx2.Add(Dot128(l0, l1, l2, l3, q0), Dot128(h0, h1, h2, h3, q0 + 128)));
        sums[1] = Vector256.Sum(Avx2.Add(Dot128(l0, l1, l2, l3, q1), Dot128(h0, h1, h2, h3, q1 + 128)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ2Dot(byte* block, sbyte* q) => Vector256.Sum(TQ2Maddubs.Partial(block, q));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CodesDot256(byte* codes, sbyte* q)
    {
        var s = Avx2.Add(
            Dot128(Avx.LoadVector256(codes), Avx.LoadVector256(codes + 32), Avx.LoadVector256(codes + 64), Avx.LoadVector256(codes + 96), q),
            Dot128(Avx.LoadVector256(codes + 128), Avx.LoadVector256(codes + 160), Avx.LoadVector256(codes + 192), Avx.LoadVector256(codes + 224), q + 128));
        return Vector256.Sum(s);
    }

    // ---------------------------------------------------------------- F16 rows

    /// <summary>
    /// Eight halves to eight floats, exactly for every bit pattern (.NET exposes no F16C intrinsics):
    /// <code>
    /// bits(f) = sign &lt;&lt; 16 | (float)((h &amp; 0x7FFF) &lt;&lt; 13) * 2^112      normals and subnormals (no DAZ in .NET)
    ///           exponent 31 (inf/nan) -> exponent 255
    /// </code>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(ushort* p) => WidenBits(Avx2.ConvertToVector256Int32(p)); // zero-extended u16 -> i32

    /// <summary><see cref="Widen"/> of eight halves already zero-extended into int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> WidenBits(Vector256<int> h)
    {
        var magnitude = Avx2.ShiftLeftLogical(Avx2.And(h, Vector256.Create(0x7FFF)), 13);
        var f = Avx.Multiply(magnitude.AsSingle(), Vector256.Create(5.192297e33f)); // 2^112
        var infNan = Avx2.CompareGreaterThan(magnitude, Vector256.Create(0x0F7FFFFF)); // half exponent 31
        var bits = Avx2.Or(f.AsInt32(), Avx2.And(infNan, Vector256.Create(0x7F800000)));
        var sign = Avx2.ShiftLeftLogical(Avx2.And(h, Vector256.Create(0x8000)), 16);
        return Avx2.Or(bits, sign).AsSingle();
    }

    /// <summary>
    /// Eight finite halves to eight floats in four instructions, exact for every half whose exponent is not 31:
    /// sign-extend (the sign lands in bits 31..28 after the shift), keep bit 31 and the magnitude in bits 27..13, and
    /// rebias by 2^112 (subnormals included: .NET runs without DAZ). Inf/NaN would come out finite, so this is used
    /// only on rows checked at load to hold none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WidenFinite(ushort* p)
    {
        var s = Avx2.ConvertToVector256Int32((short*)p);                            // sign-extended i16 -> i32
        var bits = Avx2.And(Avx2.ShiftLeftLogical(s, 13), Vector256.Create(unchecked((int)0x8FFFE000)));
        return Avx.Multiply(bits.AsSingle(), Vector256.Create(5.192297e33f));       // 2^112
    }

    /// <summary>
    /// Eight halves to floats by an integer add to the exponent (<see cref="HalfWidening.Rebias"/>): exact for normal
    /// halves, and no subnormal ever enters a multiply. Three instructions, none on the FMA ports but the shift.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WidenRebias(ushort* p)
    {
        var s = Avx2.ConvertToVector256Int32((short*)p);
        var bits = Avx2.And(Avx2.ShiftLeftLogical(s, 13), Vector256.Create(unchecked((int)0x8FFFE000)));
        return Avx2.Add(bits, Vector256.Create(0x38000000)).AsSingle();
    }

    private interface IWidening
    {
        static abstract HalfWidening Mode { get; }
        static abstract Vector256<float> Widen(ushort* p);

        /// <summary>
        /// Eight halves, each in the top 16 bits of its int32 lane (as unpacking 16-bit lanes against zero leaves them),
        /// widened the same way as <see cref="Widen"/>: an arithmetic shift by 3 is then the sign-extend-and-shift-by-13
        /// that <see cref="WidenFinite"/> does with two instructions.
        /// </summary>
        static abstract Vector256<float> WidenHigh(Vector256<int> t);
    }

    private struct Exact : IWidening
    {
        public static HalfWidening Mode => HalfWidening.Exact;
        public static Vector256<float> Widen(ushort* p) => Avx2Isa.Widen(p);
        public static Vector256<float> WidenHigh(Vector256<int> t) => WidenBits(Avx2.ShiftRightLogical(t, 16));
    }

    private struct Finite : IWidening
    {
        public static HalfWidening Mode => HalfWidening.Finite;
        public static Vector256<float> Widen(ushort* p) => WidenFinite(p);
        public static Vector256<float> WidenHigh(Vector256<int> t) =>
            Avx.Multiply(Avx2.And(Avx2.ShiftRightArithmetic(t, 3), Vector256.Create(unchecked((int)0x8FFFE000))).AsSingle(), Vector256.Create(5.192297e33f));
    }

    private struct Rebias : IWidening
    {
        public static HalfWidening Mode => HalfWidening.Rebias;
        public static Vector256<float> Widen(ushort* p) => WidenRebias(p);
        public static Vector256<float> WidenHigh(Vector256<int> t) =>
            Avx2.Add(Avx2.And(Avx2.ShiftRightArithmetic(t, 3), Vector256.Create(unchecked((int)0x8FFFE000))), Vector256.Create(0x38000000)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfDot(ushort* row, float* x, int k, HalfWidening widening) => widening switch
    {
        HalfWidening.Rebias => HalfDot<Rebias>(row, x, k),
        HalfWidening.Finite => HalfDot<Finite>(row, x, k),
        _ => HalfDot<Exact>(row, x, k),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HalfDot<TW>(ushort* row, float* x, int k) where TW : struct, IWidening
    {
        // Four accumulators: one FMA chain (4-5 cycles of latency per 16 bytes) would cap a core at ~12 GB/s, below
        // the memory bus this loop has to keep up with.
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int j = 0;
        for (; j + 32 <= k; j += 32)
        {
            Sse.Prefetch0((byte*)(row + j) + Streaming.PrefetchBytes);
            a0 = Fma.MultiplyAdd(TW.Widen(row + j), Avx.LoadVector256(x + j), a0);
            a1 = Fma.MultiplyAdd(TW.Widen(row + j + 8), Avx.LoadVector256(x + j + 8), a1);
            a2 = Fma.MultiplyAdd(TW.Widen(row + j + 16), Avx.LoadVector256(x + j + 16), a2);
            a3 = Fma.MultiplyAdd(TW.Widen(row + j + 24), Avx.LoadVector256(x + j + 24), a3);
        }
        for (; j + 8 <= k; j += 8) a0 = Fma.MultiplyAdd(TW.Widen(row + j), Avx.LoadVector256(x + j), a0);
        float sum = Vector256.Sum(Avx.Add(Avx.Add(a0, a1), Avx.Add(a2, a3)));
        sum += ScalarIsa.HalfDot(row + j, x + j, k - j, TW.Mode); // the tail
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening)
    {
        if (k % 8 != 0)
        {
            ScalarIsa.HalfDotTokens(row, x, xStride, tokens, k, y, widening); // rows no real head has
            return;
        }
        if (widening == HalfWidening.Rebias) HalfDotTokens<Rebias>(row, x, xStride, tokens, k, y);
        else if (widening == HalfWidening.Finite) HalfDotTokens<Finite>(row, x, xStride, tokens, k, y);
        else HalfDotTokens<Exact>(row, x, xStride, tokens, k, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfDotTokens<TW>(ushort* row, float* x, int xStride, int tokens, int k, float* y) where TW : struct, IWidening
    {
        if (tokens == 8)
        {
            HalfDot8<TW>(row, x, xStride, k, y);
            return;
        }
        for (int t = 0; t < tokens; t += 4) HalfDot4<TW>(row, x + (long)t * xStride, xStride, Math.Min(4, tokens - t), k, y + t);
    }

    /// <summary>
    /// Two to four tokens against one row (a third token repeats as the fourth and is dropped). Two accumulators per
    /// token: with one, each token's FMA chain waited on its own latency (the 2-token head ran 2.5x the 1-token time in
    /// L2). The row is prefetched as in <see cref="HalfDot8{TW}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void HalfDot4<TW>(ushort* row, float* x, int xStride, int tokens, int k, float* y) where TW : struct, IWidening
    {
        if (tokens == 1)
        {
            y[0] = HalfDot<TW>(row, x, k);
            return;
        }
        float* t4 = stackalloc float[4];
        if (tokens == 2) HalfDot2<TW>(row, x, x + xStride, k, t4);
        else HalfDot4<TW>(row, x, x + xStride, x + 2L * xStride, x + (tokens - 1L) * xStride, k, t4);
        for (int t = 0; t < tokens; t++) y[t] = t4[t];
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void HalfDot2<TW>(ushort* row, float* x0, float* x1, int k, float* y) where TW : struct, IWidening
    {
        Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default;
        int j = 0;
        for (; j + 16 <= k; j += 16)
        {
            if ((j & 31) == 0) Sse.Prefetch0((byte*)(row + j) + Streaming.PrefetchBytes);
            var h = TW.Widen(row + j);
            var g = TW.Widen(row + j + 8);
            a0 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + j), a0);
            a1 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + j), a1);
            b0 = Fma.MultiplyAdd(g, Avx.LoadVector256(x0 + j + 8), b0);
            b1 = Fma.MultiplyAdd(g, Avx.LoadVector256(x1 + j + 8), b1);
        }
        if (j < k)
        {
            var h = TW.Widen(row + j);
            a0 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + j), a0);
            a1 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + j), a1);
        }
        y[0] = Vector256.Sum(Avx.Add(a0, b0));
        y[1] = Vector256.Sum(Avx.Add(a1, b1));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void HalfDot4<TW>(ushort* row, float* x0, float* x1, float* x2, float* x3, int k, float* y) where TW : struct, IWidening
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int j = 0;
        for (; j + 16 <= k; j += 16)
        {
            if ((j & 31) == 0) Sse.Prefetch0((byte*)(row + j) + Streaming.PrefetchBytes);
            var h = TW.Widen(row + j);
            a0 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + j), a0);
            a1 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + j), a1);
            a2 = Fma.MultiplyAdd(h, Avx.LoadVector256(x2 + j), a2);
            a3 = Fma.MultiplyAdd(h, Avx.LoadVector256(x3 + j), a3);
            h = TW.Widen(row + j + 8);
            b0 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + j + 8), b0);
            b1 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + j + 8), b1);
            b2 = Fma.MultiplyAdd(h, Avx.LoadVector256(x2 + j + 8), b2);
            b3 = Fma.MultiplyAdd(h, Avx.LoadVector256(x3 + j + 8), b3);
        }
        if (j < k)
        {
            var h = TW.Widen(row + j);
            a0 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + j), a0);
            a1 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + j), a1);
            a2 = Fma.MultiplyAdd(h, Avx.LoadVector256(x2 + j), a2);
            a3 = Fma.MultiplyAdd(h, Avx.LoadVector256(x3 + j), a3);
        }
        y[0] = Vector256.Sum(Avx.Add(a0, b0)); y[1] = Vector256.Sum(Avx.Add(a1, b1));
        y[2] = Vector256.Sum(Avx.Add(a2, b2)); y[3] = Vector256.Sum(Avx.Add(a3, b3));
    }

    /// <summary>
    /// Eight tokens against one row: each group of 8 halves widened once for 8 FMAs. The token pointers are hoisted
    /// (recomputing 8 strided addresses per group cost as much as the FMAs), and the row is prefetched as in the GEMV:
    /// the loop consumes it 8x slower than the memory bus delivers, which the hardware prefetcher alone did not follow.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void HalfDot8<TW>(ushort* row, float* x, int xStride, int k, float* y) where TW : struct, IWidening
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        float* x0 = x, x1 = x + xStride, x2 = x + 2L * xStride, x3 = x + 3L * xStride;
        nint d4 = 4 * (nint)xStride;                 // tokens 4..7 as x0..x3 + d4
        for (int j = 0; j < k; j += 8)
        {
            if ((j & 31) == 0) Sse.Prefetch0((byte*)(row + j) + Streaming.PrefetchBytes);
            var h = TW.Widen(row + j);
            a0 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + j), a0);
            a1 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + j), a1);
            a2 = Fma.MultiplyAdd(h, Avx.LoadVector256(x2 + j), a2);
            a3 = Fma.MultiplyAdd(h, Avx.LoadVector256(x3 + j), a3);
            a4 = Fma.MultiplyAdd(h, Avx.LoadVector256(x0 + d4 + j), a4);
            a5 = Fma.MultiplyAdd(h, Avx.LoadVector256(x1 + d4 + j), a5);
            a6 = Fma.MultiplyAdd(h, Avx.LoadVector256(x2 + d4 + j), a6);
            a7 = Fma.MultiplyAdd(h, Avx.LoadVector256(x3 + d4 + j), a7);
        }
        y[0] = Vector256.Sum(a0); y[1] = Vector256.Sum(a1); y[2] = Vector256.Sum(a2); y[3] = Vector256.Sum(a3);
        y[4] = Vector256.Sum(a4); y[5] = Vector256.Sum(a5); y[6] = Vector256.Sum(a6); y[7] = Vector256.Sum(a7);
    }

    // ---------------------------------------------------------------- activations, attention

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void QuantizeRow(float* x, sbyte* q, int k, float s)
    {
        var vs = Vector256.Create(s);
        var lo = Vector256.Create(-128f);
        var hi = Vector256.Create(127f);
        int i = 0;
        for (; i + 32 <= k; i += 32)
        {
            var a = Q8(Avx.LoadVector256(x + i), vs, lo, hi);
            var b = Q8(Avx.LoadVector256(x + i + 8), vs, lo, hi);
            var c = Q8(Avx.LoadVector256(x + i + 16), vs, lo, hi);
            var d = Q8(Avx.LoadVector256(x + i + 24), vs, lo, hi);
            // Narrow int32 -> int16 -> int8; values are already clamped, so narrowing is exact.
            Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)).Store(q + i);
        }
        ScalarIsa.QuantizeRow(x + i, q + i, k - i, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q8(Vector256<float> x, Vector256<float> s, Vector256<float> lo, Vector256<float> hi) =>
        Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(Vector256.Round(x * s), lo), hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) acc = Fma.MultiplyAdd(Avx.LoadVector256(a + i), Avx.LoadVector256(b + i), acc);
            sum = Vector256.Sum(acc);
        }
        sum += ScalarIsa.Dot(a + i, b + i, n - i);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float alpha, float* x, float* y, int n)
    {
        int i = 0;
        var va = Vector256.Create(alpha);
        for (; i + 8 <= n; i += 8) Avx.Store(y + i, Fma.MultiplyAdd(va, Avx.LoadVector256(x + i), Avx.LoadVector256(y + i)));
        ScalarIsa.Axpy(alpha, x + i, y + i, n - i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyHalf(float alpha, ushort* x, float* y, int n)
    {
        int i = 0;
        var va = Vector256.Create(alpha);
        for (; i + 8 <= n; i += 8) Avx.Store(y + i, Fma.MultiplyAdd(va, Widen(x + i), Avx.LoadVector256(y + i)));
        ScalarIsa.AxpyHalf(alpha, x + i, y + i, n - i);
    }

    // ---------------------------------------------------------------- Q8_0 KV cache

    /// <summary>Eight int8 codes to eight floats (vpmovsxbd from memory, vcvtdq2ps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Codes8(sbyte* c) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(c));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8KvDot(float* x, byte* blocks, int n)
    {
        int full = n / Q8KvLayout.Block;
        var acc = Vector256<float>.Zero;
        for (int b = 0; b < full; b++)
        {
            // The block's dot in 8 lanes, then one FMA by its scale: the blocks' chains are independent.
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            float* xb = x + b * Q8KvLayout.Block;
            var p = Avx.Multiply(Avx.LoadVector256(xb), Codes8(c));
            p = Fma.MultiplyAdd(Avx.LoadVector256(xb + 8), Codes8(c + 8), p);
            p = Fma.MultiplyAdd(Avx.LoadVector256(xb + 16), Codes8(c + 16), p);
            p = Fma.MultiplyAdd(Avx.LoadVector256(xb + 24), Codes8(c + 24), p);
            acc = Fma.MultiplyAdd(p, Vector256.Create(Q8KvLayout.Scale(blocks, b)), acc);
        }
        float sum = Vector256.Sum(acc);
        int done = full * Q8KvLayout.Block;
        if (done < n) sum += ScalarIsa.Q8KvDot(x + done, blocks + full * Q8KvLayout.BlockBytes, n - done); // a short last block
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n)
    {
        int full = n / Q8KvLayout.Block;
        for (int b = 0; b < full; b++)
        {
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            float* yb = y + b * Q8KvLayout.Block;
            var a = Vector256.Create(alpha * Q8KvLayout.Scale(blocks, b));
            Avx.Store(yb, Fma.MultiplyAdd(a, Codes8(c), Avx.LoadVector256(yb)));
            Avx.Store(yb + 8, Fma.MultiplyAdd(a, Codes8(c + 8), Avx.LoadVector256(yb + 8)));
            Avx.Store(yb + 16, Fma.MultiplyAdd(a, Codes8(c + 16), Avx.LoadVector256(yb + 16)));
            Avx.Store(yb + 24, Fma.MultiplyAdd(a, Codes8(c + 24), Avx.LoadVector256(yb + 24)));
        }
        int done = full * Q8KvLayout.Block;
        if (done < n) ScalarIsa.AxpyQ8Kv(alpha, blocks + full * Q8KvLayout.BlockBytes, y + done, n - done);
    }
}
