using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// Int8 activations for a batch of tokens, W1.58A8 style: one absmax scale per token (row).
/// <code>
/// m  = max(max_i |x_i|, 1e-5)
/// q_i = clamp(round_half_even(x_i * (127 / m)), -128, 127)      Q     [tokens, K]   sbyte
/// Scale = m / 127                                               Scale [tokens]      float
/// BlockSums[b] = sum of q over elements [128b, 128b + 128)      BlockSums [tokens, K/128] int
/// </code>
/// The ternary kernels multiply unsigned codes (t+1) by q and subtract the block sums to undo the +1.
/// <para>
/// For batches of <see cref="TernaryTiles.MinTokens"/> or more tokens a second copy, <see cref="Lanes"/>, puts tokens in
/// SIMD lanes for <see cref="TernaryTiles"/>: tile i (tokens 16i .. 16i + 15) starts at byte 16 i K; in it, the group of
/// elements 4g .. 4g + 3 starts at g * 32 V, where V = 2 if the tile holds more than 8 tokens and 1 otherwise, and
/// vector v of the group holds tokens 16i + 8v .. 16i + 8v + 7, four bytes each. Missing tokens are zeros.
/// </para>
/// </summary>
public sealed unsafe class QuantizedActivations : IDisposable
{
    public const int SumBlock = 128;

    private readonly NativeBuffer<sbyte> _q;
    private readonly NativeBuffer<float> _scale;
    private readonly NativeBuffer<int> _sums;
    private readonly NativeBuffer<int> _totals;
    private readonly NativeBuffer<sbyte> _lanes;
    private NativeBuffer<short>? _tables;

    public QuantizedActivations(int maxTokens, int maxK)
    {
        MaxTokens = maxTokens;
        MaxK = maxK;
        _q = new NativeBuffer<sbyte>((long)maxTokens * maxK);
        _scale = new NativeBuffer<float>(maxTokens);
        _sums = new NativeBuffer<int>((long)maxTokens * (maxK / SumBlock + 1));
        _totals = new NativeBuffer<int>(maxTokens);
        _lanes = new NativeBuffer<sbyte>(maxTokens >= TernaryTiles.MinTokens ? (long)((maxTokens + 15) & ~15) * maxK : 1);
    }

    public int MaxTokens { get; }
    public int MaxK { get; }

    /// <summary>Tokens currently held.</summary>
    public int Tokens { get; private set; }

    /// <summary>Elements per token (row stride of <see cref="Q"/>).</summary>
    public int K { get; private set; }

    public sbyte* Q => _q.Pointer;
    public float* Scale => _scale.Pointer;
    public int* BlockSums => _sums.Pointer;

    /// <summary>Sum of all q of each token.</summary>
    public int* Totals => _totals.Pointer;
    public int SumsPerToken => K / SumBlock;

    /// <summary>The token-lane copy of <see cref="Q"/> (layout above); valid only while <see cref="HasLanes"/>.</summary>
    public sbyte* Lanes => _lanes.Pointer;

    /// <summary>Whether <see cref="Lanes"/> holds the current tokens.</summary>
    public bool HasLanes { get; private set; }

    /// <summary>
    /// <see cref="TernaryLut"/>'s per-token tables of the current tokens, [tokens rounded up to 4][<see cref="TableStride"/>]
    /// int16 (the padding tokens' tables are zeros); valid only while <see cref="HasTables"/>.
    /// </summary>
    public short* Tables => _tables is null ? null : _tables.Pointer;

    /// <summary>int16 per token in <see cref="Tables"/>: <see cref="TernaryLut.Groups"/>(K) vectors of 32.</summary>
    public long TableStride => TernaryLut.Groups(K) * 32L;

    /// <summary>
    /// Whether <see cref="Tables"/> holds the current tokens: once enabled, batches of <see cref="TernaryLut.MinTokens"/>
    /// to <see cref="MaxTableTokens"/> tokens.
    /// </summary>
    public bool HasTables { get; private set; }

    /// <summary>
    /// Tokens the tables are sized for: a token's take 21 bytes per input (147 KB at K = 6912), so larger batches (up
    /// to 8192 tokens) take the byte-dot tiles rather than a gigabyte of tables.
    /// </summary>
    public const int MaxTableTokens = 512;

    /// <summary>
    /// Widest input that gets tables. Building them is bound by memory writes (on a shared host 5-26 GB/s), and a
    /// 128-token batch's tables for K = 6912 (19 MB) leave L3 where K = 2560's (7 MB) stay; 2B4T's FFN down projection
    /// keeps the byte-dot tiles.
    /// </summary>
    public const int MaxTableK = 4096;

