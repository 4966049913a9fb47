using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// <see cref="TernaryLut"/>'s lookups: one <c>vpermw</c> (32 int16 table entries chosen by 32 rows' indices) and one
/// <c>vpaddw</c> per 32 rows x 3 weights x 1 token. A 4 x 4 tile (4 row blocks, 4 tokens) loads 4 index and 4 table
/// vectors per group for 16 lookups; its 16 int16 accumulators are widened into the int32 sums once per call
/// (n &lt;= 64 groups, see <see cref="TernaryLut"/> on the bound).
/// </summary>
internal unsafe partial struct Avx512Isa<TBase>
{
    /// <summary>
    /// The AVX-512BW row only (Zen 4 class, where it was measured: the byte-dot mix is capped at half the width there).
    /// On Zen 5's full-width units the byte-dot tiles run 423-449 GMAC/s per core, and the lookups were not measured.
    /// </summary>
    public static bool LutTiles => typeof(TBase) == typeof(Avx2Isa) && Avx512Vbmi.IsSupported;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void LutTile(short* index, long indexStride, int rbs, short* tables, long tableStride, int n, int* sums, long sumsStride)
    {
        if (rbs != 4)
        {
            for (int rb = 0; rb < rbs; rb++) LutTile1(index + rb * indexStride, tables, tableStride, n, sums + rb * sumsStride);
            return;
        }
        short* i0 = index, i1 = index + indexStride, i2 = index + 2 * indexStride, i3 = index + 3 * indexStride;
        Vector512<short> a00 = default, a01 = default, a02 = default, a03 = default; // [row block][token]
        Vector512<short> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<short> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<short> a30 = default, a31 = default, a32 = default, a33 = default;
        for (int g = 0; g < n; g++, tables += 32)
        {
            nint o = g * 32;
            var x0 = Vector512.Load(i0 + o);
            var x1 = Vector512.Load(i1 + o);
            var x2 = Vector512.Load(i2 + o);
            var x3 = Vector512.Load(i3 + o);
            var t = Vector512.Load(tables);
            a00 += Avx512BW.PermuteVar32x16(t, x0); a10 += Avx512BW.PermuteVar32x16(t, x1);
            a20 += Avx512BW.PermuteVar32x16(t, x2); a30 += Avx512BW.PermuteVar32x16(t, x3);
            t = Vector512.Load(tables + tableStride);
            a01 += Avx512BW.PermuteVar32x16(t, x0); a11 += Avx512BW.PermuteVar32x16(t, x1);
            a21 += Avx512BW.PermuteVar32x16(t, x2); a31 += Avx512BW.PermuteVar32x16(t, x3);
            t = Vector512.Load(tables + 2 * tableStride);
            a02 += Avx512BW.PermuteVar32x16(t, x0); a12 += Avx512BW.PermuteVar32x16(t, x1);
            a22 += Avx512BW.PermuteVar32x16(t, x2); a32 += Avx512BW.PermuteVar32x16(t, x3);
            t = Vector512.Load(tables + 3 * tableStride);
            a03 += Avx512BW.PermuteVar32x16(t, x0); a13 += Avx512BW.PermuteVar32x16(t, x1);
            a23 += Avx512BW.PermuteVar32x16(t, x2); a33 += Avx512BW.PermuteVar32x16(t, x3);
        }
        int* s = sums;
        Widen(s, a00); Widen(s + 32, a01); Widen(s + 64, a02); Widen(s + 96, a03);
        s += sumsStride;
        Widen(s, a10); Widen(s + 32, a11); Widen(s + 64, a12); Widen(s + 96, a13);
        s += sumsStride;
        Widen(s, a20); Widen(s + 32, a21); Widen(s + 64, a22); Widen(s + 96, a23);
        s += sumsStride;
        Widen(s, a30); Widen(s + 32, a31); Widen(s + 64, a32); Widen(s + 96, a33);
    }

