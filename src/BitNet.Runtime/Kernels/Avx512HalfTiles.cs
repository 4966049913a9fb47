using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The F16 head tile (<see cref="IKernelIsa.HalfTile2x4"/>) in 512-bit registers, which the AVX-VNNI row uses where the
/// CPU has AVX-512F: the batched head is bound by float multiply-adds, and a 512-bit FMA does twice the work of a
/// 256-bit one on cores with two 512-bit units (on cores that split them, such as Zen 4, it costs the same). Same
/// widenings as <see cref="Avx2Isa"/>; the accumulators keep the 256-bit layout of the driver, folded on the way out.
/// </summary>
internal static unsafe class Avx512HalfTiles
{
    public static bool IsSupported => Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Bits(ushort* p) =>
        Avx512F.And(Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256((short*)p)), 13),
            Vector512.Create(unchecked((int)0x8FFFE000)));

    private interface IWidening { static abstract Vector512<float> Widen(ushort* p); }

    /// <summary><see cref="HalfWidening.Rebias"/>: the exponent rebiased by an integer add.</summary>
    private struct Rebias : IWidening
    {
        public static Vector512<float> Widen(ushort* p) => Avx512F.Add(Bits(p), Vector512.Create(0x38000000)).AsSingle();
    }

    /// <summary><see cref="HalfWidening.Finite"/>: the bits times 2^112.</summary>
    private struct Finite : IWidening
    {
        public static Vector512<float> Widen(ushort* p) => Avx512F.Multiply(Bits(p).AsSingle(), Vector512.Create(5.192297e33f));
    }

    /// <summary>The tile; exact widening (rows with inf/NaN) stays on the 256-bit code.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile2x4(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1,
        float* acc, ushort* pa, ushort* pb, HalfWidening widening)
    {
        int j16 = j0 + (j1 - j0) / 16 * 16;
        if (widening == HalfWidening.Rebias) Tile2x4<Rebias>(a, b, x0, x1, x2, x3, j0, j16, acc, pa, pb);
        else Tile2x4<Finite>(a, b, x0, x1, x2, x3, j0, j16, acc, pa, pb);
        if (j16 < j1) Avx2Isa.HalfTile2x4(a, b, x0, x1, x2, x3, j16, j1, acc, a, b, widening); // 8 columns left
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile2x4<TW>(ushort* a, ushort* b, float* x0, float* x1, float* x2, float* x3, int j0, int j1,
        float* acc, ushort* pa, ushort* pb) where TW : struct, IWidening
    {
        var c00 = Load(acc); var c01 = Load(acc + 8); var c02 = Load(acc + 16); var c03 = Load(acc + 24);
        var c10 = Load(acc + 64); var c11 = Load(acc + 72); var c12 = Load(acc + 80); var c13 = Load(acc + 88);
        for (int j = j0; j < j1; j += 16)
        {
            if (((j - j0) & 31) == 0)
            {
                Sse.Prefetch1(pa + j);
                Sse.Prefetch1(pb + j);
            }
            var ha = TW.Widen(a + j);
            var hb = TW.Widen(b + j);
            var v = Avx512F.LoadVector512(x0 + j);
            c00 = Avx512F.FusedMultiplyAdd(ha, v, c00); c10 = Avx512F.FusedMultiplyAdd(hb, v, c10);
            v = Avx512F.LoadVector512(x1 + j);
            c01 = Avx512F.FusedMultiplyAdd(ha, v, c01); c11 = Avx512F.FusedMultiplyAdd(hb, v, c11);
            v = Avx512F.LoadVector512(x2 + j);
            c02 = Avx512F.FusedMultiplyAdd(ha, v, c02); c12 = Avx512F.FusedMultiplyAdd(hb, v, c12);
            v = Avx512F.LoadVector512(x3 + j);
            c03 = Avx512F.FusedMultiplyAdd(ha, v, c03); c13 = Avx512F.FusedMultiplyAdd(hb, v, c13);
        }
        Store(acc, c00); Store(acc + 8, c01); Store(acc + 16, c02); Store(acc + 24, c03);
        Store(acc + 64, c10); Store(acc + 72, c11); Store(acc + 80, c12); Store(acc + 88, c13);
    }

    /// <summary>
    /// Two rows against eight tokens (x + t * xStride): each widened row vector serves eight multiply-adds, against four
    /// in <see cref="Tile2x4"/>, so the widening's integer work drops from 6 to 3 of every 11 vector instructions
    /// (16 accumulators, two rows and an activation vector: 19 of the 32 registers). Each token's accumulator sees the
    /// same operations in the same order as in <see cref="Tile2x4"/>, so the results are the same to the bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Tile2x8(ushort* a, ushort* b, float* x, long xStride, int j0, int j1, float* acc, ushort* pa, ushort* pb, HalfWidening widening)
    {
        int j16 = j0 + (j1 - j0) / 16 * 16;
        if (widening == HalfWidening.Rebias) Tile2x8<Rebias>(a, b, x, xStride, j0, j16, acc, pa, pb);
        else Tile2x8<Finite>(a, b, x, xStride, j0, j16, acc, pa, pb);
        if (j16 < j1)
        {
            Avx2Isa.HalfTile2x4(a, b, x, x + xStride, x + 2 * xStride, x + 3 * xStride, j16, j1, acc, a, b, widening);
            float* x4 = x + 4 * xStride;
            Avx2Isa.HalfTile2x4(a, b, x4, x4 + xStride, x4 + 2 * xStride, x4 + 3 * xStride, j16, j1, acc + 32, a, b, widening);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile2x8<TW>(ushort* a, ushort* b, float* x, long xStride, int j0, int j1, float* acc, ushort* pa, ushort* pb)
        where TW : struct, IWidening
    {
        var c00 = Load(acc); var c01 = Load(acc + 8); var c02 = Load(acc + 16); var c03 = Load(acc + 24);
        var c04 = Load(acc + 32); var c05 = Load(acc + 40); var c06 = Load(acc + 48); var c07 = Load(acc + 56);
        var c10 = Load(acc + 64); var c11 = Load(acc + 72); var c12 = Load(acc + 80); var c13 = Load(acc + 88);
        var c14 = Load(acc + 96); var c15 = Load(acc + 104); var c16 = Load(acc + 112); var c17 = Load(acc + 120);
        float* x0 = x + j0, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
        float* x4 = x3 + xStride, x5 = x4 + xStride, x6 = x5 + xStride, x7 = x6 + xStride;
        for (int j = j0; j < j1; j += 16, x0 += 16, x1 += 16, x2 += 16, x3 += 16, x4 += 16, x5 += 16, x6 += 16, x7 += 16)
        {
            if (((j - j0) & 31) == 0)
            {
                Sse.Prefetch1(pa + j);
                Sse.Prefetch1(pb + j);
            }
            var ha = TW.Widen(a + j);
            var hb = TW.Widen(b + j);
            var v = Avx512F.LoadVector512(x0);
            c00 = Avx512F.FusedMultiplyAdd(ha, v, c00); c10 = Avx512F.FusedMultiplyAdd(hb, v, c10);
            v = Avx512F.LoadVector512(x1);
            c01 = Avx512F.FusedMultiplyAdd(ha, v, c01); c11 = Avx512F.FusedMultiplyAdd(hb, v, c11);
            v = Avx512F.LoadVector512(x2);
            c02 = Avx512F.FusedMultiplyAdd(ha, v, c02); c12 = Avx512F.FusedMultiplyAdd(hb, v, c12);
            v = Avx512F.LoadVector512(x3);
            c03 = Avx512F.FusedMultiplyAdd(ha, v, c03); c13 = Avx512F.FusedMultiplyAdd(hb, v, c13);
            v = Avx512F.LoadVector512(x4);
            c04 = Avx512F.FusedMultiplyAdd(ha, v, c04); c14 = Avx512F.FusedMultiplyAdd(hb, v, c14);
            v = Avx512F.LoadVector512(x5);
            c05 = Avx512F.FusedMultiplyAdd(ha, v, c05); c15 = Avx512F.FusedMultiplyAdd(hb, v, c15);
            v = Avx512F.LoadVector512(x6);
            c06 = Avx512F.FusedMultiplyAdd(ha, v, c06); c16 = Avx512F.FusedMultiplyAdd(hb, v, c16);
            v = Avx512F.LoadVector512(x7);
            c07 = Avx512F.FusedMultiplyAdd(ha, v, c07); c17 = Avx512F.FusedMultiplyAdd(hb, v, c17);
        }
        Store(acc, c00); Store(acc + 8, c01); Store(acc + 16, c02); Store(acc + 24, c03);
        Store(acc + 32, c04); Store(acc + 40, c05); Store(acc + 48, c06); Store(acc + 56, c07);
        Store(acc + 64, c10); Store(acc + 72, c11); Store(acc + 80, c12); Store(acc + 88, c13);
        Store(acc + 96, c14); Store(acc + 104, c15); Store(acc + 112, c16); Store(acc + 120, c17);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load(float* p) => Avx.LoadVector256(p).ToVector512();

    /// <summary>Folds the upper 8 lanes onto the lower 8 (the driver sums 8 lanes per dot).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* p, Vector512<float> c) => Avx.Store(p, Avx.Add(c.GetLower(), c.GetUpper()));
}