    /// <summary>Sizes <see cref="Tables"/>, which <see cref="BuildTables"/> then fills (for kernel rows with <see cref="KernelSet.LutTiles"/>).</summary>
    public void EnableTables()
    {
        if (_tables is not null || MaxTokens < TernaryLut.MinTokens) return;
        int tokens = Math.Min(MaxTokens, MaxTableTokens);
        _tables = new NativeBuffer<short>((long)((tokens + 3) & ~3) * TernaryLut.Groups(Math.Min(MaxK, MaxTableK)) * 32, hugePages: true);
    }

    /// <summary>Quantizes <paramref name="tokens"/> rows of <paramref name="k"/> floats (row stride <paramref name="xStride"/>).</summary>
    public void Quantize(KernelSet kernels, float* x, int tokens, int k, int xStride)
    {
        Prepare(tokens, k);
        for (int t = 0; t < tokens; t++) QuantizeToken(kernels, x + (long)t * xStride, t);
        for (int tile = 0; tile < LaneTiles; tile++) BuildLaneTile(tile);
        if (HasTables)
            for (int t = 0; t < tokens; t++) BuildTables(t);
    }

    /// <summary>
    /// Starts a batch of <paramref name="tokens"/> x <paramref name="k"/>; then <see cref="QuantizeToken"/> for every
    /// token and, once all are done, <see cref="BuildLaneTile"/> for every lane tile (each step may run in parallel).
    /// </summary>
    public void Prepare(int tokens, int k)
    {
        if (tokens > MaxTokens || k > MaxK)
            throw new ArgumentOutOfRangeException(nameof(tokens), $"{tokens} x {k} exceeds the {MaxTokens} x {MaxK} buffer");
        Debug.Assert(k % SumBlock == 0, "ternary K is a multiple of 128");
        Tokens = tokens;
        K = k;
        HasLanes = tokens >= TernaryTiles.MinTokens; // a small copy next to the matmuls it serves
        HasTables = _tables is not null && tokens >= TernaryLut.MinTokens && tokens <= MaxTableTokens && k <= MaxTableK;
    }

    /// <summary>Lane tiles of the current batch (0 when it is too small to use them).</summary>
    public int LaneTiles => HasLanes ? (Tokens + 15) / 16 : 0;

    /// <summary>Quantizes token <paramref name="t"/> from K floats at <paramref name="x"/>.</summary>
    public void QuantizeToken(KernelSet kernels, float* x, int t) =>
        QuantizeToken(kernels, x, t, ActivationQuantizer.AbsMax(new ReadOnlySpan<float>(x, K)));

    /// <summary><see cref="QuantizeToken(KernelSet, float*, int)"/> when the caller already has max |x_i| (NaN if any is NaN).</summary>
    public void QuantizeToken(KernelSet kernels, float* x, int t, float absMax)
    {
        int k = K;
        var dst = new Span<sbyte>(Q + (long)t * k, k);
        Scale[t] = kernels.QuantizeRow(new ReadOnlySpan<float>(x, k), dst, absMax);
        Summarize(t);
    }

    /// <summary>Block sums and total of token t's codes.</summary>
    private void Summarize(int t)
    {
        var sums = new Span<int>(BlockSums + (long)t * SumsPerToken, SumsPerToken);
        ActivationQuantizer.BlockSums(new ReadOnlySpan<sbyte>(Q + (long)t * K, K), sums);
        int total = 0;
        foreach (int v in sums) total += v;
        Totals[t] = total;
    }

    /// <summary>Fills lane tile <paramref name="tile"/> (tokens 16 tile ..) of <see cref="Lanes"/> from <see cref="Q"/>.</summary>
    public void BuildLaneTile(int tile)
    {
        Debug.Assert(HasLanes);
        int groups = K / 4;
        int count = Math.Min(16, Tokens - tile * 16);
        int width = count > 8 ? 16 : 8;                     // tokens per group: 8 V
        int* dst = (int*)(Lanes + (long)tile * 16 * K);
        // Groups outer, tokens inner: each group's 8 V ints are written once, in order, from the tile's token rows
        // read side by side (tokens outer wrote a whole tile's lines once per token, 16 passes over 16 K bytes).
        int** src = stackalloc int*[16];
        for (int j = 0; j < count; j++) src[j] = (int*)(Q + (long)(tile * 16 + j) * K);
        for (int g = 0; g < groups; g++, dst += width)
        {
            int j = 0;
            for (; j < count; j++) dst[j] = src[j][g];
            for (; j < width; j++) dst[j] = 0;             // missing tokens are zeros
        }
    }

