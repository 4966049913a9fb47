using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// AVX2 plus AVX-VNNI (<c>vpdpbusd</c>: 32 u8 x s8 products summed in fours straight into 8 int32 lanes): Intel since
/// Alder Lake and Sapphire Rapids (either the VEX AVX-VNNI or the EVEX AVX512-VNNI encoding; .NET's
/// <see cref="AvxVnni"/> reports both), AMD since Zen 4. One instruction replaces <c>vpmaddubsw</c> +
/// <c>vpmaddwd</c> (or a chain of int16 adds), so the ternary and Q8_0 dots need about a third fewer instructions and
/// no int16 headroom argument. Float work (F16 rows, attention, the quantizer) is the <see cref="Avx2Isa"/> code.
/// <para>
/// Single-token I2_S uses the shift-free unpack of <see cref="Avx2Isa"/> (<c>&amp; 0x0C</c> gives codes times 4): per
/// 128 weights 1 weight load, 1 shift, 4 ANDs, 4 <c>vpdpbusd</c> (activations as memory operands) = 10 instructions
/// (AVX2: 15.5). The products times 4 and times 1 go to separate accumulators, scaled back once per row (the times-4
/// sums are exact multiples of 4). Two blocks per iteration into eight accumulators: <c>vpdpbusd</c>'s latency
/// (about 5 cycles) would otherwise bind before its throughput.
/// </para>
/// Accumulator bound: a lane gains at most 4 * 12 * 128 = 6144 per instruction (hostile code 3 times 4, activation
/// -128), one instruction per block, so int32 cannot overflow for any K below 349,000 blocks.
/// Every integer dot here equals <see cref="Avx2Isa"/>'s lane for lane, so the two variants agree bit for bit.
/// </summary>
internal unsafe struct AvxVnniIsa : IKernelIsa
{
    public static string Name => "AVX-VNNI";

    public static bool IsSupported => Avx2Isa.IsSupported && AvxVnni.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dp(Vector256<int> acc, Vector256<byte> codes, sbyte* q) =>
        AvxVnni.MultiplyWideningAndAdd(acc, codes, Avx.LoadVector256(q));

