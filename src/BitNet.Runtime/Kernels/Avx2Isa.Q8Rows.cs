using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The Q8_0 head rows on x64 (AVX2 and AVX-VNNI share the loops; only the 32-byte integer dot differs), over the
/// block-interleaved codes of <see cref="Q8RowMatrix"/>: eight 32-byte dots per group of eight blocks leave block j's
/// sum in lane j, then one conversion and one multiply-add by the eight blocks' scales.
/// </summary>
internal unsafe partial struct Avx2Isa
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q8Dot(sbyte* w, float* wd, sbyte* xq, float* xd, int blocks) => Q8Dot<MaddubsQ8>(w, wd, xq, xd, blocks);

    public static bool Q8Tiles => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Q8Dot4(sbyte* w, float* wd, sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3, float* d0, float* d1, float* d2, float* d3,
        int blocks, float* y) => Q8Dot4<MaddubsQ8>(w, wd, x0, x1, x2, x3, d0, d1, d2, d3, blocks, y);

    /// <summary>acc plus the integer dot of 32 unsigned |w| with 32 signed x (x carrying w's sign), four bytes per int32 lane.</summary>
    internal interface IQ8Dot { static abstract Vector256<int> Dot(Vector256<int> acc, Vector256<byte> absW, Vector256<sbyte> signedX); }

    /// <summary>maddubs + madd: pairs stay within int16 (|w|, |x| &lt;= 127: 2 * 127 * 127 = 32258).</summary>
    private struct MaddubsQ8 : IQ8Dot
    {
        public static Vector256<int> Dot(Vector256<int> acc, Vector256<byte> absW, Vector256<sbyte> signedX) =>
            Avx2.Add(acc, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, signedX), Vector256.Create((short)1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q8Step<TD>(Vector256<int> acc, sbyte* w, sbyte* x) where TD : struct, IQ8Dot
    {
        var wv = Avx.LoadVector256(w);
        return TD.Dot(acc, Avx2.Abs(wv), Avx2.Sign(Avx.LoadVector256(x), wv));
    }

    /// <summary>One row, one token; the loop both x64 variants share, so they scale and sum in one order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Q8Dot<TD>(sbyte* w, float* wd, sbyte* xq, float* xd, int blocks) where TD : struct, IQ8Dot
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
            var a = Q8Step<TD>(Q8Step<TD>(Q8Step<TD>(Q8Step<TD>(default, wg, xg), wg + 64, xg + 64), wg + 128, xg + 128), wg + 192, xg + 192);
            var c = Q8Step<TD>(Q8Step<TD>(Q8Step<TD>(Q8Step<TD>(default, wg + 32, xg + 32), wg + 96, xg + 96), wg + 160, xg + 160), wg + 224, xg + 224);
            var scales = Avx.Multiply(Avx.LoadVector256(wd + g * 8), Avx.LoadVector256(xd + g * 8));
            f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.Add(a, c)), scales, f);
        }
        for (int b = groups * Q8RowMatrix.Group; b < blocks; b++)
            f = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Q8Step<TD>(default, w + b * 32, xq + b * 32)), Vector256.Create(wd[b] * xd[b]), f);
        return Vector256.Sum(f);
    }

    /// <summary>
    /// One row against four tokens: each 32-byte code vector is loaded and made absolute once for all four. Twelve
    /// accumulators, the codes and their magnitudes: 14 of the 16 registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Q8Dot4<TD>(sbyte* w, float* wd, sbyte* x0, sbyte* x1, sbyte* x2, sbyte* x3, float* d0, float* d1, float* d2, float* d3,
        int blocks, float* y) where TD : struct, IQ8Dot
    {
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        int groups = blocks / Q8RowMatrix.Group;
        for (int g = 0; g < groups; g++)
        {
            int o = g * 256;
            Sse.Prefetch0(w + o + Streaming.PrefetchBytes);
            Sse.Prefetch0(w + o + Streaming.PrefetchBytes + 64);
            Sse.Prefetch0(w + o + Streaming.PrefetchBytes + 128);
            Sse.Prefetch0(w + o + Streaming.PrefetchBytes + 192);
            // Two chains per token (even and odd 32-byte steps): vpdpbusd's latency would otherwise bind.
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
            for (int e = o; e < o + 256; e += 64)
            {
                var wv = Avx.LoadVector256(w + e);
                var aw = Avx2.Abs(wv);
                a0 = TD.Dot(a0, aw, Avx2.Sign(Avx.LoadVector256(x0 + e), wv));
                a1 = TD.Dot(a1, aw, Avx2.Sign(Avx.LoadVector256(x1 + e), wv));
                a2 = TD.Dot(a2, aw, Avx2.Sign(Avx.LoadVector256(x2 + e), wv));
                a3 = TD.Dot(a3, aw, Avx2.Sign(Avx.LoadVector256(x3 + e), wv));
                wv = Avx.LoadVector256(w + e + 32);
                aw = Avx2.Abs(wv);
                b0 = TD.Dot(b0, aw, Avx2.Sign(Avx.LoadVector256(x0 + e + 32), wv));
                b1 = TD.Dot(b1, aw, Avx2.Sign(Avx.LoadVector256(x1 + e + 32), wv));
                b2 = TD.Dot(b2, aw, Avx2.Sign(Avx.LoadVector256(x2 + e + 32), wv));
                b3 = TD.Dot(b3, aw, Avx2.Sign(Avx.LoadVector256(x3 + e + 32), wv));
            }
            a0 = Avx2.Add(a0, b0); a1 = Avx2.Add(a1, b1); a2 = Avx2.Add(a2, b2); a3 = Avx2.Add(a3, b3);
            var ws = Avx.LoadVector256(wd + g * 8);
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a0), Avx.Multiply(ws, Avx.LoadVector256(d0 + g * 8)), f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a1), Avx.Multiply(ws, Avx.LoadVector256(d1 + g * 8)), f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a2), Avx.Multiply(ws, Avx.LoadVector256(d2 + g * 8)), f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(a3), Avx.Multiply(ws, Avx.LoadVector256(d3 + g * 8)), f3);
        }
        for (int b = groups * Q8RowMatrix.Group; b < blocks; b++)
        {
            int e = b * 32;
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Q8Step<TD>(default, w + e, x0 + e)), Vector256.Create(wd[b] * d0[b]), f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Q8Step<TD>(default, w + e, x1 + e)), Vector256.Create(wd[b] * d1[b]), f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Q8Step<TD>(default, w + e, x2 + e)), Vector256.Create(wd[b] * d2[b]), f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Q8Step<TD>(default, w + e, x3 + e)), Vector256.Create(wd[b] * d3[b]), f3);
        }
        y[0] = Vector256.Sum(f0); y[1] = Vector256.Sum(f1); y[2] = Vector256.Sum(f2); y[3] = Vector256.Sum(f3);
    }
}
