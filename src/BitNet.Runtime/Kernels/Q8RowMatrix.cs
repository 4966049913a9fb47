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

    [ThreadStatic] private static Q8Activations? t_activations;

    /// <summary>Requantizes every row of <paramref name="source"/> (decoded through its own reference decoder); the codes go in
    /// transparent huge pages where they are large enough and <paramref name="hugePages"/> allows (see <see cref="NativeBuffer{T}"/>).</summary>
    public Q8RowMatrix(FloatMatrix source, bool hugePages = true)
    {
        if (source.K % Block != 0) throw new InvalidDataException($"tensor '{source.Name}': {source.K} columns are not a multiple of {Block}");
        Name = source.Name;
        K = source.K;
        N = source.N;
        _codes = new NativeBuffer<sbyte>((long)N * K, zero: false, hugePages);
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

    /// <summary>Quantizes x (Q8_0 blocks, interleaved, with bias sums) once for every row range of the product.</summary>
    public RowActivations Prepare(float* x, int tokens, int xStride, RowActivations? reuse)
    {
        var a = reuse is Q8Activations q && q.Fits(tokens, K) ? q : new Q8Activations(tokens, K);
        a.Quantize(x, tokens, xStride);
        return a;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MatMul(KernelSet kernels, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, Span<float> scratch)
    {
        t_activations = (Q8Activations)Prepare(x, tokens, xStride, t_activations);
        MatMul(kernels, t_activations, x, tokens, xStride, y, yStride, r0, r1, scratch);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MatMul(KernelSet kernels, RowActivations? prepared, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, Span<float> scratch)
    {
        if (prepared is not Q8Activations a)
        {
            MatMul(kernels, x, tokens, xStride, y, yStride, r0, r1, scratch);
            return;
        }
        fixed (sbyte* xq = a.Codes)
        fixed (float* xd = a.Scales)
        fixed (int* xs = a.BiasSums)
            kernels.Q8Rows(_codes.Pointer, _scales.Pointer, K, xq, xd, xs, tokens, y, yStride, r0, r1);
    }

    /// <summary>One product's activations as the kernels take them: interleaved codes, block scales and bias sums.</summary>
    private sealed class Q8Activations(int tokens, int k) : RowActivations
    {
        public readonly sbyte[] Codes = new sbyte[tokens * k];
        public readonly float[] Scales = new float[tokens * (k / Block)];
        public readonly int[] BiasSums = new int[tokens * (k / Block)];
        private readonly sbyte[] _plain = new sbyte[k];

        public bool Fits(int tokens, int k) => _plain.Length == k && Codes.Length >= tokens * k;

        public void Quantize(float* x, int tokens, int xStride)
        {
            int k = _plain.Length, blocks = k / Block;
            for (int t = 0; t < tokens; t++)
            {
                Q8RowMatrix.Quantize(new ReadOnlySpan<float>(x + (long)t * xStride, k), _plain, Scales.AsSpan(t * blocks, blocks));
                Interleave(_plain, Codes.AsSpan(t * k, k));
                BiasSums(_plain, BiasSums.AsSpan(t * blocks, blocks));
            }
        }
    }

    public void Dispose()
    {
        _codes.Dispose();
        _scales.Dispose();
    }
}