    /// <summary>One row block against the 4 tokens.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LutTile1(short* index, short* tables, long tableStride, int n, int* sums)
    {
        Vector512<short> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int g = 0; g < n; g++, tables += 32)
        {
            var x = Vector512.Load(index + g * 32);
            a0 += Avx512BW.PermuteVar32x16(Vector512.Load(tables), x);
            a1 += Avx512BW.PermuteVar32x16(Vector512.Load(tables + tableStride), x);
            a2 += Avx512BW.PermuteVar32x16(Vector512.Load(tables + 2 * tableStride), x);
            a3 += Avx512BW.PermuteVar32x16(Vector512.Load(tables + 3 * tableStride), x);
        }
        Widen(sums, a0); Widen(sums + 32, a1); Widen(sums + 64, a2); Widen(sums + 96, a3);
    }

    /// <summary>
    /// <see cref="TernaryLut.ReferenceLutIndex"/> with the 32 x 32 byte transpose of each block done by 64 <c>vpermt2b</c>
    /// in four stages (2 -> 4 -> 8 -> 16 -> 32 rows per vector, each vector [columns][rows]), then the main indices of
    /// two columns by one <c>vpermb</c> lookup of the byte's top six bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void LutIndex(byte* block0, long rowBytes, int nb, short* index)
    {
        var s0 = stackalloc Vector512<byte>[16];
        var s1 = stackalloc Vector512<byte>[16];
        var s2 = stackalloc Vector512<byte>[16];
        var s3 = stackalloc Vector512<byte>[16];
        byte* low = stackalloc byte[3 * 1024];  // [block][column][32 rows]: bits 1-0 (weight j + 96)
        var c = LutControls.Shared;
        var m63 = Vector512.Create((byte)63);
        var m3 = Vector512.Create((byte)3);
        for (int bi = 0; bi < nb; bi++)
        {
            for (int i = 0; i < 16; i++)
                s0[i] = Vector512.Create(Vector256.Load(block0 + 2 * i * rowBytes + bi * 32), Vector256.Load(block0 + (2 * i + 1) * rowBytes + bi * 32));
            for (int q = 0; q < 8; q++)         // rows 4q..4q+3, columns 16 h1..
                for (int h = 0; h < 2; h++) s1[q * 2 + h] = Avx512Vbmi.PermuteVar64x8x2(s0[2 * q], c.Stage1[h], s0[2 * q + 1]);
            for (int o = 0; o < 4; o++)         // rows 8o..8o+7
                for (int h1 = 0; h1 < 2; h1++)
                    for (int h = 0; h < 2; h++)
                        s2[(o * 2 + h1) * 2 + h] = Avx512Vbmi.PermuteVar64x8x2(s1[2 * o * 2 + h1], c.Stage2[h], s1[(2 * o + 1) * 2 + h1]);
            for (int x = 0; x < 2; x++)         // rows 16x..16x+15
                for (int p = 0; p < 4; p++)
                    for (int h = 0; h < 2; h++)
                        s3[(x * 4 + p) * 2 + h] = Avx512Vbmi.PermuteVar64x8x2(s2[2 * x * 4 + p], c.Stage3[h], s2[(2 * x + 1) * 4 + p]);
            for (int p = 0; p < 8; p++)         // all 32 rows: columns 4p + 2h, 4p + 2h + 1
                for (int h = 0; h < 2; h++)
                {
                    var v = Avx512Vbmi.PermuteVar64x8x2(s3[p], c.Stage4[h], s3[8 + p]);
                    int col = 4 * p + 2 * h;
                    var main = Avx512Vbmi.PermuteVar64x8(c.Main, (v.AsUInt16() >>> 2).AsByte() & m63);
                    Avx512BW.ConvertToVector512UInt16(main.GetLower()).Store((ushort*)index + (bi * 32 + col) * 32);
                    Avx512BW.ConvertToVector512UInt16(main.GetUpper()).Store((ushort*)index + (bi * 32 + col + 1) * 32);
                    (v & m3).Store(low + bi * 1024 + col * 32);
                }
        }
        var one = Vector512<short>.One;
        var m31 = Vector512.Create((short)31);
        for (int j = 0; j < 32; j++)
        {
            var c0 = Avx512BW.ConvertToVector512Int16(Vector256.Load(low + j * 32));
            var c1 = nb > 1 ? Avx512BW.ConvertToVector512Int16(Vector256.Load(low + 1024 + j * 32)) : one;
            var c2 = nb > 2 ? Avx512BW.ConvertToVector512Int16(Vector256.Load(low + 2048 + j * 32)) : one;
            ((c0 * 9 + c1 * 3 + c2) & m31).Store(index + (nb * 32 + j) * 32);
        }
    }

    /// <summary>sums[0..32) += the 32 int16 lanes of a, sign-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(int* sums, Vector512<short> a)
    {
        (Vector512.Load(sums) + Avx512F.ConvertToVector512Int32(a.GetLower())).Store(sums);
        (Vector512.Load(sums + 16) + Avx512F.ConvertToVector512Int32(a.GetUpper())).Store(sums + 16);
    }
}

/// <summary><see cref="Avx512Isa{TBase}.LutIndex"/>'s byte selections (see there and <see cref="TernaryLut"/>).</summary>
internal sealed class LutControls
{
    public static readonly LutControls Shared = new();

    public readonly Vector512<byte>[] Stage1 = new Vector512<byte>[2], Stage2 = new Vector512<byte>[2], Stage3 = new Vector512<byte>[2], Stage4 = new Vector512<byte>[2];

    /// <summary>A byte's top six bits (codes c0, c1, c2 of weights j, j + 32, j + 64) to 9 c0 + 3 c1 + c2, masked to 0..31.</summary>
    public readonly Vector512<byte> Main;

    private LutControls()
    {
        var b = new byte[64];
        for (int h = 0; h < 2; h++)
        {
            // Two vectors of 2 rows x 32 bytes (row-major) -> 16 columns x 4 rows, [column][row].
            for (int col = 0; col < 16; col++)
                for (int r = 0; r < 4; r++) b[col * 4 + r] = (byte)(r * 32 + h * 16 + col);
            Stage1[h] = Vector512.Create(b);
            Stage2[h] = Merge(4, h);
            Stage3[h] = Merge(8, h);
            Stage4[h] = Merge(16, h);
        }
        for (int u = 0; u < 64; u++) b[u] = (byte)((9 * (u >> 4) + 3 * ((u >> 2) & 3) + (u & 3)) & 31);
        Main = Vector512.Create(b);
    }

    /// <summary>Two vectors of R rows x 64/R columns ([column][row]) -> half h of the columns x 2R rows.</summary>
    private static Vector512<byte> Merge(int rows, int h)
    {
        var b = new byte[64];
        int cols = 64 / rows / 2;
        for (int col = 0; col < cols; col++)
            for (int r = 0; r < 2 * rows; r++)
                b[col * 2 * rows + r] = (byte)((r < rows ? 0 : 64) + (h * cols + col) * rows + r % rows);
        return Vector512.Create(b);
    }
}
