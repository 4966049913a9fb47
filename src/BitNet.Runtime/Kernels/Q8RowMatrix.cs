using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    public void MatMul(float* x, int tokens, int xStride, float* y, int yStride, int r0, int r1, Span<float> scratch)
    {
        int blocks = K / Block;
        if (t_xq is null || t_xq.Length < tokens * K) t_xq = new sbyte[tokens * K];
        if (t_xd is null || t_xd.Length < tokens * blocks) t_xd = new float[tokens * blocks];
        fixed (sbyte* xq = t_xq)
        fixed (float* xd = t_xd)
        {
            for (int t = 0; t < tokens; t++)
                Quantize(new ReadOnlySpan<float>(x + (long)t * xStride, K), new Span<sbyte>(xq + t * K, K), new Span<float>(xd + t * blocks, blocks));
            // Rows outer, tokens inner: each row is read from memory once and reused from L1 for every token.
            for (int r = r0; r < r1; r++)
            {
                sbyte* w = _codes.Pointer + (long)r * K;
                float* wd = _scales.Pointer + (long)r * blocks;
                for (int t = 0; t < tokens; t++)
                    y[(long)t * yStride + r] = RowDot(w, wd, xq + t * K, xd + t * blocks, blocks);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RowDot(sbyte* w, float* wd, sbyte* xq, float* xd, int blocks)
    {
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            var ones = Vector256.Create((short)1);
            var acc = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                var wv = Avx.LoadVector256(w + b * Block);
                var xv = Avx.LoadVector256(xq + b * Block);
                // Signed x signed through maddubs: |w| (unsigned) times x with w's sign; pairs stay within int16.
                var prod = Avx2.MultiplyAddAdjacent(Avx2.Abs(wv), Avx2.Sign(xv, wv));
                var isum = Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(prod, ones));
                acc = Fma.MultiplyAdd(isum, Vector256.Create(wd[b] * xd[b]), acc);
            }
            return Vector256.Sum(acc);
        }
        float sum = 0;
        for (int b = 0; b < blocks; b++)
        {
            int isum = 0;
            for (int i = 0; i < Block; i++) isum += w[b * Block + i] * xq[b * Block + i];
            sum += isum * (wd[b] * xd[b]);
        }
        return sum;
    }

    public void Dispose()
    {
        _codes.Dispose();
        _scales.Dispose();
    }
}
