using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// arm64 NEON (AdvSimd) primitives without the dot-product extension: Cortex-A72/A53 (Raspberry Pi 4/3), older
/// Graviton1-class cores. Ternary codes (0..3) times int8 activations with widening multiply-accumulates into int16
/// (<c>smlal</c>/<c>smlal2</c>), widened to int32 with a pairwise add (<c>sadalp</c>).
/// Per 128 weights (I2_S, one token): 2 weight loads, 8 activation loads, 12 unpack ops (6 <c>ushr</c>, 6 <c>and</c>),
/// 16 <c>smlal</c>/<c>smlal2</c>, and 2 <c>sadalp</c> per 8 blocks: 38.25 instructions.
/// Accumulator bound: each code vector adds two products of at most 3 * 128 = 384 per int16 lane; a block's eight
/// vectors go to two accumulators (four each: 8 products, 3072 per lane), widened every 8 blocks: 24576 &lt; 32767,
/// even for hostile code 3 with all-(-128) activations.
/// The F16 head widens halves with integer operations (no .NET API emits <c>fcvtl</c> from halves), exactly for every
/// bit pattern, as the AVX2 variant does.
/// </summary>
internal unsafe partial struct AdvSimdIsa : IKernelIsa
{
    public static string Name => "AdvSimd";

    public static bool IsSupported => AdvSimd.Arm64.IsSupported;

    // ---------------------------------------------------------------- unpacking (shared with AdvSimdDpIsa)

