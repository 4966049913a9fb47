using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// The ternary GEMM for prefill and batched decode: register tiles of 4 rows x 16 tokens.
/// <para>
/// Why: the row kernels reduce every (row, token) dot horizontally and re-unpack each row's 2-bit codes per group of
/// four tokens, which left prefill at about a third of the integer-dot throughput. Here four rows are unpacked once
/// into bytes (an L1-resident panel of 4 x K), and each 4-byte group of a row's codes is broadcast against a vector of
/// 8 tokens' activations (<see cref="QuantizedActivations.Lanes"/>: tokens in lanes), so each multiply-add instruction
/// does 32 useful products and a tile ends with its 64 sums already in lanes.
/// </para>
/// Every float operation is the row kernels' (<see cref="TernaryKernels"/>), in the same order, so the outputs are
/// bit-identical to the scalar reference's for every layout.
/// </summary>
internal static unsafe class TernaryTiles
{
    /// <summary>Smallest batch that takes the tiles (below it a lane tile would be mostly padding).</summary>
    public const int MinTokens = 4;

    /// <summary>
    /// Tokens applied to one unpacked 4-row panel before the next: as many as keep their lane tiles (tokens x K bytes)
    /// within 512 KB of L2, 64 to 128. Each panel is unpacked once per group of tokens; 128 instead of 64 at K = 2560
    /// measured +0-5% over the model's matrices (one thread, 128 tokens, alternated).
    /// </summary>
    private static int TokensPerPanel(int k) => Math.Clamp((512 * 1024 / k) & ~31, 64, 128);

    [ThreadStatic] private static NativeBuffer<byte>? t_panel;

    /// <summary>The TQ formats' per-block numbers, made once instead of per tile: [4 rows, blocks] scales, then [tiles, blocks, 16 tokens] activation sums.</summary>
    [ThreadStatic] private static NativeBuffer<int>? t_blockTerms;

    /// <summary>Rows [rowStart, rowEnd) of y = W x, where rowEnd - rowStart is a multiple of 4 and x has lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Compute<TIsa>(TernaryMatrix w, QuantizedActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where TIsa : struct, IKernelIsa
    {
        Debug.Assert(x.HasLanes && (rowEnd - rowStart) % 4 == 0);
        int k = w.K;
        byte* panel = NativeBuffer<byte>.Grow(ref t_panel, 4L * k, 4L * 8192).Pointer; // [4, K] codes 0..3
        int* sums = stackalloc int[128];        // [4 rows, 16 tokens], a second tile's after it (tile pairs)
        float* acc = stackalloc float[128];     // [2 tiles, 4 rows, 16 tokens], the TQ formats' per-block float sums
        int perPanel = TokensPerPanel(k);
        int blocks = k / 256;
        bool blockScaled = w.Layout != TernaryLayout.I2S;
        long terms = blockScaled ? 4L * blocks + (perPanel / 16 + 1) * 16L * blocks : 0;
        if (blockScaled) NativeBuffer<int>.Grow(ref t_blockTerms, terms);
        float* rowScales = blockScaled ? (float*)t_blockTerms!.Pointer : null;   // [4 rows, blocks]
        int* tileSums = blockScaled ? t_blockTerms!.Pointer + 4 * blocks : null;  // [tiles of the panel's tokens, blocks, 16]
        for (int t0 = 0; t0 < x.Tokens; t0 += perPanel)
        {
            int t1 = Math.Min(x.Tokens, t0 + perPanel);
            if (blockScaled) TileBlockSums(x, t0, t1, blocks, tileSums);
            for (int n = rowStart; n < rowEnd; n += 4)
            {
                for (int r = 0; r < 4; r++) Unpack<TIsa>(w, n + r, panel + r * k);
                if (blockScaled) RowScales(w, n, blocks, rowScales);
                // The next panel's weights, while this one computes: the gaps between panels are too long for the
                // hardware prefetcher to keep a DRAM stream going (batched decode read them at a fraction of bandwidth).
                if (Sse.IsSupported && n + 4 < rowEnd)
                {
                    byte* next = w.Row(n + 4);
                    for (long o = 0; o < 4 * w.RowBytes; o += 64) Sse.Prefetch0(next + o);
                }
                for (int tile = t0 / 16; tile * 16 < t1; tile++)
                {
                    int tb = tile * 16;
                    int count = Math.Min(16, x.Tokens - tb);
                    int vectors = count > 8 ? 2 : 1;
                    sbyte* lanes = x.Lanes + (long)tb * k;
                    int next = Math.Min(16, t1 - tb - 16);
                    bool pair = TIsa.TilePairs && vectors == 2 && next > 8;
                    if (w.Layout == TernaryLayout.I2S)
                    {
                        if (pair)
                        {
                            TIsa.CodeTile4Pair(panel, k, lanes, lanes + 16L * k, k, sums);
                            FinishI2S<TIsa>(w, x, sums, tb, count, y + n, yStride);
                            FinishI2S<TIsa>(w, x, sums + 64, tb + 16, next, y + n, yStride);
                            tile++;
                            continue;
                        }
                        TIsa.CodeTile4(panel, k, lanes, vectors, k, sums);
                        FinishI2S<TIsa>(w, x, sums, tb, count, y + n, yStride);
                        continue;
                    }
                    BlockScaled<TIsa>(w, panel, lanes, vectors, pair ? next : 0, rowScales, tileSums + (long)(tb - t0) * blocks, sums, acc);
                    for (int r = 0; r < 4; r++)
                        for (int j = 0; j < count; j++)
                            y[(long)(tb + j) * yStride + n + r] = TernaryKernels.Finish(w, acc[r * 16 + j], x.Scale[tb + j]);
                    if (!pair) continue;
                    for (int r = 0; r < 4; r++)
                        for (int j = 0; j < next; j++)
                            y[(long)(tb + 16 + j) * yStride + n + r] = TernaryKernels.Finish(w, acc[64 + r * 16 + j], x.Scale[tb + 16 + j]);
                    tile++;
                }
            }
        }
    }

