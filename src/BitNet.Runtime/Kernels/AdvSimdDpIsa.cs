using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// arm64 with the ARMv8.2 dot-product extension (<c>sdot</c>: 16 int8 products into 4 int32 lanes per instruction):
/// Apple M1 and later, Cortex-A76+ (Raspberry Pi 5), Neoverse N1+ (Graviton2+, Ampere Altra), Snapdragon X. The
/// ternary and Q8_0 dot products use SDOT; everything else is the plain <see cref="AdvSimdIsa"/> code.
/// <para>
/// Single-token I2_S (the decode GEMV) avoids shifting codes into place: <c>w &amp; 0x30</c> and <c>w &amp; 0x0C</c>
/// are the codes times 16 and times 4, still valid signed bytes (at most 48), so they go to accumulators that are
/// scaled back once per row (their lane sums are exact multiples of 16 and 4). Per 128 weights: 2 weight loads,
/// 8 activation loads, 2 <c>ushr</c> + 6 <c>and</c>, 8 <c>sdot</c> = 26 instructions, against about 32 for bitnet.cpp's
/// NEON I2_S and 38 for llama.cpp's TQ2_0 dotprod kernels (both from reading their source), with eight independent
/// accumulators so the SDOT latency chain never binds.
/// </para>
/// Accumulator bound: one SDOT adds at most 4 * 48 * 128 = 24576 to a lane (hostile code 3, activation -128); a lane
/// receives one per block, so int32 cannot overflow for any K below 87,000 blocks.
/// </summary>
internal unsafe struct AdvSimdDpIsa : IKernelIsa
{
    public static string Name => "AdvSimd+Dp";

    public static bool IsSupported => AdvSimd.Arm64.IsSupported && Dp.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sdot(Vector128<int> acc, Vector128<byte> codes, sbyte* q) =>
        Dp.DotProduct(acc, codes.AsSByte(), AdvSimd.LoadVector128(q));

