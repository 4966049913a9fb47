using System.Runtime.CompilerServices;

namespace BitNet.Runtime.Kernels;

/// <summary>
/// An LM head requantized at load to 8 bits (Q8_0 semantics: blocks of 32, d = absmax/127, q = round(x/d)), stored
/// as a plane of int8 codes [N, K] and a plane of float scales [N, K/32] so the decode loop needs no half
/// conversions. It halves the head's bytes per token (2B4T: 657 MB F16 -> 369 MB) for a small logit error.
/// The activations are quantized the same way per call; a block's dot is exact in int32 (|q| &lt;= 127, 32 terms).
/// </summary>
public sealed unsafe class Q8RowMatrix : IRowMatrix, IDisposable
{
    public const int Block = 32;

    private readonly NativeBuffer<sbyte> _codes;
    private readonly NativeBuffer<float> _scales;

    [ThreadStatic] private static sbyte[]? t_xq;
    [ThreadStatic] private static float[]? t_xd;

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
        for (int r = 0; r < N; r++)
        {
            source.DecodeRow(r, row);
            Quantize(row, new Span<sbyte>(_codes.Pointer + (long)r * K, K), new Span<float>(_scales.Pointer + (long)r * (K / Block), K / Block));
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MatMul(KernelSet kernels, float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, Span<float> scratch)
    {
        int blocks = K / Block;
        if (t_xq is null || t_xq.Length < tokens * K) t_xq = new sbyte[tokens * K];
        if (t_xd is null || t_xd.Length < tokens * blocks) t_xd = new float[tokens * blocks];
        fixed (sbyte* xq = t_xq)
        fixed (float* xd = t_xd)
        {
            for (int t = 0; t < tokens; t++)
                Quantize(new ReadOnlySpan<float>(x + (long)t * xStride, K), new Span<sbyte>(xq + t * K, K), new Span<float>(xd + t * blocks, blocks));
            kernels.Q8Rows(_codes.Pointer, _scales.Pointer, K, xq, xd, tokens, y, yStride, r0, r1);
        }
    }

    public void Dispose()
    {
        _codes.Dispose();
        _scales.Dispose();
    }
}