    /// <summary>y[(tb + j) * yStride + r] for the tile's 4 rows and count tokens (<see cref="IKernelIsa.FinishI2STile"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishI2S<TIsa>(TernaryMatrix w, QuantizedActivations x, int* sums, int tb, int count, float* y, int yStride)
        where TIsa : struct, IKernelIsa =>
        TIsa.FinishI2STile(sums, x.Totals + tb, x.Scale + tb, w.TensorScale, w.OutputScale, count, y + (long)tb * yStride, yStride);

    /// <summary>The four rows' block scales as floats: [r * blocks + b].</summary>
    private static void RowScales(TernaryMatrix w, int n, int blocks, float* scales)
    {
        int scaleAt = w.Layout == TernaryLayout.TQ2 ? 64 : 52;
        for (int r = 0; r < 4; r++)
        {
            byte* row = w.Row(n + r);
            for (int b = 0; b < blocks; b++)
                scales[r * blocks + b] = TernaryKernels.HalfToSingle(Unsafe.ReadUnaligned<ushort>(row + (long)b * w.BlockBytes + scaleAt));
        }
    }

    /// <summary>Each 256-block's activation sum per token of tokens [t0, t1), by 16-token tile: [tile, b, j], zero past the last token.</summary>
    private static void TileBlockSums(QuantizedActivations x, int t0, int t1, int blocks, int* sums)
    {
        for (int tb = t0; tb < t1; tb += 16)
        {
            int* tile = sums + (long)(tb - t0) * blocks;
            for (int b = 0; b < blocks; b++)
                for (int j = 0; j < 16; j++)
                {
                    int* u = x.BlockSums + (long)(tb + j) * x.SumsPerToken;
                    tile[b * 16 + j] = tb + j < t1 ? u[2 * b] + u[2 * b + 1] : 0;
                }
        }
    }