    // ---------------------------------------------------------------- I2_S

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int I2SDot(byte* row, sbyte* q, int blocks)
    {
        var m3 = Vector256.Create((byte)0x03);
        var mC = Vector256.Create((byte)0x0C);
        Vector256<int> f0 = default, f1 = default, f2 = default, f3 = default; // codes 0 and 2 of each block, times 4
        Vector256<int> o0 = default, o1 = default, o2 = default, o3 = default; // codes 1 and 3
        int b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes);
            var w = Avx.LoadVector256(row + b * 32);
            var h = Avx2.ShiftRightLogical(w.AsUInt16(), 4).AsByte();   // bits 7:6 -> 3:2, 5:4 -> 1:0
            sbyte* x = q + b * 128;
            f0 = Dp(f0, Avx2.And(h, mC), x);
            o0 = Dp(o0, Avx2.And(h, m3), x + 32);
            f1 = Dp(f1, Avx2.And(w, mC), x + 64);
            o1 = Dp(o1, Avx2.And(w, m3), x + 96);
            var w2 = Avx.LoadVector256(row + b * 32 + 32);
            var h2 = Avx2.ShiftRightLogical(w2.AsUInt16(), 4).AsByte();
            f2 = Dp(f2, Avx2.And(h2, mC), x + 128);
            o2 = Dp(o2, Avx2.And(h2, m3), x + 160);
            f3 = Dp(f3, Avx2.And(w2, mC), x + 192);
            o3 = Dp(o3, Avx2.And(w2, m3), x + 224);
        }
        if (b < blocks)
        {
            var w = Avx.LoadVector256(row + b * 32);
            var h = Avx2.ShiftRightLogical(w.AsUInt16(), 4).AsByte();
            sbyte* x = q + b * 128;
            f0 = Dp(f0, Avx2.And(h, mC), x);
            o0 = Dp(o0, Avx2.And(h, m3), x + 32);
            f1 = Dp(f1, Avx2.And(w, mC), x + 64);
            o1 = Dp(o1, Avx2.And(w, m3), x + 96);
        }
        var fours = Avx2.Add(Avx2.Add(f0, f1), Avx2.Add(f2, f3));
        var ones = Avx2.Add(Avx2.Add(o0, o1), Avx2.Add(o2, o3));
        return (Vector256.Sum(fours) >> 2) + Vector256.Sum(ones); // the times-4 sum is an exact multiple of 4
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SDot4(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        // Codes unpacked once per block (as in the decode GEMV) and applied to four tokens; each token keeps a times-4
        // and a times-1 accumulator, so a chain sees two dependent vpdpbusd per block against 16 independent ones.
        Vector256<int> f0 = default, f1 = default, f2 = default, f3 = default;
        Vector256<int> o0 = default, o1 = default, o2 = default, o3 = default;
        for (int b = 0; b < blocks; b++)
        {
            if ((b & 1) == 0) Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes);
            BlockCodes(row + b * 32, out var c0, out var c1, out var c2, out var c3);
            sbyte* x = q + b * 128;
            TokenBlock(ref f0, ref o0, c0, c1, c2, c3, x);
            TokenBlock(ref f1, ref o1, c0, c1, c2, c3, x + k);
            TokenBlock(ref f2, ref o2, c0, c1, c2, c3, x + 2 * k);
            TokenBlock(ref f3, ref o3, c0, c1, c2, c3, x + 3 * k);
        }
        sums[0] = (Vector256.Sum(f0) >> 2) + Vector256.Sum(o0);
        sums[1] = (Vector256.Sum(f1) >> 2) + Vector256.Sum(o1);
        sums[2] = (Vector256.Sum(f2) >> 2) + Vector256.Sum(o2);
        sums[3] = (Vector256.Sum(f3) >> 2) + Vector256.Sum(o3);
    }

    /// <summary>
    /// Two tokens (batched decode of 2, 3, 6 or 7 sequences): the codes unpacked once per block for both, which the
    /// single-token loop spends 6 of its 10 instructions per block on. Two blocks per iteration into eight accumulators,
    /// as in <see cref="I2SDot"/>, for vpdpbusd's latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SDot2(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        Vector256<int> f0 = default, o0 = default, g0 = default, p0 = default;   // token 0: even blocks (f, o), odd blocks (g, p)
        Vector256<int> f1 = default, o1 = default, g1 = default, p1 = default;   // token 1
        int b = 0;
        for (; b + 2 <= blocks; b += 2)
        {
            Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes);
            PairBlock(row + b * 32, q + b * 128, q + k + b * 128, ref f0, ref o0, ref f1, ref o1);
            PairBlock(row + b * 32 + 32, q + b * 128 + 128, q + k + b * 128 + 128, ref g0, ref p0, ref g1, ref p1);
        }
        if (b < blocks) PairBlock(row + b * 32, q + b * 128, q + k + b * 128, ref f0, ref o0, ref f1, ref o1);
        sums[0] = (Vector256.Sum(Avx2.Add(f0, g0)) >> 2) + Vector256.Sum(Avx2.Add(o0, p0)); // the times-4 sums are exact multiples of 4
        sums[1] = (Vector256.Sum(Avx2.Add(f1, g1)) >> 2) + Vector256.Sum(Avx2.Add(o1, p1));
    }

    /// <summary>One 128-weight block against two tokens' activations x and y: times-4 codes into f, times-1 into o.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairBlock(byte* block, sbyte* x, sbyte* y, ref Vector256<int> fx, ref Vector256<int> ox, ref Vector256<int> fy, ref Vector256<int> oy)
    {
        BlockCodes(block, out var c0, out var c1, out var c2, out var c3);
        TokenBlock(ref fx, ref ox, c0, c1, c2, c3, x);
        TokenBlock(ref fy, ref oy, c0, c1, c2, c3, y);
    }

    /// <summary>
    /// One 32-byte I2_S block's codes, shift-free: weights 0-31 and 64-95 times 4 (<c>&amp; 0x0C</c>) in c0 and c2,
    /// weights 32-63 and 96-127 times 1 in c1 and c3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BlockCodes(byte* block, out Vector256<byte> c0, out Vector256<byte> c1, out Vector256<byte> c2, out Vector256<byte> c3)
    {
        var m3 = Vector256.Create((byte)0x03);
        var mC = Vector256.Create((byte)0x0C);
        var w = Avx.LoadVector256(block);
        var h = Avx2.ShiftRightLogical(w.AsUInt16(), 4).AsByte();   // bits 7:6 -> 3:2, 5:4 -> 1:0
        c0 = Avx2.And(h, mC); c1 = Avx2.And(h, m3); c2 = Avx2.And(w, mC); c3 = Avx2.And(w, m3);
    }

    /// <summary>One token's 128 activations at x against a block's codes: times-4 products into f, times-1 into o.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TokenBlock(ref Vector256<int> f, ref Vector256<int> o, Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> c2,
        Vector256<byte> c3, sbyte* x)
    {
        f = Dp(Dp(f, c0, x), c2, x + 64);
        o = Dp(Dp(o, c1, x + 32), c3, x + 96);
    }

    public static bool I2SEightTokens => Avx512F.VL.IsSupported;

    /// <summary>
    /// Batched decode: one row against eight tokens, the codes unpacked in registers once per block for all of them (6
    /// instructions per 32 <c>vpdpbusd</c>), the weights read straight from the row (no unpacked panel to write and
    /// re-read). Sixteen accumulators (a times-4 and a times-1 per token) are also the 16 chains <c>vpdpbusd</c>'s
    /// latency needs; with the codes and masks that takes more than 16 vector registers, so only AVX-512 parts (whose
    /// EVEX encoding gives 32) take it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void I2SDot8(byte* row, sbyte* q, int k, int blocks, int* sums)
    {
        Vector256<int> f0 = default, f1 = default, f2 = default, f3 = default, f4 = default, f5 = default, f6 = default, f7 = default;
        Vector256<int> o0 = default, o1 = default, o2 = default, o3 = default, o4 = default, o5 = default, o6 = default, o7 = default;
        nint s = k;
        for (int b = 0; b < blocks; b++)
        {
            // From DRAM the row stream needs the GEMV's software prefetch: without it a model's matrices ran at 55% of
            // the rate the same loop reached on weights in the last-level cache.
            if ((b & 1) == 0) Sse.Prefetch0(row + b * 32 + Streaming.PrefetchBytes);
            BlockCodes(row + b * 32, out var c0, out var c1, out var c2, out var c3);
            sbyte* x = q + b * 128;
            TokenBlock(ref f0, ref o0, c0, c1, c2, c3, x); x += s;
            TokenBlock(ref f1, ref o1, c0, c1, c2, c3, x); x += s;
            TokenBlock(ref f2, ref o2, c0, c1, c2, c3, x); x += s;
            TokenBlock(ref f3, ref o3, c0, c1, c2, c3, x); x += s;
            TokenBlock(ref f4, ref o4, c0, c1, c2, c3, x); x += s;
            TokenBlock(ref f5, ref o5, c0, c1, c2, c3, x); x += s;
            TokenBlock(ref f6, ref o6, c0, c1, c2, c3, x); x += s;
            TokenBlock(ref f7, ref o7, c0, c1, c2, c3, x);
        }
        // Per lane, a times-4 sum is an exact multiple of 4; then one transposing reduction gives the 8 tokens' totals.
        Avx.Store(sums, Avx2Isa.Reduce8(
            Avx2.Add(Avx2.ShiftRightArithmetic(f0, 2), o0), Avx2.Add(Avx2.ShiftRightArithmetic(f1, 2), o1),
            Avx2.Add(Avx2.ShiftRightArithmetic(f2, 2), o2), Avx2.Add(Avx2.ShiftRightArithmetic(f3, 2), o3),
            Avx2.Add(Avx2.ShiftRightArithmetic(f4, 2), o4), Avx2.Add(Avx2.ShiftRightArithmetic(f5, 2), o5),
            Avx2.Add(Avx2.ShiftRightArithmetic(f6, 2), o6), Avx2.Add(Avx2.ShiftRightArithmetic(f7, 2), o7)));
    }

    // ---------------------------------------------------------------- token-lane tiles (TernaryTiles)

    public static bool TokenLaneTiles => true;

    public static void FinishI2STile(int* sums, int* totals, float* scales, float tensorScale, float outputScale, int count, float* y, int yStride) =>
        Avx2Isa.FinishI2STile(sums, totals, scales, tensorScale, outputScale, count, y, yStride);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void I2SUnpack(byte* row, int blocks, byte* codes) => Avx2Isa.I2SUnpack(row, blocks, codes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Unpack(byte* row, int blocks, byte* codes) => Avx2Isa.TQ2Unpack(row, blocks, codes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ1Unpack(byte* row, int blocks, byte* codes) => Avx2Isa.TQ1Unpack(row, blocks, codes);

    public static bool TQ1Lanes => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ1LanesDot(byte* block, sbyte* lanes)
    {
        Sse.Prefetch0(block + Streaming.PrefetchBytes);
        return Vector256.Sum(Avx2Isa.TQ1LanesPartial<DpbusdDot>(block, lanes));
    }

    private struct DpbusdDot : Avx2Isa.IByteDot
    {
        public static Vector256<int> Accumulate(Vector256<int> acc, Vector256<byte> codes, Vector256<sbyte> x) => AvxVnni.MultiplyWideningAndAdd(acc, codes, x);

        public static Vector256<int> Lanes(Vector256<int> acc) => acc;
    }

    /// <summary>
    /// Per 4-element group: two activation vectors (16 tokens), one broadcast of each row's 4 codes, 8 <c>vpdpbusd</c>,
    /// each doing 32 useful products (the row kernels: one load per multiply-add and a horizontal sum per row and
    /// token). <c>vpdpbusd</c>'s latency (about 5 cycles) needs 10 or more independent chains to reach its throughput:
    /// with 32 vector registers (AVX-512 parts, which .NET's EVEX encoding uses) even and odd groups go to separate
    /// accumulators (16 chains; measured 1.4-1.6x the 8-chain loop in L1); with 16 (AVX-VNNI-only parts) 8 chains.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // its own register allocation: inlined, the row pointers spilled
    public static void CodeTile4(byte* codes, int codeStride, sbyte* lanes, int vectors, int k, int* sums)
    {
        // Rows 1..3 as offsets from row 0 (in 4-byte groups): one pointer walks, the others are base + index addressing.
        uint* c = (uint*)codes;
        uint* end = c + k / 4;
        nint s1 = codeStride / 4, s2 = 2 * s1, s3 = 3 * s1;
        if (vectors == 1)
        {
            Tile8(c, end, s1, lanes, sums);
            return;
        }
        Vector256<int> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        if (Avx512F.VL.IsSupported)
        {
            Vector256<int> b00 = default, b01 = default, b10 = default, b11 = default, b20 = default, b21 = default, b30 = default, b31 = default;
            for (; c + 2 <= end; c += 2, lanes += 128)
            {
                Group16(c, s1, lanes, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                Group16(c + 1, s1, lanes + 64, ref b00, ref b01, ref b10, ref b11, ref b20, ref b21, ref b30, ref b31);
            }
            a00 = Avx2.Add(a00, b00); a01 = Avx2.Add(a01, b01); a10 = Avx2.Add(a10, b10); a11 = Avx2.Add(a11, b11);
            a20 = Avx2.Add(a20, b20); a21 = Avx2.Add(a21, b21); a30 = Avx2.Add(a30, b30); a31 = Avx2.Add(a31, b31);
        }
        for (; c < end; c++, lanes += 64) Group16(c, s1, lanes, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
        Avx.Store(sums, a00); Avx.Store(sums + 8, a01);
        Avx.Store(sums + 16, a10); Avx.Store(sums + 24, a11);
        Avx.Store(sums + 32, a20); Avx.Store(sums + 40, a21);
        Avx.Store(sums + 48, a30); Avx.Store(sums + 56, a31);
    }

    /// <summary>One group of four rows (row r's 4 codes at c + r * s1) against 16 tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Group16(uint* c, nint s1, sbyte* lanes, ref Vector256<int> a00, ref Vector256<int> a01, ref Vector256<int> a10,
        ref Vector256<int> a11, ref Vector256<int> a20, ref Vector256<int> a21, ref Vector256<int> a30, ref Vector256<int> a31)
    {
        var x0 = Avx.LoadVector256(lanes);
        var x1 = Avx.LoadVector256(lanes + 32);
        var b = Avx2.BroadcastScalarToVector256(c).AsByte();
        a00 = AvxVnni.MultiplyWideningAndAdd(a00, b, x0); a01 = AvxVnni.MultiplyWideningAndAdd(a01, b, x1);
        b = Avx2.BroadcastScalarToVector256(c + s1).AsByte();
        a10 = AvxVnni.MultiplyWideningAndAdd(a10, b, x0); a11 = AvxVnni.MultiplyWideningAndAdd(a11, b, x1);
        b = Avx2.BroadcastScalarToVector256(c + 2 * s1).AsByte();
        a20 = AvxVnni.MultiplyWideningAndAdd(a20, b, x0); a21 = AvxVnni.MultiplyWideningAndAdd(a21, b, x1);
        b = Avx2.BroadcastScalarToVector256(c + 3 * s1).AsByte();
        a30 = AvxVnni.MultiplyWideningAndAdd(a30, b, x0); a31 = AvxVnni.MultiplyWideningAndAdd(a31, b, x1);
    }

    /// <summary>Four rows against one token vector (8 tokens): consecutive groups go to separate accumulators (16 chains with 32 registers, 8 otherwise).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8(uint* c, uint* end, nint s1, sbyte* lanes, int* sums)
    {
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        if (Avx512F.VL.IsSupported)
        {
            Vector256<int> e0 = default, e1 = default, e2 = default, e3 = default, f0 = default, f1 = default, f2 = default, f3 = default;
            for (; c + 4 <= end; c += 4, lanes += 128)
            {
                Group8(c, s1, lanes, ref a0, ref a1, ref a2, ref a3);
                Group8(c + 1, s1, lanes + 32, ref b0, ref b1, ref b2, ref b3);
                Group8(c + 2, s1, lanes + 64, ref e0, ref e1, ref e2, ref e3);
                Group8(c + 3, s1, lanes + 96, ref f0, ref f1, ref f2, ref f3);
            }
            a0 = Avx2.Add(a0, e0); a1 = Avx2.Add(a1, e1); a2 = Avx2.Add(a2, e2); a3 = Avx2.Add(a3, e3);
            b0 = Avx2.Add(b0, f0); b1 = Avx2.Add(b1, f1); b2 = Avx2.Add(b2, f2); b3 = Avx2.Add(b3, f3);
        }
        for (; c + 2 <= end; c += 2, lanes += 64)
        {
            Group8(c, s1, lanes, ref a0, ref a1, ref a2, ref a3);
            Group8(c + 1, s1, lanes + 32, ref b0, ref b1, ref b2, ref b3);
        }
        if (c < end) Group8(c, s1, lanes, ref a0, ref a1, ref a2, ref a3);
        Avx.Store(sums, Avx2.Add(a0, b0));
        Avx.Store(sums + 16, Avx2.Add(a1, b1));
        Avx.Store(sums + 32, Avx2.Add(a2, b2));
        Avx.Store(sums + 48, Avx2.Add(a3, b3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Group8(uint* c, nint s1, sbyte* lanes, ref Vector256<int> a0, ref Vector256<int> a1, ref Vector256<int> a2, ref Vector256<int> a3)
    {
        var x = Avx.LoadVector256(lanes);
        a0 = AvxVnni.MultiplyWideningAndAdd(a0, Avx2.BroadcastScalarToVector256(c).AsByte(), x);
        a1 = AvxVnni.MultiplyWideningAndAdd(a1, Avx2.BroadcastScalarToVector256(c + s1).AsByte(), x);
        a2 = AvxVnni.MultiplyWideningAndAdd(a2, Avx2.BroadcastScalarToVector256(c + 2 * s1).AsByte(), x);
        a3 = AvxVnni.MultiplyWideningAndAdd(a3, Avx2.BroadcastScalarToVector256(c + 3 * s1).AsByte(), x);
    }

    // ---------------------------------------------------------------- TQ2_0, TQ1_0

    /// <summary>128 codes (four 32-code vectors) times 128 activations, added to acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot128(Vector256<int> acc, Vector256<byte> c0, Vector256<byte> c1, Vector256<byte> c2, Vector256<byte> c3, sbyte* q) =>
        Dp(Dp(Dp(Dp(acc, c0, q), c1, q + 32), c2, q + 64), c3, q + 96);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums)
    {
        var mask = Vector256.Create((byte)3);
        var lo = Avx.LoadVector256(block);
        var hi = Avx.LoadVector256(block + 32);
        var l0 = Avx2.And(lo, mask); var l1 = Avx2Isa.Codes(lo, 2, mask); var l2 = Avx2Isa.Codes(lo, 4, mask); var l3 = Avx2Isa.Codes(lo, 6, mask);
        var h0 = Avx2.And(hi, mask); var h1 = Avx2Isa.Codes(hi, 2, mask); var h2 = Avx2Isa.Codes(hi, 4, mask); var h3 = Avx2Isa.Codes(hi, 6, mask);
        sums[0] = Vector256.Sum(Avx2.Add(Dot128(default, l0, l1, l2, l3, q0), Dot128(default, h0, h1, h2, h3, q0 + 128)));
        sums[1] = Vector256.Sum(Avx2.Add(Dot128(default, l0, l1, l2, l3, q1), Dot128(default, h0, h1, h2, h3, q1 + 128)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ2Dot(byte* block, sbyte* q) => Vector256.Sum(TQ2Dpbusd.Partial(block, q));

    public static bool TQRows8 => true;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void TQ2Rows8(byte* row, nint rowBytes, int blocks, sbyte* q, int* u, float* acc) =>
        Avx2Isa.BlockRows8<TQ2Dpbusd>(row, rowBytes, 66, 64, 256, blocks, q, u, acc);

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void TQ1Rows8(byte* row, nint rowBytes, int blocks, sbyte* lanes, int* u, float* acc) =>
        Avx2Isa.BlockRows8<Avx2Isa.TQ1LanesRows<DpbusdDot>>(row, rowBytes, 54, 52, TernaryKernels.TQ1LaneBytes, blocks, lanes, u, acc);

    /// <summary><see cref="TQ2Dot"/> left in lanes for <see cref="Avx2Isa.BlockRows8{TP}"/>.</summary>
    private struct TQ2Dpbusd : Avx2Isa.IBlockPartial
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Partial(byte* block, sbyte* q)
        {
            var mask = Vector256.Create((byte)3);
            var lo = Avx.LoadVector256(block);
            var hi = Avx.LoadVector256(block + 32);
            return Avx2.Add(
                Dot128(default, Avx2.And(lo, mask), Avx2Isa.Codes(lo, 2, mask), Avx2Isa.Codes(lo, 4, mask), Avx2Isa.Codes(lo, 6, mask), q),
                Dot128(default, Avx2.And(hi, mask), Avx2Isa.Codes(hi, 2, mask), Avx2Isa.Codes(hi, 4, mask), Avx2Isa.Codes(hi, 6, mask), q + 128));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CodesDot256(byte* codes, sbyte* q) =>
        Vector256.Sum(Avx2.Add(
            Dot128(default, Avx.LoadVector256(codes), Avx.LoadVector256(codes + 32), Avx.LoadVector256(codes + 64), Avx.LoadVector256(codes + 96), q),
            Dot128(default, Avx.LoadVector256(codes + 128), Avx.LoadVector256(codes + 160), Avx.LoadVector256(codes + 192), Avx.LoadVector256(codes + 224), q + 128)));

    // ---------------------------------------------------------------- Q8_0 rows

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks) => Avx2Isa.Q8Dot<DpbusdQ8>(w, wd, xq, xd, xs, blocks);

    public static bool Q8Tiles => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q8Dot4(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int k, int last, float* y) =>
        Avx2Isa.Q8Dot4<DpbusdQ8>(w, wd, xq, xd, xs, k, last, y);

    /// <summary>
    /// One <c>vpdpbusd</c> of the biased codes (w + 128, unsigned) with the signed activations: nothing to prepare per
    /// code vector and one instruction per token. Lane bound: 8 steps * 4 * 255 * 128 &lt; 2^21. The group's bias,
    /// 128 * sum(x) per block, comes off once.
    /// </summary>
    private struct DpbusdQ8 : Avx2Isa.IQ8Step
    {
        public static Vector256<byte> Multiplier(Vector256<sbyte> stored) => stored.AsByte();

        public static Vector256<sbyte> Signs(Vector256<sbyte> stored) => default;

        public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> multiplier, Vector256<sbyte> signs, Vector256<sbyte> x) =>
            AvxVnni.MultiplyWideningAndAdd(acc, multiplier, x);

        public static Vector256<int> Unbias(Vector256<int> dots, int* xs) => Avx2.Subtract(dots, Avx.LoadVector256(xs));
    }

    // ---------------------------------------------------------------- float work: the AVX2 code

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfDot(ushort* row, float* x, int k, HalfWidening widening) => Avx2Isa.HalfDot(row, x, k, widening);

    public static bool HalfTiles => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfTile2x4(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1,
        float* acc, ushort* pa, ushort* pb, HalfWidening widening)
    {
        if (Avx512HalfTiles.IsSupported && widening != HalfWidening.Exact) Avx512HalfTiles.Tile2x4(a, b, x0, x1, x2, x3, j0, j1, acc, pa, pb, widening);
        else Avx2Isa.HalfTile2x4(a, b, x0, x1, x2, x3, j0, j1, acc, pa, pb, widening);
    }

    public static bool HalfTiles8 => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfTile2x8(ushort* a, ushort* b, float* x, long xStride, int j0, int j1, float* acc, ushort* pa, ushort* pb,
        HalfWidening widening)
    {
        if (Avx512HalfTiles.IsSupported && widening != HalfWidening.Exact) Avx512HalfTiles.Tile2x8(a, b, x, xStride, j0, j1, acc, pa, pb, widening);
        else Avx2Isa.HalfTile2x8(a, b, x, xStride, j0, j1, acc, pa, pb, widening);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening) =>
        Avx2Isa.HalfDotTokens(row, x, xStride, tokens, k, y, widening);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void QuantizeRow(float* x, sbyte* q, int k, float s) => Avx2Isa.QuantizeRow(x, q, k, s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n) => Avx2Isa.Dot(a, b, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float alpha, float* x, float* y, int n) => Avx2Isa.Axpy(alpha, x, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyHalf(float alpha, ushort* x, float* y, int n) => Avx2Isa.AxpyHalf(alpha, x, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8KvDot(float* x, byte* blocks, int n) => Avx2Isa.Q8KvDot(x, blocks, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n) => Avx2Isa.AxpyQ8Kv(alpha, blocks, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots) =>
        Avx2Isa.HalfDotHeads(q, qStride, heads, row, n, dots);

    public static bool AttentionTiles => true;

    public static void ValueTile(float* weights, float* values, int hd, int n, float* output, int outStride) =>
        Avx2Isa.ValueTile(weights, values, hd, n, output, outStride);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FloatDotHeads(float* q, int qStride, int heads, float* row, int n, float* dots) =>
        Avx2Isa.FloatDotHeads(q, qStride, heads, row, n, dots);

    public static void FloatDotHeads2(float* q, int qStride, int heads, float* row0, float* row1, int n, float* dots0, float* dots1) =>
        Avx2Isa.FloatDotHeads2(q, qStride, heads, row0, row1, n, dots0, dots1);

    public static bool AttentionPairs => true;

    public static void HalfDotHeads2(float* q, int qStride, int heads, ushort* row0, ushort* row1, int n, float* dots0, float* dots1) =>
        Avx2Isa.HalfDotHeads2(q, qStride, heads, row0, row1, n, dots0, dots1);

    public static void AttendValues(KvCacheType type, float* weights, int wStride, int heads, byte* values, int stride, int n, int hd, float* output, int outStride) =>
        Avx2Isa.AttendValues(type, weights, wStride, heads, values, stride, n, hd, output, outStride);

    public static void WidenHalves(ushort* x, float* y, int n) => Avx2Isa.WidenHalves(x, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyFloatHeads(float* alpha, float* x, float* y, int yStride, int heads, int n) =>
        Avx2Isa.AxpyFloatHeads(alpha, x, y, yStride, heads, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n) =>
        Avx2Isa.AxpyHalfHeads(alpha, x, y, yStride, heads, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots) =>
        Avx2Isa.Q8KvDotHeads(q, qStride, heads, blocks, n, dots);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n) =>
        Avx2Isa.AxpyQ8KvHeads(alpha, blocks, y, yStride, heads, n);
}