    /// <summary>128 weights as eight code vectors in weight order, into two accumulators (alternating).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sdot128(ref Vector128<int> a, ref Vector128<int> b, Vector128<sbyte> c0, Vector128<sbyte> c1, Vector128<sbyte> c2,
        Vector128<sbyte> c3, Vector128<sbyte> c4, Vector128<sbyte> c5, Vector128<sbyte> c6, Vector128<sbyte> c7, sbyte* q)
    {
        a = Dp.DotProduct(a, c0, AdvSimd.LoadVector128(q)); b = Dp.DotProduct(b, c1, AdvSimd.LoadVector128(q + 16));
        a = Dp.DotProduct(a, c2, AdvSimd.LoadVector128(q + 32)); b = Dp.DotProduct(b, c3, AdvSimd.LoadVector128(q + 48));
        a = Dp.DotProduct(a, c4, AdvSimd.LoadVector128(q + 64)); b = Dp.DotProduct(b, c5, AdvSimd.LoadVector128(q + 80));
        a = Dp.DotProduct(a, c6, AdvSimd.LoadVector128(q + 96)); b = Dp.DotProduct(b, c7, AdvSimd.LoadVector128(q + 112));
    }

    // ---------------------------------------------------------------- I2_S

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int I2SDot(byte* row, sbyte* q, int blocks)
    {
        var m30 = Vector128.Create((byte)0x30);
        var m0C = Vector128.Create((byte)0x0C);
        var m03 = Vector128.Create((byte)0x03);
        Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int b = 0; b < blocks; b++)
        {
            // lo holds w[0..16), w[32..48), w[64..80), w[96..112) in bits 7:6, 5:4, 3:2, 1:0; hi the next 16 of each.
            var lo = AdvSimd.LoadVector128(row + b * 32);
            var hi = AdvSimd.LoadVector128(row + b * 32 + 16);
            sbyte* x = q + b * 128;
            a0 = Sdot(a0, AdvSimd.ShiftRightLogical(lo, 6), x);       // x1
            a1 = Sdot(a1, AdvSimd.ShiftRightLogical(hi, 6), x + 16);  // x1
            a2 = Sdot(a2, AdvSimd.And(lo, m30), x + 32);              // x16
            a3 = Sdot(a3, AdvSimd.And(hi, m30), x + 48);              // x16
            a4 = Sdot(a4, AdvSimd.And(lo, m0C), x + 64);              // x4
            a5 = Sdot(a5, AdvSimd.And(hi, m0C), x + 80);              // x4
            a6 = Sdot(a6, AdvSimd.And(lo, m03), x + 96);              // x1
            a7 = Sdot(a7, AdvSimd.And(hi, m03), x + 112);             // x1
        }
        int ones = Vector128.Sum(AdvSimd.Add(AdvSimd.Add(a0, a1), AdvSimd.Add(a6, a7)));
        int fours = Vector128.Sum(AdvSimd.Add(a4, a5));
        int sixteens = Vector128.Sum(AdvSimd.Add(a2, a3));
        return ones + (fours >> 2) + (sixteens >> 4);
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
        // Codes unpacked once per block (12 ops) and used for four tokens: 8 loads + 8 sdot per token and block.
        Vector128<int> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        for (int blk = 0; blk < blocks; blk++)
        {
            AdvSimdIsa.UnpackI2S(row + blk * 32, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
            sbyte* qb = q + blk * 128;
            Sdot128(ref a0, ref b0, c0, c1, c2, c3, c4, c5, c6, c7, qb);
            Sdot128(ref a1, ref b1, c0, c1, c2, c3, c4, c5, c6, c7, qb + k);
            Sdot128(ref a2, ref b2, c0, c1, c2, c3, c4, c5, c6, c7, qb + 2 * k);
            Sdot128(ref a3, ref b3, c0, c1, c2, c3, c4, c5, c6, c7, qb + 3 * k);
        }
        sums[0] = Vector128.Sum(AdvSimd.Add(a0, b0));
        sums[1] = Vector128.Sum(AdvSimd.Add(a1, b1));
        sums[2] = Vector128.Sum(AdvSimd.Add(a2, b2));
        sums[3] = Vector128.Sum(AdvSimd.Add(a3, b3));
    }

    // ---------------------------------------------------------------- TQ2_0, TQ1_0

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ2Dot(byte* block, sbyte* q)
    {
        Vector128<int> a = default, b = default;
        AdvSimdIsa.UnpackTQ2Half(block, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
        Sdot128(ref a, ref b, c0, c1, c2, c3, c4, c5, c6, c7, q);
        AdvSimdIsa.UnpackTQ2Half(block + 32, out c0, out c1, out c2, out c3, out c4, out c5, out c6, out c7);
        Sdot128(ref a, ref b, c0, c1, c2, c3, c4, c5, c6, c7, q + 128);
        return Vector128.Sum(AdvSimd.Add(a, b));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TQ2Dot2(byte* block, sbyte* q0, sbyte* q1, int* sums)
    {
        Vector128<int> a0 = default, b0 = default, a1 = default, b1 = default;
        for (int half = 0; half < 2; half++)
        {
            AdvSimdIsa.UnpackTQ2Half(block + half * 32, out var c0, out var c1, out var c2, out var c3, out var c4, out var c5, out var c6, out var c7);
            Sdot128(ref a0, ref b0, c0, c1, c2, c3, c4, c5, c6, c7, q0 + half * 128);
            Sdot128(ref a1, ref b1, c0, c1, c2, c3, c4, c5, c6, c7, q1 + half * 128);
        }
        sums[0] = Vector128.Sum(AdvSimd.Add(a0, b0));
        sums[1] = Vector128.Sum(AdvSimd.Add(a1, b1));
    }

    public static bool TQ1Lanes => true;

    /// <summary><see cref="AdvSimdIsa.TQ1LanesDot"/> with SDOT into int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TQ1LanesDot(byte* block, sbyte* lanes) => AdvSimdIsa.TQ1LanesDot<SdotLanes>(block, lanes);

    private struct SdotLanes : AdvSimdIsa.ILaneDot
    {
        public static Vector128<int> Accumulate(Vector128<int> acc, Vector128<sbyte> digits, sbyte* q) => Dp.DotProduct(acc, digits, AdvSimd.LoadVector128(q));

        public static int Total(Vector128<int> a, Vector128<int> b) => Vector128.Sum(AdvSimd.Add(a, b));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CodesDot256(byte* codes, sbyte* q)
    {
        Vector128<int> a = default, b = default;
        for (int i = 0; i < 256; i += 32)
        {
            a = Sdot(a, AdvSimd.LoadVector128(codes + i), q + i);
            b = Sdot(b, AdvSimd.LoadVector128(codes + i + 16), q + i + 16);
        }
        return Vector128.Sum(AdvSimd.Add(a, b));
    }

    // ---------------------------------------------------------------- Q8_0 rows

    /// <summary>Block-interleaved codes (<see cref="Q8RowMatrix"/>, the bias flipped back on load): sdot leaves blocks 0..3 (low halves) and 4..7 (high) in lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks)
    {
        var acc = Vector128<float>.Zero;
        int groups = blocks / Q8RowMatrix.Group;
        for (int g = 0; g < groups; g++)
        {
            sbyte* wg = w + g * 256, xg = xq + g * 256;
            Vector128<int> lo = default, hi = default;
            for (int e = 0; e < 256; e += 32)
            {
                lo = Dp.DotProduct(lo, AdvSimdIsa.Weights(wg + e), AdvSimd.LoadVector128(xg + e));
                hi = Dp.DotProduct(hi, AdvSimdIsa.Weights(wg + e + 16), AdvSimd.LoadVector128(xg + e + 16));
            }
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(lo),
                AdvSimd.Multiply(AdvSimd.LoadVector128(wd + g * 8), AdvSimd.LoadVector128(xd + g * 8)));
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(hi),
                AdvSimd.Multiply(AdvSimd.LoadVector128(wd + g * 8 + 4), AdvSimd.LoadVector128(xd + g * 8 + 4)));
        }
        for (int b = groups * Q8RowMatrix.Group; b < blocks; b++)
        {
            var isum = Dp.DotProduct(Vector128<int>.Zero, AdvSimdIsa.Weights(w + b * 32), AdvSimd.LoadVector128(xq + b * 32));
            isum = Dp.DotProduct(isum, AdvSimdIsa.Weights(w + b * 32 + 16), AdvSimd.LoadVector128(xq + b * 32 + 16));
            acc = AdvSimd.FusedMultiplyAdd(acc, AdvSimd.ConvertToSingle(isum), Vector128.Create(wd[b] * xd[b]));
        }
        return Vector128.Sum(acc);
    }

    // ---------------------------------------------------------------- the rest: plain AdvSimd

    public static float HalfDot(ushort* row, float* x, int k, HalfWidening widening) => AdvSimdIsa.HalfDot(row, x, k, widening);

    public static void HalfDotTokens(ushort* row, float* x, int xStride, int tokens, int k, float* y, HalfWidening widening) =>
        AdvSimdIsa.HalfDotTokens(row, x, xStride, tokens, k, y, widening);

    public static void QuantizeRow(float* x, sbyte* q, int k, float s) => AdvSimdIsa.QuantizeRow(x, q, k, s);

    public static float Dot(float* a, float* b, int n) => AdvSimdIsa.Dot(a, b, n);

    public static void Axpy(float alpha, float* x, float* y, int n) => AdvSimdIsa.Axpy(alpha, x, y, n);

    public static void AxpyHalf(float alpha, ushort* x, float* y, int n) => AdvSimdIsa.AxpyHalf(alpha, x, y, n);

    public static float Q8KvDot(float* x, byte* blocks, int n) => AdvSimdIsa.Q8KvDot(x, blocks, n);

    public static void AxpyQ8Kv(float alpha, byte* blocks, float* y, int n) => AdvSimdIsa.AxpyQ8Kv(alpha, blocks, y, n);

    public static void HalfDotHeads(float* q, int qStride, int heads, ushort* row, int n, float* dots) =>
        AdvSimdIsa.HalfDotHeads(q, qStride, heads, row, n, dots);

    public static bool AttentionTiles => true;

    public static void ValueTile(float* weights, float* values, int hd, int n, float* output, int outStride) =>
        AdvSimdIsa.ValueTile(weights, values, hd, n, output, outStride);

    public static void FloatDotHeads(float* q, int qStride, int heads, float* row, int n, float* dots) =>
        AdvSimdIsa.FloatDotHeads(q, qStride, heads, row, n, dots);

    public static void AxpyFloatHeads(float* alpha, float* x, float* y, int yStride, int heads, int n) =>
        AdvSimdIsa.AxpyFloatHeads(alpha, x, y, yStride, heads, n);

    public static void AxpyHalfHeads(float* alpha, ushort* x, float* y, int yStride, int heads, int n) =>
        AdvSimdIsa.AxpyHalfHeads(alpha, x, y, yStride, heads, n);

    public static void Q8KvDotHeads(float* q, int qStride, int heads, byte* blocks, int n, float* dots) =>
        AdvSimdIsa.Q8KvDotHeads(q, qStride, heads, blocks, n, dots);

    public static void AxpyQ8KvHeads(float* alpha, byte* blocks, float* y, int yStride, int heads, int n) =>
        AdvSimdIsa.AxpyQ8KvHeads(alpha, blocks, y, yStride, heads, n);
}