    /// <summary>
    /// Token <paramref name="t"/>'s <see cref="Tables"/> from its codes (after <see cref="QuantizeToken"/>; tokens may
    /// run in parallel). The last token also zeroes the padding tokens' tables.
    /// </summary>
    public void BuildTables(int t)
    {
        Debug.Assert(HasTables);
        long stride = TableStride;
        TernaryLut.BuildTables(Q + (long)t * K, K, Tables + t * stride);
        if (t == Tokens - 1)
            new Span<short>(Tables + Tokens * stride, (int)((((Tokens + 3) & ~3) - Tokens) * stride)).Clear();
    }

    /// <summary>Test hook: overwrite every code with <paramref name="value"/> (e.g. -128, which absmax never produces) and refresh the sums.</summary>
    internal void FillForTesting(sbyte value)
    {
        new Span<sbyte>(Q, Tokens * K).Fill(value);
        for (int t = 0; t < Tokens; t++) Summarize(t);
        for (int tile = 0; tile < LaneTiles; tile++) BuildLaneTile(tile);
        if (HasTables)
            for (int t = 0; t < Tokens; t++) BuildTables(t);
    }

    public void Dispose()
    {
        _q.Dispose();
        _scale.Dispose();
        _sums.Dispose();
        _totals.Dispose();
        _lanes.Dispose();
        _tables?.Dispose();
    }
}

/// <summary>Per-token absmax int8 quantization: the scale here, the rounding loop in the instruction set's primitive.</summary>
internal static unsafe class ActivationQuantizer
{
    public const float MinAbsMax = 1e-5f;

    /// <summary>Quantizes one row; returns the dequantization scale m/127.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Quantize<TIsa>(ReadOnlySpan<float> x, Span<sbyte> q) where TIsa : struct, IKernelIsa =>
        Quantize<TIsa>(x, q, AbsMax(x));

    /// <summary>max |x_i|, NaN if any x_i is NaN (MaxMagnitude returns the signed element of largest magnitude, hence the Abs).</summary>
    public static float AbsMax(ReadOnlySpan<float> x) => MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(x));

    /// <summary>Quantizes one row whose max |x_i| (NaN if any x_i is NaN) the caller has; returns m/127.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Quantize<TIsa>(ReadOnlySpan<float> x, Span<sbyte> q, float absMax) where TIsa : struct, IKernelIsa
    {
        Debug.Assert(q.Length >= x.Length);
        float m = MathF.Max(absMax, MinAbsMax);
        if (!float.IsFinite(m)) m = float.MaxValue; // NaN/Inf input: keep going, the caller detects non-finite output
        fixed (float* xp = x)
        fixed (sbyte* qp = q)
            TIsa.QuantizeRow(xp, qp, x.Length, 127f / m);
        return m / 127f;
    }

    /// <summary>Sums of q over consecutive 128-element blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BlockSums(ReadOnlySpan<sbyte> q, Span<int> sums)
    {
        // Integer sums, so any order gives the same result: 16-bit lanes widened from bytes (a lane sums 16 codes of a
        // block, at most 16 x 128 = 2048 in magnitude), then to 32 bits once per block.
        ref sbyte b0 = ref MemoryMarshal.GetReference(q);
        if (Vector256.IsHardwareAccelerated)
        {
            for (int b = 0; b < sums.Length; b++)
            {
                ref sbyte blk = ref Unsafe.Add(ref b0, b * QuantizedActivations.SumBlock);
                Vector256<short> acc = Vector256<short>.Zero;
                for (int i = 0; i < QuantizedActivations.SumBlock; i += 32)
                {
                    var v = Vector256.LoadUnsafe(ref blk, (nuint)i);
                    acc += Vector256.WidenLower(v) + Vector256.WidenUpper(v);
                }
                sums[b] = Vector256.Sum(Vector256.WidenLower(acc) + Vector256.WidenUpper(acc));
            }
            return;
        }
        for (int b = 0; b < sums.Length; b++)
        {
            ref sbyte blk = ref Unsafe.Add(ref b0, b * QuantizedActivations.SumBlock);
            Vector128<short> acc = Vector128<short>.Zero;
            for (int i = 0; i < QuantizedActivations.SumBlock; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref blk, (nuint)i);
                acc += Vector128.WidenLower(v) + Vector128.WidenUpper(v);
            }
            sums[b] = Vector128.Sum(Vector128.WidenLower(acc) + Vector128.WidenUpper(acc));
        }
    }
}
