using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace BitNet.Runtime.Synthesis;

/// <summary>
/// xoshiro256** seeded through SplitMix64 from (seed, stream). Each tensor gets its own stream, so a tensor's values
/// depend only on the seed and its index, never on the encoding or on how the data is chunked. Bulk bytes come
/// 8 at a time: the synthesizer draws random bytes, not one call per weight.
/// </summary>
internal struct SynthesisRandom
{
    private Sampling.Xoshiro256StarStar _rng;

    public SynthesisRandom(ulong seed, ulong stream) =>
        _rng = new Sampling.Xoshiro256StarStar(seed ^ (stream * 0xD1B54A32D192ED03UL) ^ 0x5851F42D4C957F2DUL);

    public ulong NextUInt64() => _rng.NextUInt64();

    /// <summary>Uniform in [0, 1) with 24 bits.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, n) (multiply-shift; the bias is below 2^-32 for the n used here).</summary>
    public int NextInt(int n) => (int)(((NextUInt64() >> 32) * (ulong)n) >> 32);

    public void NextBytes(Span<byte> dst)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(dst);
        for (int i = 0; i < words.Length; i++) words[i] = NextUInt64();
        for (int i = words.Length * 8; i < dst.Length; i++) dst[i] = (byte)NextUInt64();
    }

    /// <summary>
    /// Random ternary codes 0, 1, 2 (t + 1): each random byte b becomes (3b) >> 8, so 86/85/85 of 256 values, about a
    /// third zeros. Vectorized where possible; the result is the same on every path.
    /// </summary>
    public void NextTernaryCodes(Span<byte> codes)
    {
        NextBytes(codes);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var three = Vector256.Create((ushort)3);
            for (; i <= codes.Length - 32; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create<byte>(codes[i..]));
                Vector256.Narrow((lo * three) >> 8, (hi * three) >> 8).CopyTo(codes[i..]);
            }
        }
        for (; i < codes.Length; i++) codes[i] = (byte)((codes[i] * 3) >> 8);
    }

}

/// <summary>
/// The standard normal distribution sampled through a table: entry u is the quantile at (u + 0.5) / 65536, so a
/// random 16-bit number indexes a normal sample (tails cut at ~4.3 sigma, which is all an embedding needs).
/// </summary>
internal static class NormalTable
{
    public const int Size = 1 << 16;

    private static readonly Lazy<float[]> Quantiles = new(Build);

    public static ReadOnlySpan<float> StandardQuantiles => Quantiles.Value;

    private static float[] Build()
    {
        var t = new float[Size];
        for (int u = 0; u < Size; u++) t[u] = (float)InverseNormalCdf((u + 0.5) / Size);
        return t;
    }

    // Acklam's rational approximation (relative error < 1.2e-9), far finer than the f16 the values end up in.
    private static double InverseNormalCdf(double p)
    {
        ReadOnlySpan<double> a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        ReadOnlySpan<double> b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        ReadOnlySpan<double> c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        ReadOnlySpan<double> d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double low = 0.02425;
        if (p < low || p > 1 - low)
        {
            double q = Math.Sqrt(-2 * Math.Log(p < low ? p : 1 - p));
            double x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                       ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
            return p < low ? x : -x;
        }
        double r0 = p - 0.5, r = r0 * r0;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * r0 /
               (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
}
