using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The I2_S prefill GEMM by table lookup: each token's int8 activations become, per group of three weights, a table of
/// the 27 sums (c0 - 1) xa + (c1 - 1) xb + (c2 - 1) xc (int16, one 64-byte vector), and a group of 32 rows' codes
/// becomes one vector of 16-bit indices 9 c0 + 3 c1 + c2; one <c>vpermw</c> then looks up 32 rows x 3 weights, 96
/// products, and one <c>vpaddw</c> adds them (the byte-dot tiles: 64 products per <c>vpmaddubsw</c> + <c>vpaddw</c>).
/// <para>
/// Why: on Zen 4 (512-bit units as two 256-bit halves) the byte-dot mix tops out at 147-169 GMAC/s per core in either
/// width, and the tiles reach 141-147 of it; <c>vpermw</c> + <c>vpaddw</c> runs 263-270 GMAC/s (`ternary-rates --peak`).
/// </para>
/// <para>
/// Groups follow the I2_S bytes, not consecutive weights, so that a row's index needs no shuffling: byte j of a
/// 128-weight block holds weights j, j + 32, j + 64 and j + 96 (bits 7-6, 5-4, 3-2, 1-0). Per chunk of up to three
/// blocks: one group per (block, j) of weights (j, j + 32, j + 64), then one per j of the blocks' weights j + 96 (a
/// missing block's weight is 0). The sums are exact (at most 64 groups of |sum| &lt;= 384 per int16 lane before they
/// are widened), and equal the reference's sum of codes times activations minus their total, so the outputs are the
/// reference's bit for bit. A matrix with a code 3 (<see cref="TernaryMatrix.HasCode3"/>) keeps the byte-dot tiles.
/// </para>
/// </summary>
internal static unsafe class TernaryLut
{
    /// <summary>Smallest batch that takes the tables (each index vector must serve enough tokens to repay its build).</summary>
    public const int MinTokens = 32;

    /// <summary>
    /// Most rows per panel. Every panel reads all the tokens' tables once (21 bytes per activation), so panels are as
    /// large as keep their int32 sums (4 bytes per row and token: 512 KB at 128 tokens) and one chunk's indices
    /// (256 KB) in L2; a call's rows are split into equal panels.
    /// </summary>
    private const int PanelRows = 1024;

    /// <summary>Groups one int16 lane sums before it is widened: 64 x 384 = 24,576.</summary>
    private const int GroupsPerWidening = 64;

    /// <summary>Table vectors per token for K inputs (128 per chunk of three blocks, 64 or 96 for a last chunk of 1 or 2).</summary>
    public static int Groups(int k)
    {
        int blocks = k / 128, rest = blocks % 3;
        return blocks / 3 * 128 + (rest > 0 ? 32 * (rest + 1) : 0);
    }

    private static readonly Vector512<short> s_a = Pattern(9), s_b = Pattern(3), s_c = Pattern(1);

    /// <summary>Lane e (an index 9 c0 + 3 c1 + c2 below 27) of the digit of weight <paramref name="place"/>, minus 1; 0 above 26.</summary>
    private static Vector512<short> Pattern(int place)
    {
        var v = new short[32];
        for (int e = 0; e < 27; e++) v[e] = (short)(e / place % 3 - 1);
        return Vector512.Create(v);
    }