    /// <summary>
    /// One I2_S block's 128 codes as eight vectors in weight order (c0 = w[0..16), c1 = w[16..32), ...): byte i of the
    /// block holds w[i] in bits 7:6, w[32+i] in 5:4, w[64+i] in 3:2, w[96+i] in 1:0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void UnpackI2S(byte* p, out Vector128<sbyte> c0, out Vector128<sbyte> c1, out Vector128<sbyte> c2, out Vector128<sbyte> c3,
        out Vector128<sbyte> c4, out Vector128<sbyte> c5, out Vector128<sbyte> c6, out Vector128<sbyte> c7)
    {
        var m = Vector128.Create((byte)3);
        var lo = AdvSimd.LoadVector128(p);
        var hi = AdvSimd.LoadVector128(p + 16);
        c0 = AdvSimd.ShiftRightLogical(lo, 6).AsSByte();
        c1 = AdvSimd.ShiftRightLogical(hi, 6).AsSByte();
        c2 = AdvSimd.And(AdvSimd.ShiftRightLogical(lo, 4), m).AsSByte();
        c3 = AdvSimd.And(AdvSimd.ShiftRightLogical(hi, 4), m).AsSByte();
        c4 = AdvSimd.And(AdvSimd.ShiftRightLogical(lo, 2), m).AsSByte();
        c5 = AdvSimd.And(AdvSimd.ShiftRightLogical(hi, 2), m).AsSByte();
        c6 = AdvSimd.And(lo, m).AsSByte();
        c7 = AdvSimd.And(hi, m).AsSByte();
    }

    /// <summary>
    /// One half of a TQ2_0 block (32 code bytes, 128 weights) in weight order: byte m holds w[m] in bits 1:0, w[32+m] in
    /// 3:2, w[64+m] in 5:4, w[96+m] in 7:6.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void UnpackTQ2Half(byte* p, out Vector128<sbyte> c0, out Vector128<sbyte> c1, out Vector128<sbyte> c2, out Vector128<sbyte> c3,
        out Vector128<sbyte> c4, out Vector128<sbyte> c5, out Vector128<sbyte> c6, out Vector128<sbyte> c7)
    {
        var m = Vector128.Create((byte)3);
        var lo = AdvSimd.LoadVector128(p);
        var hi = AdvSimd.LoadVector128(p + 16);
        c0 = AdvSimd.And(lo, m).AsSByte();
        c1 = AdvSimd.And(hi, m).AsSByte();
        c2 = AdvSimd.And(AdvSimd.ShiftRightLogical(lo, 2), m).AsSByte();
        c3 = AdvSimd.And(AdvSimd.ShiftRightLogical(hi, 2), m).AsSByte();
        c4 = AdvSimd.And(AdvSimd.ShiftRightLogical(lo, 4), m).AsSByte();
        c5 = AdvSimd.And(AdvSimd.ShiftRightLogical(hi, 4), m).AsSByte();
        c6 = AdvSimd.ShiftRightLogical(lo, 6).AsSByte();
        c7 = AdvSimd.ShiftRightLogical(hi, 6).AsSByte();
    }

    /// <summary>acc += codes . q over 16 weights, into 8 int16 lanes (two products per lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Mac(Vector128<short> acc, Vector128<sbyte> c, sbyte* q)
    {
        var x = AdvSimd.LoadVector128(q);
        acc = AdvSimd.MultiplyWideningLowerAndAdd(acc, c.GetLower(), x.GetLower());
        return AdvSimd.MultiplyWideningUpperAndAdd(acc, c, x);
    }

    /// <summary>128 weights in eight code vectors against q: even vectors into <paramref name="a"/>, odd into <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Mac128(ref Vector128<short> a, ref Vector128<short> b, Vector128<sbyte> c0, Vector128<sbyte> c1, Vector128<sbyte> c2,
        Vector128<sbyte> c3, Vector128<sbyte> c4, Vector128<sbyte> c5, Vector128<sbyte> c6, Vector128<sbyte> c7, sbyte* q)
    {
        a = Mac(a, c0, q); b = Mac(b, c1, q + 16);
        a = Mac(a, c2, q + 32); b = Mac(b, c3, q + 48);
        a = Mac(a, c4, q + 64); b = Mac(b, c5, q + 80);
        a = Mac(a, c6, q + 96); b = Mac(b, c7, q + 112);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Widen(Vector128<int> acc, Vector128<short> a, Vector128<short> b) =>
        AdvSimd.AddPairwiseWideningAndAdd(AdvSimd.AddPairwiseWideningAndAdd(acc, a), b);

    // ---------------------------------------------------------------- I2_S

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int I2SDot(byte* row, sbyte* q, int blocks)
    {
        var acc = Vector128<int>.Zero;
        for (int b0 = 0; b0 < blocks; b0 += 8)
        {
            int b1 = Math.Min(blocks, b0 + 8);
            Vector128<short> a = default, b = default;
            for (int blk = b0; blk < b1; blk++)
            {
                UnpackI2S(row + blk * 32, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
                Mac128(ref a, ref b, c0, c1, c2, c3, c4, c5, c6, c7, q + blk * 128);
            }
            acc = Widen(acc, a, b);
        }
        return Vector128.Sum(acc);
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
        Vector128<int> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int b0 = 0; b0 < blocks; b0 += 8)
        {
            int b1 = Math.Min(blocks, b0 + 8);
            Vector128<short> a0 = default, e0 = default, a1 = default, e1 = default, a2 = default, e2 = default, a3 = default, e3 = default;
            for (int blk = b0; blk < b1; blk++)
            {
                UnpackI2S(row + blk * 32, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
                sbyte* qb = q + blk * 128;
                Mac128(ref a0, ref e0, c0, c1, c2, c3, c4, c5, c6, c7, qb);
                Mac128(ref a1, ref e1, c0, c1, c2, c3, c4, c5, c6, c7, qb + k);
                Mac128(ref a2, ref e2, c0, c1, c2, c3, c4, c5, c6, c7, qb + 2 * k);
                Mac128(ref a3, ref e3, c0, c1, c2, c3, c4, c5, c6, c7, qb + 3 * k);
            }
            s0 = Widen(s0, a0, e0);
            s1 = Widen(s1, a1, e1);
            s2 = Widen(s2, a2, e2);
            s3 = Widen(s3, a3, e3);
        }
        sums[0] = Vector128.Sum(s0);
        sums[1] = Vector128.Sum(s1);
        sums[2] = Vector128.Sum(s2);
        sums[3] = Vector128.Sum(s3);
    }

    // ---------------------------------------------------------------- TQ2_0, TQ1_0

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ2Dot(byte* block, sbyte* q)
    {
        // Two halves of 128 weights: 16 products per int16 lane per accumulator, 6144 at most.
        Vector128<short> a = default, b = default;
        UnpackTQ2Half(block, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
        Mac128(ref a, ref b, c0, c1, c2, c3, c4, c5, c6, c7, q);
        UnpackTQ2Half(block + 32, out c0, out c1, out c2, out c3, out c4, out c5, out c6, out c7);
        Mac128(ref a, ref b, c0, c1, c2, c3, c4, c5, c6, c7, q + 128);
        return Vector128.Sum(Widen(Vector128<int>.Zero, a, b));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums)
    {
        Vector128<short> a0 = default, b0 = default, a1 = default, b1 = default;
        for (int half = 0; half < 2; half++)
        {
            UnpackTQ2Half(block + half * 32, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
            Mac128(ref a0, ref b0, c0, c1, c2, c3, c4, c5, c6, c7, q0 + half * 128);
            Mac128(ref a1, ref b1, c0, c1, c2, c3, c4, c5, c6, c7, q1 + half * 128);
        }
        sums[0] = Vector128.Sum(Widen(Vector128<int>.Zero, a0, b0));
        sums[1] = Vector128.Sum(Widen(Vector128<int>.Zero, a1, b1));
    }

    public static bool TQ1Lanes => true;

    /// <summary>
    /// TQ1_0 decode against the digit lanes (<see cref="TernaryKernels.TQ1DigitLanes"/>): four 16-byte trit vectors
    /// (bytes 0..31 and 22..53), per digit each turned into its digit and multiplied into int16 lanes, then t = 3t. A
    /// lane takes 20 products of at most 2 * 128 per block: 5120.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ1LanesDot(byte* block, sbyte* lanes) => TQ1LanesDot<MlalDot>(block, lanes);

    /// <summary>Products of digits and activations added into lanes, as one row keeps them (int16 pairs, or SDOT's int32).</summary>
    internal interface ILaneDot
    {
        static abstract Vector128<int> Accumulate(Vector128<int> acc, Vector128<sbyte> digits, sbyte* q);
        static abstract int Total(Vector128<int> a, Vector128<int> b);
    }

    private struct MlalDot : ILaneDot
    {
        public static Vector128<int> Accumulate(Vector128<int> acc, Vector128<sbyte> digits, sbyte* q) => Mac(acc.AsInt16(), digits, q).AsInt32();

        public static int Total(Vector128<int> a, Vector128<int> b) => Vector128.Sum(Widen(Vector128<int>.Zero, a.AsInt16(), b.AsInt16()));
    }

    /// <summary>The loop of <see cref="TQ1LanesDot"/> over a row's product: four trit vectors per digit, then t = 3t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int TQ1LanesDot<TD>(byte* block, sbyte* lanes) where TD : struct, ILaneDot
    {
        Vector128<int> a = default, b = default;
        var t0 = AdvSimd.LoadVector128(block);
        var t1 = AdvSimd.LoadVector128(block + 16);
        var t2 = AdvSimd.LoadVector128(block + 22);
        var t3 = AdvSimd.LoadVector128(block + 38);
        for (int n = 0; n < 5; n++, lanes += 64)
        {
            a = TD.Accumulate(a, TQ1Digit(t0), lanes);
            b = TD.Accumulate(b, TQ1Digit(t1), lanes + 16);
            a = TD.Accumulate(a, TQ1Digit(t2), lanes + 32);
            b = TD.Accumulate(b, TQ1Digit(t3), lanes + 48);
            t0 = AdvSimd.Add(AdvSimd.Add(t0, t0), t0);
            t1 = AdvSimd.Add(AdvSimd.Add(t1, t1), t1);
            t2 = AdvSimd.Add(AdvSimd.Add(t2, t2), t2);
            t3 = AdvSimd.Add(AdvSimd.Add(t3, t3), t3);
        }
        return TD.Total(a, b);
    }

    /// <summary>The leading base-3 digit of fixed-point trit bytes: 0 minus the masks of t &gt;= 86 and t &gt;= 171.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<sbyte> TQ1Digit(Vector128<byte> t) =>
        AdvSimd.Subtract(AdvSimd.Subtract(Vector128<byte>.Zero, AdvSimd.CompareGreaterThanOrEqual(t, Vector128.Create((byte)86))),
            AdvSimd.CompareGreaterThanOrEqual(t, Vector128.Create((byte)171))).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CodesDot256(byte* codes, sbyte* q)
    {
        Vector128<short> a = default, b = default;
        for (int i = 0; i < 256; i += 32)
        {
            a = Mac(a, AdvSimd.LoadVector128(codes + i).AsSByte(), q + i);
            b = Mac(b, AdvSimd.LoadVector128(codes + i + 16).AsSByte(), q + i + 16);
        }
        return Vector128.Sum(Widen(Vector128<int>.Zero, a, b));
    }

    // ---------------------------------------------------------------- F16 rows

    /// <summary>Four halves (zero-extended to 32 bits) to four floats, exactly: see <see cref="Avx2Isa.Widen"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Widen(Vector128<uint> h)
    {
        var magnitude = AdvSimd.ShiftLeftLogical(AdvSimd.And(h, Vector128.Create(0x7FFFu)), 13);
        var f = AdvSimd.Multiply(magnitude.AsSingle(), Vector128.Create(5.192297e33f)); // 2^112
        var infNan = AdvSimd.CompareGreaterThan(magnitude.AsInt32(), Vector128.Create(0x0F7FFFFF)); // half exponent 31
        var bits = AdvSimd.Or(f.AsInt32(), AdvSimd.And(infNan, Vector128.Create(0x7F800000)));
        var sign = AdvSimd.ShiftLeftLogical(AdvSimd.And(h, Vector128.Create(0x8000u)), 16);
        return AdvSimd.Or(bits, sign.AsInt32()).AsSingle();
    }

    /// <summary>Four finite halves (sign-extended to 32 bits) to floats: see <see cref="Avx2Isa.WidenFinite"/> (4 instructions).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> WidenFinite(Vector128<int> s)
    {
        var bits = AdvSimd.And(AdvSimd.ShiftLeftLogical(s.AsUInt32(), 13), Vector128.Create(0x8FFFE000u));
        return AdvSimd.Multiply(bits.AsSingle(), Vector128.Create(5.192297e33f)); // 2^112
    }

    /// <summary>Four halves (sign-extended) to floats by rebiasing the exponent: see <see cref="Avx2Isa.WidenRebias"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> WidenRebias(Vector128<int> s)
    {
        var bits = AdvSimd.And(AdvSimd.ShiftLeftLogical(s.AsUInt32(), 13), Vector128.Create(0x8FFFE000u));
        return AdvSimd.Add(bits, Vector128.Create(0x38000000u)).AsSingle();
    }

    private interface IWidening
    {
        static abstract HalfWidening Mode { get; }
        static abstract void Widen8(ushort* p, out Vector128<float> lo, out Vector128<float> hi);
    }

    private struct Rebias : IWidening
    {
        public static HalfWidening Mode => HalfWidening.Rebias;
        public static void Widen8(ushort* p, out Vector128<float> lo, out Vector128<float> hi)
        {
            var h = AdvSimd.LoadVector128((short*)p);
            lo = WidenRebias(AdvSimd.SignExtendWideningLower(h.GetLower()));
            hi = WidenRebias(AdvSimd.SignExtendWideningUpper(h));
        }
    }

    private struct Exact : IWidening
    {
        public static HalfWidening Mode => HalfWidening.Exact;
        public static void Widen8(ushort* p, out Vector128<float> lo, out Vector128<float> hi)
        {
            var h = AdvSimd.LoadVector128(p);
            lo = Widen(AdvSimd.ZeroExtendWideningLower(h.GetLower()));
            hi = Widen(AdvSimd.ZeroExtendWideningUpper(h));
        }
    }

    private struct Finite : IWidening
    {
        public static HalfWidening Mode => HalfWidening.Finite;
        public static void Widen8(ushort* p, out Vector128<float> lo, out Vector128<float> hi)
        {
            var h = AdvSimd.LoadVector128((short*)p);
            lo = WidenFinite(AdvSimd.SignExtendWideningLower(h.GetLower()));
            hi = WidenFinite(AdvSimd.SignExtendWideningUpper(h));
        }
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
        // Four accumulators, so the FMA latency chain does not bound the loop (see Avx2Isa.HalfDot).
        Vector128<float> a = default, b = default, c = default, d = default;
        int j = 0;
        for (; j + 16 <= k; j += 16)
        {
            TW.Widen8(row + j, out var lo, out var hi);
            TW.Widen8(row + j + 8, out var lo2, out var hi2);
            a = AdvSimd.FusedMultiplyAdd(a, lo, AdvSimd.LoadVector128(x + j));
            b = AdvSimd.FusedMultiplyAdd(b, hi, AdvSimd.LoadVector128(x + j + 4));
            c = AdvSimd.FusedMultiplyAdd(c, lo2, AdvSimd.LoadVector128(x + j + 8));
            d = AdvSimd.FusedMultiplyAdd(d, hi2, AdvSimd.LoadVector128(x + j + 12));
        }
        for (; j + 8 <= k; j += 8)
        {
            TW.Widen8(row + j, out var lo, out var hi);
            a = AdvSimd.FusedMultiplyAdd(a, lo, AdvSimd.LoadVector128(x + j));
            b = AdvSimd.FusedMultiplyAdd(b, hi, AdvSimd.LoadVector128(x + j + 4));
        }
        float sum = Vector128.Sum(AdvSimd.Add(AdvSimd.Add(a, b), AdvSimd.Add(c, d)));
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
        // Groups of up to four tokens: 8 accumulators + 2 widened vectors fit the 32 registers.
        for (int t = 0; t < tokens; t += 4)
        {
            int n = Math.Min(4, tokens - t);
            if (n == 1)
            {
                y[t] = HalfDot<TW>(row, x + (long)t * xStride, k);
                continue;
            }
            float* x0 = x + (long)t * xStride, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            Vector128<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            for (int j = 0; j < k; j += 8)
            {
                TW.Widen8(row + j, out var lo, out var hi);
                a0 = AdvSimd.FusedMultiplyAdd(a0, lo, AdvSimd.LoadVector128(x0 + j));
                b0 = AdvSimd.FusedMultiplyAdd(b0, hi, AdvSimd.LoadVector128(x0 + j + 4));
                a1 = AdvSimd.FusedMultiplyAdd(a1, lo, AdvSimd.LoadVector128(x1 + j));
                b1 = AdvSimd.FusedMultiplyAdd(b1, hi, AdvSimd.LoadVector128(x1 + j + 4));
                if (n > 2)
                {
                    a2 = AdvSimd.FusedMultiplyAdd(a2, lo, AdvSimd.LoadVector128(x2 + j));
                    b2 = AdvSimd.FusedMultiplyAdd(b2, hi, AdvSimd.LoadVector128(x2 + j + 4));
                }
                if (n > 3)
                {
                    a3 = AdvSimd.FusedMultiplyAdd(a3, lo, AdvSimd.LoadVector128(x3 + j));
                    b3 = AdvSimd.FusedMultiplyAdd(b3, hi, AdvSimd.LoadVector128(x3 + j + 4));
                }
            }
            y[t] = Vector128.Sum(AdvSimd.Add(a0, b0));
            y[t + 1] = Vector128.Sum(AdvSimd.Add(a1, b1));
            if (n > 2) y[t + 2] = Vector128.Sum(AdvSimd.Add(a2, b2));
            if (n > 3) y[t + 3] = Vector128.Sum(AdvSimd.Add(a3, b3));
        }
    }

    // ---------------------------------------------------------------- Q8_0 rows

    /// <summary>16 stored Q8_0 head codes back to signed weights (<see cref="Q8RowMatrix"/> biases them by 128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<sbyte> Weights(sbyte* stored) => AdvSimd.Xor(AdvSimd.LoadVector128(stored), Vector128.Create(unchecked((sbyte)0x80)));

    /// <summary>
    /// Block-interleaved codes (<see cref="Q8RowMatrix"/>, the bias flipped back on load): per group, the low 16 bytes of each 32-byte load belong to
    /// blocks 0..3 and the high 16 to blocks 4..7. smull + sadalp leave pairs of lanes per block ([b0, b0, b1, b1]), so
    /// one pairwise add per group gives a lane per block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks)
    {
        var acc = Vector128<float>.Zero;
        int groups = blocks / Q8RowMatrix.Group;
        for (int g = 0; g < groups; g++)
        {
            sbyte* wg = w + g * 256, xg = xq + g * 256;
            Vector128<int> s01 = default, s23 = default, s45 = default, s67 = default;
            for (int e = 0; e < 256; e += 32)
            {
                var w0 = Weights(wg + e);
                var w1 = Weights(wg + e + 16);
                var x0 = AdvSimd.LoadVector128(xg + e);
                var x1 = AdvSimd.LoadVector128(xg + e + 16);
                // |w|, |x| <= 127: a product fits int16, and sadalp widens each pair into int32.
                s01 = AdvSimd.AddPairwiseWideningAndAdd(s01, AdvSimd.MultiplyWideningLower(w0.GetLower(), x0.GetLower()));
                s23 = AdvSimd.AddPairwiseWideningAndAdd(s23, AdvSimd.MultiplyWideningUpper(w0, x0));
                s45 = AdvSimd.AddPairwiseWideningAndAdd(s45, AdvSimd.MultiplyWideningLower(w1.GetLower(), x1.GetLower()));
                s67 = AdvSimd.AddPairwiseWideningAndAdd(s67, AdvSimd.MultiplyWideningUpper(w1, x1));
            }
            var lo = AdvSimd.Arm64.AddPairwise(s01, s23);   // blocks 0..3
            var hi = AdvSimd.Arm64.AddPairwise(s45, s67);   // blocks 4..7
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(lo),
                AdvSimd.Multiply(AdvSimd.LoadVector128(wd + g * 8), AdvSimd.LoadVector128(xd + g * 8)));
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(hi),
                AdvSimd.Multiply(AdvSimd.LoadVector128(wd + g * 8 + 4), AdvSimd.LoadVector128(xd + g * 8 + 4)));
        }
        for (int b = groups * Q8RowMatrix.Group; b < blocks; b++)
        {
            var w0 = Weights(w + b * 32);
            var w1 = Weights(w + b * 32 + 16);
            var x0 = AdvSimd.LoadVector128(xq + b * 32);
            var x1 = AdvSimd.LoadVector128(xq + b * 32 + 16);
            // Two products per int16 lane: |w|, |x| <= 127, so 2 * 16129 = 32258 fits.
            var p0 = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLower(w0.GetLower(), x0.GetLower()), w0, x0);
            var p1 = AdvSimd.MultiplyWideningUpperAndAdd(AdvSimd.MultiplyWideningLower(w1.GetLower(), x1.GetLower()), w1, x1);
            var isum = AdvSimd.AddPairwiseWideningAndAdd(AdvSimd.AddPairwiseWidening(p0), p1);
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(isum), Vector128.Create(wd[b] * xd[b]));
        }
        return Vector128.Sum(acc);
    }

    // ---------------------------------------------------------------- activations, attention

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void QuantizeRow(float* x, sbyte* q, int k, float s)
    {
        var vs = Vector128.Create(s);
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            // frintn rounds half to even; the saturating narrows (sqxtn) clamp to [-128, 127] exactly.
            var a = Q32(x + i, vs);
            var b = Q32(x + i + 4, vs);
            var c = Q32(x + i + 8, vs);
            var d = Q32(x + i + 12, vs);
            var ab = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(a), b);
            var cd = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(c), d);
            AdvSimd.Store(q + i, AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(ab), cd));
        }
        ScalarIsa.QuantizeRow(x + i, q + i, k - i, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Q32(float* x, Vector128<float> s) =>
        AdvSimd.ConvertToInt32RoundToZero(AdvSimd.RoundToNearest(AdvSimd.Multiply(AdvSimd.LoadVector128(x), s)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        var acc = Vector128<float>.Zero;
        for (; i + 4 <= n; i += 4) acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.LoadVector128(a + i), AdvSimd.LoadVector128(b + i));
        float sum = Vector128.Sum(acc);
        sum += ScalarIsa.Dot(a + i, b + i, n - i);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float alpha, float* x, float* y, int n)
    {
        int i = 0;
        var va = Vector128.Create(alpha);
        for (; i + 4 <= n; i += 4) AdvSimd.Store(y + i, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(y + i), va, AdvSimd.LoadVector128(x + i)));
        ScalarIsa.Axpy(alpha, x + i, y + i, n - i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AxpyHalf(float alpha, ushort* x, float* y, int n)
    {
        int i = 0;
        var va = Vector128.Create(alpha);
        for (; i + 8 <= n; i += 8)
        {
            Exact.Widen8(x + i, out var lo, out var hi);
            AdvSimd.Store(y + i, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(y + i), va, lo));
            AdvSimd.Store(y + i + 4, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(y + i + 4), va, hi));
        }
        ScalarIsa.AxpyHalf(alpha, x + i, y + i, n - i);
    }

    // ---------------------------------------------------------------- Q8_0 KV cache

    /// <summary>Sixteen int8 codes to four float vectors (sxtl, sxtl2 twice, scvtf).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Codes16(sbyte* c, out Vector128<float> v0, out Vector128<float> v1, out Vector128<float> v2, out Vector128<float> v3)
    {
        var s = AdvSimd.LoadVector128(c);
        var lo = AdvSimd.SignExtendWideningLower(s.GetLower());
        var hi = AdvSimd.SignExtendWideningUpper(s);
        v0 = AdvSimd.ConvertToSingle(AdvSimd.SignExtendWideningLower(lo.GetLower()));
        v1 = AdvSimd.ConvertToSingle(AdvSimd.SignExtendWideningUpper(lo));
        v2 = AdvSimd.ConvertToSingle(AdvSimd.SignExtendWideningLower(hi.GetLower()));
        v3 = AdvSimd.ConvertToSingle(AdvSimd.SignExtendWideningUpper(hi));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8KvDot(float* x, byte* blocks, int n)
    {
        int full = n / Q8KvLayout.Block;
        var acc = Vector128<float>.Zero;
        for (int b = 0; b < full; b++)
        {
            var c = (sbyte*)(blocks + b * Q8KvLayout.BlockBytes);
            float* xb = x + b * Q8KvLayout.Block;
            Codes16(c, out var v0, out var v1, out var v2, out var v3);
            var p = AdvSimd.Multiply(AdvSimd.LoadVector128(xb), v0);
            var r = AdvSimd.Multiply(AdvSimd.LoadVector128(xb + 4), v1);
            p = AdvSimd.FusedMultiplyAdd(p, AdvSimd.LoadVector128(xb + 8), v2);
            r = AdvSimd.FusedMultiplyAdd(r, AdvSimd.LoadVector128(xb + 12), v3);
            Codes16(c + 16, out v0, out v1, out v2, out v3);
            p = AdvSimd.FusedMultiplyAdd(p, AdvSimd.LoadVector128(xb + 16), v0);
            r = AdvSimd.FusedMultiplyAdd(r, AdvSimd.LoadVector128(xb + 20), v1);
            p = AdvSimd.FusedMultiplyAdd(p, AdvSimd.LoadVector128(xb + 24), v2);
            r = AdvSimd.FusedMultiplyAdd(r, AdvSimd.LoadVector128(xb + 28), v3);
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.Add(p, r), Vector128.Create(Q8KvLayout.Scale(blocks, b)));
        }
        float sum = Vector128.Sum(acc);
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
            var a = Vector128.Create(alpha * Q8KvLayout.Scale(blocks, b));
            for (int half = 0; half < 2; half++, c += 16, yb += 16)
            {
                Codes16(c, out var v0, out var v1, out var v2, out var v3);
                AdvSimd.Store(yb, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yb), a, v0));
                AdvSimd.Store(yb + 4, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yb + 4), a, v1));
                AdvSimd.Store(yb + 8, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yb + 8), a, v2));
                AdvSimd.Store(yb + 12, AdvSimd.FusedMultiplyAdd(AdvSimd.LoadVector128(yb + 12), a, v3));
            }
        }
        int done = full * Q8KvLayout.Block;
        if (done < n) ScalarIsa.AxpyQ8Kv(alpha, blocks + full * Q8KvLayout.BlockBytes, y + done, n - done);
    }
}
