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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load(float* p) => Avx.LoadVector256(p).ToVector512();

    /// <summary>Folds the upper 8 lanes onto the lower 8 (the driver sums 8 lanes per dot).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* p, Vector512<float> c) => Avx.Store(p, Avx.Add(c.GetLower(), c.GetUpper()));
}
