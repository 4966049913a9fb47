using BitNet.Runtime.Kernels;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// The rebiasing F16 widening and its exceptions: exact for every normal half, every zero and subnormal listed with
/// the difference, and the scan's refusals (inf/NaN, too many exceptions) that send a matrix back to the other widenings.
/// </summary>
public sealed unsafe class HalfExceptionsTests
{
    [Fact]
    public void RebiasingIsExactForEveryNormalHalfAndListedOtherwise()
    {
        for (int h = 0; h < 65536; h++)
        {
            int exponent = h >> 10 & 0x1F;
            if (exponent == 31) continue; // inf/NaN: such matrices never take the rebiasing widening
            float exact = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            float rebiased = HalfExceptions.Rebiased((ushort)h);
            if (exponent != 0) Assert.Equal(exact, rebiased);
            else Assert.NotEqual(exact, rebiased); // zero and subnormals: the scan lists them
        }
    }

    [Fact]
    public void TheScanListsEachZeroAndSubnormalWithTheExactDifference()
    {
        const int k = 40, n = 3;
        var rows = new ushort[k * n];
        for (int i = 0; i < rows.Length; i++) rows[i] = BitConverter.HalfToUInt16Bits((Half)(0.25 + i));
        rows[5] = 0x0000;             // +0, row 0
        rows[k + 17] = 0x8001;        // the smallest negative subnormal, row 1
        rows[k + 39] = 0x03FF;        // the largest subnormal, row 1 (in the scalar tail of a vector scan)
        fixed (ushort* p = rows)
        {
            var (finite, ex) = HalfExceptions.Scan(p, k, n, long.MaxValue);
            Assert.True(finite);
            Assert.NotNull(ex);
            Assert.Equal(3, ex.Count);
            Assert.Equal([0, 1, 3, 3], ex.RowStart);
            Assert.Equal([5, 17, 39], ex.Column);
            foreach (var (e, h) in new[] { (0, (ushort)0x0000), (1, (ushort)0x8001), (2, (ushort)0x03FF) })
                Assert.Equal((float)BitConverter.UInt16BitsToHalf(h), HalfExceptions.Rebiased(h) + ex.Delta[e]);
        }
    }

    [Fact]
    public void AnInfOrNaNHalfMakesTheMatrixNonFiniteWithoutExceptions()
    {
        foreach (ushort bad in new ushort[] { 0x7C00, 0xFC00, 0x7E00 })
        {
            var rows = new ushort[64 * 4];
            rows[130] = 0x0001;
            rows[200] = bad;
            fixed (ushort* p = rows)
            {
                var (finite, ex) = HalfExceptions.Scan(p, 64, 4);
                Assert.False(finite);
                Assert.Null(ex);
            }
        }
    }

    [Fact]
    public void MoreThanOneExceptionInSixtyFourHalvesIsNotWorthCorrecting()
    {
        const int k = 64, n = 64; // 4096 halves: up to 64 exceptions are kept
        var rows = new ushort[k * n];
        Array.Fill(rows, (ushort)0x3C00);
        fixed (ushort* p = rows)
        {
            for (int i = 0; i < 64; i++) p[i * 64] = 0;
            Assert.NotNull(HalfExceptions.Scan(p, k, n).Exceptions);
            p[1] = 0;
            var (finite, ex) = HalfExceptions.Scan(p, k, n);
            Assert.True(finite);
            Assert.Null(ex);
        }
    }

    [Fact]
    public void AnF16MatrixWithZerosAndSubnormalsComputesTheExactDotsOnEveryVariant()
    {
        // Through FloatMatrix, as the head runs: the scan finds the exceptions and every variant corrects them.
        const int k = 256, n = 37;
        var rng = new Random(11);
        var rows = new ushort[k * n];
        for (int i = 0; i < rows.Length; i++) rows[i] = BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() * 2 - 1));
        for (int i = 3; i < rows.Length; i += 101) rows[i] = (ushort)(rng.Next(2) << 15 | rng.Next(0x400));
        foreach (int tokens in new[] { 1, 2, 4, 8, 11 })
        {
            var x = new float[tokens * k];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
            fixed (ushort* p = rows) fixed (float* xp = x)
            {
                var m = new FloatMatrix("head", TensorFormats.F16, (byte*)p, rows.Length * 2L, k, n);
                Assert.NotNull(m.Exceptions);
                foreach (var v in KernelSet.Supported)
                {
                    var y = new float[tokens * n];
                    fixed (float* yp = y) m.MatMul(v, xp, tokens, k, yp, n, 0, n, new float[k]);
                    for (int t = 0; t < tokens; t++)
                        for (int r = 0; r < n; r++)
                        {
                            double exact = 0, magnitude = 0;
                            for (int j = 0; j < k; j++)
                            {
                                double term = (double)BitConverter.UInt16BitsToHalf(rows[r * k + j]) * x[t * k + j];
                                exact += term;
                                magnitude += Math.Abs(term);
                            }
                            Assert.True(Math.Abs(y[t * n + r] - exact) <= 1e-5 * magnitude, $"{v.Name} tokens={tokens} row {r}: {y[t * n + r]} vs {exact}");
                        }
                }
            }
        }
    }
}
