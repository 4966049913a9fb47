using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// An LM head requantized at load to 8 bits (Q8_0 semantics: blocks of 32, d = absmax/127, q = round(x/d)), stored
/// as a plane of int8 codes [N, K] and a plane of float scales [N, K/32] so the decode loop needs no half
/// conversions. It halves the head's bytes per token (2B4T: 657 MB F16 -> 369 MB) for a small logit error.
/// The activations are quantized the same way per call; a block's dot is exact in int32 (|q| &lt;= 127, 32 terms).
/// <para>
/// Codes are stored (and activations laid out per call) block-interleaved: within each group of <see cref="Group"/>
/// consecutive blocks (256 values), byte <c>g * 32 + j * 4 + i</c> holds element <c>4g + i</c> of block j. A 32-byte
/// load then holds four elements of each of eight blocks, so an integer dot over a group's eight loads leaves block j's
/// whole dot in lane j: one conversion and one multiply-add by the eight blocks' scales per 256 values, instead of one
/// per block. Blocks past the last whole group stay in plain order.
/// </para>
/// <para>
/// Stored codes are biased: <c>w ^ 0x80</c>, i.e. w + 128 as an unsigned byte, which <c>vpdpbusd</c> multiplies by the
/// signed activations directly; the kernels subtract <c>128 * sum(x)</c> per block (<see cref="BiasSums"/>, computed
/// with the activations), and instruction sets without an unsigned-by-signed dot flip the bit back.
/// </para>
/// </summary>
public sealed unsafe class Q8RowMatrix : IRowMatrix, IDisposable
{
    public const int Block = 32;

    /// <summary>Blocks per interleaved group (see the class comment).</summary>
    public const int Group = 8;

    private readonly NativeBuffer<sbyte> _codes;
    private readonly NativeBuffer<float> _scales;

    [ThreadStatic] private static sbyte[]? t_plain;
    [ThreadStatic] private static sbyte[]? t_xq;
    [ThreadStatic] private static float[]? t_xd;
    [ThreadStatic] private static int[]? t_xs;

    /// <summary>Requantizes every row of <paramref name="source"/> (decoded through its own reference decoder).</summary>
    public Q8RowMatrix(FloatMatrix source)
    {
        if (source.K % Block != 0) throw new InvalidDataException($"tensor '{source.Name}': {source.K} columns are not a multiple of {Block}");
        Name = source.Name;
        K = source.K;
        N = source.N;
        _codes = new NativeBuffer<sbyte>((long)N * K, zero: false);
        _scales = new NativeBuffer<float>((long)N * (K / Block), zero: false);
        var row = new float[K];
        var plain = new sbyte[K];
        for (int r = 0; r < N; r++)
        {
            source.DecodeRow(r, row);
            Quantize(row, plain, new Span<float>(_scales.Pointer + (long)r * (K / Block), K / Block));
            EncodeCodes(plain, new Span<sbyte>(_codes.Pointer + (long)r * K, K));
        }
    }

    public string Name { get; }
    public int K { get; }
    public int N { get; }
    public string FormatName => "Q8_0 (requantized)";
    public long BytesPerPass => (long)N * K + (long)N * (K / Block) * sizeof(float);

    /// <summary>Q8_0 quantization of one row: per 32 values d = absmax / 127, q = round(x / d).</summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<sbyte> q, Span<float> d)
    {
        for (int b = 0; b < d.Length; b++)
        {
            var blk = x.Slice(b * Block, Block);
            float amax = 0;
            foreach (var v in blk) amax = MathF.Max(amax, MathF.Abs(v));
            float scale = amax / 127f;
            float inv = scale > 0 ? 1f / scale : 0f;
            d[b] = scale;
            for (int i = 0; i < Block; i++) q[b * Block + i] = (sbyte)Math.Clamp(MathF.Round(blk[i] * inv), -127f, 127f);
        }
    }

    /// <summary>One row's codes from plain order to the block-interleaved order of the class comment.</summary>
    public static void Interleave(ReadOnlySpan<sbyte> plain, Span<sbyte> interleaved)
    {
        int k = plain.Length, grouped = k / (Group * Block) * (Group * Block);
        for (int start = 0; start < grouped; start += Group * Block)
            for (int j = 0; j < Group; j++)
                for (int e = 0; e < Block; e++)
                    interleaved[start + e / 4 * 32 + j * 4 + e % 4] = plain[start + j * Block + e];
        plain[grouped..].CopyTo(interleaved[grouped..]);
    }

    /// <summary>One row's codes as stored: block-interleaved and biased (<c>w ^ 0x80</c>).</summary>
    public static void EncodeCodes(ReadOnlySpan<sbyte> plain, Span<sbyte> stored)
    {
        Interleave(plain, stored);
        foreach (ref sbyte c in stored) c ^= unchecked((sbyte)0x80);
    }

    /// <summary>128 times the sum of each block of one token's codes: what the biased weights add to each block's dot.</summary>
    public static void BiasSums(ReadOnlySpan<sbyte> q, Span<int> sums)
    {
        for (int b = 0; b < sums.Length; b++)
        {
            int s = 0;
            foreach (sbyte v in q.Slice(b * Block, Block)) s += v;
            sums[b] = 128 * s;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MatMul(KernelSet kernels, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, Span<float> scratch)
    {
        int blocks = K / Block;
        if (t_xq is null || t_xq.Length < tokens * K) t_xq = new sbyte[tokens * K];
        if (t_plain is null || t_plain.Length < K) t_plain = new sbyte[K];
        if (t_xd is null || t_xd.Length < tokens * blocks) t_xd = new float[tokens * blocks];
        if (t_xs is null || t_xs.Length < tokens * blocks) t_xs = new int[tokens * blocks];
        fixed (sbyte* xq = t_xq)
        fixed (float* xd = t_xd)
        fixed (int* xs = t_xs)
        {
            for (int t = 0; t < tokens; t++)
            {
                Quantize(new ReadOnlySpan<float>(x + (long)t * xStride, K), t_plain, new Span<float>(xd + t * blocks, blocks));
                Interleave(t_plain.AsSpan(0, K), new Span<sbyte>(xq + t * K, K));
                BiasSums(t_plain.AsSpan(0, K), new Span<int>(xs + t * blocks, blocks));
            }
            kernels.Q8Rows(_codes.Pointer, _scales.Pointer, K, xq, xd, xs, tokens, y, yStride, r0, r1);
        }
    }

    public void Dispose()
    {
        _codes.Dispose();
        _scales.Dispose();
    }
}