    /// <summary>
    /// TQ2_0 / TQ1_0: acc = sum over 256-blocks b of d_b * (dot_b - activation sum_b), block by block as the row kernels
    /// add, for one tile or, when <paramref name="next"/> &gt; 0, a pair of full-width tiles through
    /// <see cref="IKernelIsa.CodeTile4Pair"/> (the second tile's sums and accumulators 64 on, its block sums 16 * blocks on).
    /// Lanes past a tile's tokens compute on zero activations and are never stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BlockScaled<TIsa>(TernaryMatrix w, byte* panel, sbyte* lanes, int vectors, int next, float* rowScales, int* tileSums,
        int* sums, float* acc) where TIsa : struct, IKernelIsa
    {
        int k = w.K;
        int blocks = k / 256;
        int tiles = next > 0 ? 2 : 1;
        for (int i = 0; i < 64 * tiles; i++) acc[i] = 0;
        bool vector = Vector256.IsHardwareAccelerated, wide = Vector512.IsHardwareAccelerated;
        long tileBlock = 64L * 32 * vectors; // one 256-block of a tile's lanes
        for (int b = 0; b < blocks; b++)
        {
            if (next > 0) TIsa.CodeTile4Pair(panel + b * 256, k, lanes + b * tileBlock, lanes + 16L * k + b * tileBlock, 256, sums);
            else TIsa.CodeTile4(panel + b * 256, k, lanes + b * tileBlock, vectors, 256, sums);
            for (int r = 0; r < 4; r++)
            {
                float d = rowScales[r * blocks + b];
                for (int tile = 0; tile < tiles; tile++)
                {
                    int* sr = sums + tile * 64 + r * 16;
                    float* ar = acc + tile * 64 + r * 16;
                    int* bs = tileSums + (tile * blocks + b) * 16;
                    if (wide && vectors == 2)
                    {
                        var dv = Vector512.Create(d);
                        (Vector512.Load(ar) + dv * Vector512.ConvertToSingle(Vector512.Load(sr) - Vector512.Load(bs))).Store(ar);
                    }
                    else if (vector)
                    {
                        // The same int subtract, convert, multiply and add per lane as the scalar loop (no fused multiply-add).
                        var dv = Vector256.Create(d);
                        for (int j = 0; j < 8 * vectors; j += 8)
                            (Vector256.Load(ar + j) + dv * Vector256.ConvertToSingle(Vector256.Load(sr + j) - Vector256.Load(bs + j))).Store(ar + j);
                    }
                    else
                    {
                        for (int j = 0; j < 8 * vectors; j++) ar[j] += d * (sr[j] - bs[j]);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unpack<TIsa>(TernaryMatrix w, int n, byte* codes) where TIsa : struct, IKernelIsa
    {
        byte* row = w.Row(n);
        switch (w.Layout)
        {
            case TernaryLayout.I2S: TIsa.I2SUnpack(row, w.K / 128, codes); break;
            case TernaryLayout.TQ2: TIsa.TQ2Unpack(row, w.K / 256, codes); break;
            default: TIsa.TQ1Unpack(row, w.K / 256, codes); break;
        }
    }

    // ---------------------------------------------------------------- the scalar definitions (IKernelIsa defaults)

    public static void ReferenceI2SUnpack(byte* row, int blocks, byte* codes)
    {
        for (int b = 0; b < blocks; b++)
            ReferenceDequantizer.I2_SCodes(new ReadOnlySpan<byte>(row + b * 32, 32), new Span<byte>(codes + b * 128, 128));
    }

    public static void ReferenceTQ2Unpack(byte* row, int blocks, byte* codes)
    {
        for (int b = 0; b < blocks; b++)
            ReferenceDequantizer.TQ2_0Codes(new ReadOnlySpan<byte>(row + b * 66, 66), new Span<byte>(codes + b * 256, 256));
    }

    /// <summary>Tokens [j0, count) of <see cref="IKernelIsa.FinishI2STile"/>, as <see cref="TernaryKernels.Finish"/> computes each.</summary>
    public static void ReferenceFinishI2STile(int* sums, int* totals, float* scales, float tensorScale, float outputScale, int j0, int count, float* y, int yStride)
    {
        for (int j = j0; j < count; j++)
            for (int r = 0; r < 4; r++)
                y[(long)j * yStride + r] = (sums[r * 16 + j] - totals[j]) * tensorScale * scales[j] * outputScale;
    }

    public static void ReferenceCodeTile4(byte* codes, int codeStride, sbyte* lanes, int vectors, int k, int* sums)
    {
        int width = 8 * vectors;
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < width; j++)
            {
                int s = 0;
                for (int i = 0; i < k; i++) s += codes[r * codeStride + i] * lanes[(i / 4) * 4 * width + j * 4 + i % 4];
                sums[r * 16 + j] = s;
            }
    }
}
