using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The Q8_0 head rows on x64, over <see cref="Q8RowMatrix"/>'s block-interleaved, biased codes: the eight 32-byte dots
/// of a group of eight blocks leave block j's sum in lane j, then one conversion and one multiply-add by the eight
/// blocks' scales. AVX2 and AVX-VNNI share the loops and differ in the 32-byte step (<see cref="IQ8Step"/>).
/// </summary>
internal unsafe partial struct Avx2Isa
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks) => Q8Dot<MaddubsQ8>(w, wd, xq, xd, xs, blocks);

    public static bool Q8Tiles => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q8Dot4(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int k, int last, float* y) =>
        Q8Dot4<MaddubsQ8>(w, wd, xq, xd, xs, k, last, y);

    /// <summary>
    /// One 32-byte step of a Q8_0 dot: <see cref="Multiplier"/> and <see cref="Signs"/> once per code vector (shared by
    /// every token), then <see cref="Dot"/> per token, four bytes per int32 lane; <see cref="Unbias"/> once per group and
    /// token. (Two methods rather than a tuple: the JIT keeps a tuple of vectors in memory.)
    /// </summary>
    internal interface IQ8Step
    {
        static abstract Vector256<byte> Multiplier(Vector256<sbyte> stored);
        static abstract Vector256<sbyte> Signs(Vector256<sbyte> stored);
        static abstract Vector256<int> Dot(Vector256<int> acc, Vector256<byte> multiplier, Vector256<sbyte> signs, Vector256<sbyte> x);
        static abstract Vector256<int> Unbias(Vector256<int> dots, int* xs);
    }

    /// <summary>
    /// AVX2: the weight back from its bias (one xor), then maddubs of |w| with x carrying w's sign (pairs stay within
    /// int16: 2 * 127 * 127 = 32258) and madd into int32.
    /// </summary>
    private struct MaddubsQ8 : IQ8Step
    {
        public static Vector256<sbyte> Signs(Vector256<sbyte> stored) => Avx2.Xor(stored, Vector256.Create(unchecked((sbyte)0x80)));

        public static Vector256<byte> Multiplier(Vector256<sbyte> stored) => Avx2.Abs(Signs(stored));

        public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> multiplier, Vector256<sbyte> signs, Vector256<sbyte> x) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(multiplier, Avx2.Sign(x, signs)), Vector256.Create((short)1)));

        public static Vector256<int> Unbias(Vector256<int> dots, int* xs) => dots;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q8Step<TS>(Vector256<int> acc, sbyte* w, sbyte* x) where TS : struct, IQ8Step
    {
        var stored = Avx.LoadVector256(w);
        return TS.Dot(acc, TS.Multiplier(stored), TS.Signs(stored), Avx.LoadVector256(x));
    }

    /// <summary>A plain-order tail block's dot in 8 lanes (they sum to the block's dot), with signed weights on every variant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q8TailBlock(sbyte* w, sbyte* x) => Avx.ConvertToVector256Single(Q8Step<MaddubsQ8>(default, w, x));

    /// <summary>One row, one token; the loop both x64 variants share, so they scale and sum in one order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Q8Dot<TS>(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int blocks) where TS : struct, IQ8Step
    {
        Vector256<float> f = default;
        int groups = blocks / Q8RowMatrix.Group;
        for (int g = 0; g < groups; g++)
        {
            sbyte* wg = w + g * 256, xg = xq + g * 256;
            Sse.Prefetch0(wg + Streaming.PrefetchBytes);
            Sse.Prefetch0(wg + Streaming.PrefetchBytes + 64);
            Sse.Prefetch0(wg + Streaming.PrefetchBytes + 128);
            Sse.Prefetch0(wg + Streaming.PrefetchBytes + 192);
            // Two chains per group; groups are independent until the float multiply-add.
            var a = Q8Step<TS>(Q8Step<TS>(Q8Step<TS>(Q8Step<TS>(default, wg, xg), wg + 64, xg + 64), wg + 128, xg + 128), wg + 192, xg + 192);
            var c = Q8Step<TS>(Q8Step<TS>(Q8Step<TS>(Q8Step<TS>(default, wg + 32, xg + 32), wg + 96, xg + 96), wg + 160, xg + 160), wg + 224, xg + 224);
            var scales = Avx.Multiply(Avx.LoadVector256(wd + g * 8), Avx.LoadVector256(xd + g * 8));
            f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TS.Unbias(Avx2.Add(a, c), xs + g * 8)), scales, f);
        }
        for (int b = groups * Q8RowMatrix.Group; b < blocks; b++)
            f = Fma.MultiplyAdd(Q8TailBlock(w + b * 32, xq + b * 32), Vector256.Create(wd[b] * xd[b]), f);
        return Vector256.Sum(f);
    }

    /// <summary>
    /// One row against four tokens: each code vector is loaded and prepared once for all four, and each token keeps two
    /// integer chains (even and odd steps) so the dot's latency does not bind: 12 accumulators and the prepared codes
    /// in the 16 registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Q8Dot4<TS>(sbyte* w, float* wd, sbyte* xq, float* xd, int* xs, int k, int last, float* y) where TS : struct, IQ8Step
    {
        int blocks = k / Q8RowMatrix.Block;
        sbyte* x0 = xq, x1 = xq + Math.Min(1, last) * k, x2 = xq + Math.Min(2, last) * k, x3 = xq + (long)last * k;
        float* d0 = xd, d1 = xd + Math.Min(1, last) * blocks, d2 = xd + Math.Min(2, last) * blocks, d3 = xd + last * blocks;
        int* s0 = xs, s1 = xs + Math.Min(1, last) * blocks, s2 = xs + Math.Min(2, last) * blocks, s3 = xs + last * blocks;
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        int groups = blocks / Q8RowMatrix.Group;
        for (int g = 0; g < groups; g++)
        {
            int o = g * 256;
            Sse.Prefetch0(w + o + Streaming.PrefetchBytes);
            Sse.Prefetch0(w + o + Streaming.PrefetchBytes + 64);
            Sse.Prefetch0(w + o + Streaming.PrefetchBytes + 128);
            Sse.Prefetch0(w + o + Streaming.PrefetchBytes + 192);
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
            for (int e = o; e < o + 256; e += 64)
            {
                var stored = Avx.LoadVector256(w + e);
                var m = TS.Multiplier(stored);
                var sg = TS.Signs(stored);
                a0 = TS.Dot(a0, m, sg, Avx.LoadVector256(x0 + e));
                a1 = TS.Dot(a1, m, sg, Avx.LoadVector256(x1 + e));
                a2 = TS.Dot(a2, m, sg, Avx.LoadVector256(x2 + e));
                a3 = TS.Dot(a3, m, sg, Avx.LoadVector256(x3 + e));
                stored = Avx.LoadVector256(w + e + 32);
                m = TS.Multiplier(stored);
                sg = TS.Signs(stored);
                b0 = TS.Dot(b0, m, sg, Avx.LoadVector256(x0 + e + 32));
                b1 = TS.Dot(b1, m, sg, Avx.LoadVector256(x1 + e + 32));
                b2 = TS.Dot(b2, m, sg, Avx.LoadVector256(x2 + e + 32));
                b3 = TS.Dot(b3, m, sg, Avx.LoadVector256(x3 + e + 32));
            }
            int so = g * 8;
            var ws = Avx.LoadVector256(wd + so);
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TS.Unbias(Avx2.Add(a0, b0), s0 + so)), Avx.Multiply(ws, Avx.LoadVector256(d0 + so)), f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TS.Unbias(Avx2.Add(a1, b1), s1 + so)), Avx.Multiply(ws, Avx.LoadVector256(d1 + so)), f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TS.Unbias(Avx2.Add(a2, b2), s2 + so)), Avx.Multiply(ws, Avx.LoadVector256(d2 + so)), f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(TS.Unbias(Avx2.Add(a3, b3), s3 + so)), Avx.Multiply(ws, Avx.LoadVector256(d3 + so)), f3);
        }
        for (int b = groups * Q8RowMatrix.Group; b < blocks; b++)
        {
            int e = b * 32;
            f0 = Fma.MultiplyAdd(Q8TailBlock(w + e, x0 + e), Vector256.Create(wd[b] * d0[b]), f0);
            f1 = Fma.MultiplyAdd(Q8TailBlock(w + e, x1 + e), Vector256.Create(wd[b] * d1[b]), f1);
            f2 = Fma.MultiplyAdd(Q8TailBlock(w + e, x2 + e), Vector256.Create(wd[b] * d2[b]), f2);
            f3 = Fma.MultiplyAdd(Q8TailBlock(w + e, x3 + e), Vector256.Create(wd[b] * d3[b]), f3);
        }
        y[0] = Vector256.Sum(f0); y[1] = Vector256.Sum(f1); y[2] = Vector256.Sum(f2); y[3] = Vector256.Sum(f3);
    }
}
