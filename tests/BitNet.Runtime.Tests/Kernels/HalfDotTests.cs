using System.Runtime.Intrinsics.X86;
using BitNet.Runtime.Kernels;

namespace BitNet.Runtime.Tests.Kernels;

public sealed unsafe class HalfDotTests
{
    [Fact]
    public void WidenIsExactForEveryHalfBitPattern()
    {
        if (!HalfDot.UseAvx2) return; // the scalar path is (float)Half itself
        var bits = new ushort[65536];
        for (int i = 0; i < bits.Length; i++) bits[i] = (ushort)i;
        var got = new float[8];
        fixed (ushort* p = bits)
        fixed (float* g = got)
        {
            for (int i = 0; i < bits.Length; i += 8)
            {
                Avx.Store(g, HalfDot.Widen(p + i));
                for (int j = 0; j < 8; j++)
                {
                    float expected = (float)BitConverter.UInt16BitsToHalf(bits[i + j]);
                    if (float.IsNaN(expected)) Assert.True(float.IsNaN(got[j]), $"0x{i + j:X4}");
                    else Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got[j]),
                        $"0x{i + j:X4}: expected {expected}, got {got[j]}");
                }
            }
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(2560)]
    [InlineData(13)]
    public void DotMatchesScalar(int k)
    {
        var rng = new Random(k);
        var rows = new ushort[4 * k];
        var x = new float[k];
        for (int i = 0; i < rows.Length; i++) rows[i] = BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() * 4 - 2));
        for (int i = 0; i < k; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        var four = new float[4];
        fixed (ushort* r = rows)
        fixed (float* xp = x)
        fixed (float* y = four)
        {
            for (int i = 0; i < 4; i++)
            {
                float expected = HalfDot.DotScalar(r + i * k, xp, k);
                Assert.Equal(expected, HalfDot.Dot(r + i * k, xp, k), Math.Max(1e-3f, Math.Abs(expected) * 1e-5f));
            }
            // One row against 2..4 token vectors (the four rows' x reuse the same buffer with stride 0 here is
            // avoided: use distinct vectors made from the rows themselves).
            var xs = new float[8 * k];
            for (int i = 0; i < xs.Length; i++) xs[i] = (float)(rng.NextDouble() * 2 - 1);
            fixed (float* xsp = xs)
            {
                var eight = new float[8];
                fixed (float* e = eight)
                {
                    HalfDot.DotTokens8(r, xsp, k, k, e);
                    for (int t = 0; t < 8; t++)
                    {
                        float expected = HalfDot.DotScalar(r, xsp + t * k, k);
                        Assert.Equal(expected, eight[t], Math.Max(1e-3f, Math.Abs(expected) * 1e-5f));
                    }
                }
                for (int tokens = 2; tokens <= 4; tokens++)
                {
                    HalfDot.DotTokens(r, xsp, k, tokens, k, y);
                    for (int t = 0; t < tokens; t++)
                    {
                        float expected = HalfDot.DotScalar(r, xsp + t * k, k);
                        Assert.Equal(expected, four[t], Math.Max(1e-3f, Math.Abs(expected) * 1e-5f));
                    }
                }
            }
        }
    }
}