    /// <summary>Token q's tables: [Groups(k)][32] int16 at <paramref name="table"/>.</summary>
    public static void BuildTables(sbyte* q, int k, short* table)
    {
        int blocks = k / 128;
        short* dst = table;
        for (int b0 = 0; b0 < blocks; b0 += 3)
        {
            int nb = Math.Min(3, blocks - b0);
            for (int bi = 0; bi < nb; bi++)
            {
                sbyte* x = q + (b0 + bi) * 128;
                for (int j = 0; j < 32; j++, dst += 32) Entry(x[j], x[32 + j], x[64 + j], dst);
            }
            sbyte* l = q + b0 * 128 + 96;
            for (int j = 0; j < 32; j++, dst += 32)
                Entry(l[j], nb > 1 ? l[128 + j] : 0, nb > 2 ? l[256 + j] : 0, dst);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Entry(int a, int b, int c, short* dst) =>
        (Vector512.Create((short)a) * s_a + Vector512.Create((short)b) * s_b + Vector512.Create((short)c) * s_c).Store(dst);

    [ThreadStatic] private static NativeBuffer<int>? t_sums;
    [ThreadStatic] private static NativeBuffer<short>? t_index;

    /// <summary>Rows [rowStart, rowEnd) of y = W x for an I2_S matrix without code 3 and activations with tables.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute<TIsa>(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where TIsa : struct, IKernelIsa
    {
        Debug.Assert(w.Layout == TernaryLayout.I2S && !w.HasCode3 && x.HasTables && (rowEnd - rowStart) % 4 == 0);
        int k = w.K, tokens = x.Tokens, padded = (tokens + 3) & ~3;
        int lutEnd = rowStart + (rowEnd - rowStart) / 32 * 32;
        int* sums = NativeBuffer<int>.Grow(ref t_sums, (long)PanelRows / 32 * padded * 32).Pointer;  // [rb][token][32 rows]
        short* index = NativeBuffer<short>.Grow(ref t_index, PanelRows / 32 * 128 * 32L).Pointer;  // [rb][chunk group][32 rows]
        int blocksOf32 = (lutEnd - rowStart) / 32, panels = (blocksOf32 + PanelRows / 32 - 1) / (PanelRows / 32);
        int panelRows = panels == 0 ? 0 : (blocksOf32 + panels - 1) / panels * 32;
        for (int p0 = rowStart; p0 < lutEnd; p0 += panelRows)
        {
            int rbs = Math.Min(panelRows, lutEnd - p0) / 32;
            new Span<int>(sums, rbs * padded * 32).Clear();
            int blocks = k / 128;
            for (int b0 = 0, g0 = 0; b0 < blocks; b0 += 3)
            {
                int nb = Math.Min(3, blocks - b0), chunk = 32 * (nb + 1);
                for (int rb = 0; rb < rbs; rb++)
                {
                    byte* block0 = w.Row(p0 + rb * 32) + b0 * 32;
                    TIsa.LutIndex(block0, w.RowBytes, nb, index + rb * 128 * 32L);
                    // The 32 rows' next chunk (or, at the last, nothing useful): 32 streams are more than the hardware
                    // prefetcher follows, and the first touch of the weights is here.
                    if (Sse.IsSupported && b0 + 3 < blocks)
                        for (int r = 0; r < 32; r++)
                        {
                            byte* next = block0 + r * w.RowBytes + 96;
                            Sse.Prefetch0(next);
                            Sse.Prefetch0(next + 63);
                        }
                }
                for (int t0 = 0; t0 < padded; t0 += 4)
                {
                    short* tables = x.Tables + t0 * x.TableStride + g0 * 32L;
                    for (int s = 0; s < chunk; s += GroupsPerWidening)
                    {
                        int n = Math.Min(GroupsPerWidening, chunk - s);
                        int rb = 0;
                        for (; rb + 4 <= rbs; rb += 4)
                            TIsa.LutTile(index + (rb * 128 + s) * 32L, 128 * 32, 4, tables + s * 32L, x.TableStride, n,
                                sums + ((long)rb * padded + t0) * 32, padded * 32);
                        for (; rb < rbs; rb++)
                            TIsa.LutTile(index + (rb * 128 + s) * 32L, 128 * 32, 1, tables + s * 32L, x.TableStride, n,
                                sums + ((long)rb * padded + t0) * 32, padded * 32);
                    }
                }
                g0 += chunk;
            }
            // TernaryKernels.Finish's operations in the same order, 16 rows per vector.
            var ws = Vector512.Create(w.TensorScale);
            var os = Vector512.Create(w.OutputScale);
            for (int rb = 0; rb < rbs; rb++)
                for (int t = 0; t < tokens; t++)
                {
                    int* s = sums + ((long)rb * padded + t) * 32;
                    float* yt = y + (long)t * yStride + p0 + rb * 32;
                    var a = Vector512.Create(x.Scale[t]);
                    (Vector512.ConvertToSingle(Vector512.Load(s)) * ws * a * os).Store(yt);
                    (Vector512.ConvertToSingle(Vector512.Load(s + 16)) * ws * a * os).Store(yt + 16);
                }
        }
        if (lutEnd < rowEnd) TernaryTiles.Compute<TIsa>(w, x, y, yStride, lutEnd, rowEnd);
    }

    /// <summary>
    /// The reference of <see cref="IKernelIsa.LutIndex"/>: the 32 rows at <paramref name="block0"/> (<paramref name="rowBytes"/>
    /// apart, each from the chunk's first block), their indices for the chunk of <paramref name="nb"/> blocks:
    /// [chunk group][32 rows] int16, a code 3's index masked into the table (such matrices never get here).
    /// </summary>
    internal static void ReferenceLutIndex(byte* block0, long rowBytes, int nb, short* index)
    {
        for (int r = 0; r < 32; r++)
        {
            byte* row = block0 + r * rowBytes;
            for (int bi = 0; bi < nb; bi++)
                for (int j = 0; j < 32; j++)
                {
                    int v = row[bi * 32 + j];
                    index[(bi * 32 + j) * 32 + r] = (short)((9 * (v >> 6) + 3 * ((v >> 4) & 3) + ((v >> 2) & 3)) & 31);
                }
            for (int j = 0; j < 32; j++)
            {
                int c0 = row[j] & 3, c1 = nb > 1 ? row[32 + j] & 3 : 1, c2 = nb > 2 ? row[64 + j] & 3 : 1;
                index[(nb * 32 + j) * 32 + r] = (short)((9 * c0 + 3 * c1 + c2) & 31);
            }
        }
    }

    /// <summary>
    /// The reference of <see cref="IKernelIsa.LutTile"/>: for rb in [0, rbs) and the 4 tokens, sums[rb * sumsStride + t * 32 + r]
    /// += sum over n groups of tables[t * tableStride + g * 32 + index[rb * indexStride + g * 32 + r]].
    /// </summary>
    internal static void ReferenceLutTile(short* index, long indexStride, int rbs, short* tables, long tableStride, int n, int* sums, long sumsStride)
    {
        for (int rb = 0; rb < rbs; rb++)
            for (int t = 0; t < 4; t++)
                for (int r = 0; r < 32; r++)
                {
                    int s = 0;
                    for (int g = 0; g < n; g++) s += tables[t * tableStride + g * 32 + index[rb * indexStride + g * 32 + r]];
                    sums[rb * sumsStride + t * 32 + r] += s;
                }
    }
}
