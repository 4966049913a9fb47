using System.Numerics.Tensors;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// The per-token pieces that the batched forward pass computes beside the int8 codes, each against its definition:
/// the block sums and totals, the token-lane copy (<see cref="QuantizedActivations"/>' layout comment), and the fused
/// relu² gate, which must equal the three TensorPrimitives passes it replaced to the bit (NaN as NaN).
/// </summary>
public sealed unsafe class ActivationLayoutTests
{
    [Theory]
    [InlineData(1, 128)]
    [InlineData(4, 640)]
    [InlineData(7, 256)]
    [InlineData(8, 2560)]
    [InlineData(9, 384)]
    [InlineData(16, 128)]
    [InlineData(17, 6912)]
    [InlineData(40, 512)]
    public void BlockSumsTotalsAndLanesFollowTheirDefinitions(int tokens, int k)
    {
        var rng = new Random(tokens * 31 + k);
        var x = new float[tokens * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        // A token of equal magnitudes saturates every code at +-127: the block sums' widest case.
        for (int i = 0; i < k; i++) x[i] = i % 3 == 0 ? -1f : 1f;
        using var act = new QuantizedActivations(tokens, k);
        fixed (float* xp = x) act.Quantize(KernelSet.Best, xp, tokens, k, k);

        for (int t = 0; t < tokens; t++)
        {
            int total = 0;
            for (int b = 0; b < k / QuantizedActivations.SumBlock; b++)
            {
                int sum = 0;
                for (int i = 0; i < QuantizedActivations.SumBlock; i++) sum += act.Q[(long)t * k + b * QuantizedActivations.SumBlock + i];
                Assert.Equal(sum, act.BlockSums[t * act.SumsPerToken + b]);
                total += sum;
            }
            Assert.Equal(total, act.Totals[t]);
        }

        Assert.Equal(tokens >= TernaryTiles.MinTokens, act.HasLanes);
        if (!act.HasLanes) return;
        for (int tile = 0; tile < act.LaneTiles; tile++)
        {
            int count = Math.Min(16, tokens - tile * 16), v = count > 8 ? 2 : 1;
            sbyte* lanes = act.Lanes + (long)tile * 16 * k;
            for (int g = 0; g < k / 4; g++)
                for (int lane = 0; lane < 8 * v; lane++)
                    for (int e = 0; e < 4; e++)
                    {
                        sbyte expected = lane < count ? act.Q[(long)(tile * 16 + lane) * k + 4 * g + e] : (sbyte)0;
                        Assert.Equal(expected, lanes[g * 32 * v + lane * 4 + e]);
                    }
        }
    }

    [Fact]
    public void BlockSumsOfExtremeCodes()
    {
        foreach (sbyte value in new sbyte[] { -128, 127, -1 })
        {
            using var act = new QuantizedActivations(5, 384);
            act.Prepare(5, 384);
            act.FillForTesting(value);
            for (int t = 0; t < 5; t++)
            {
                for (int b = 0; b < 3; b++) Assert.Equal(128 * value, act.BlockSums[t * 3 + b]);
                Assert.Equal(384 * value, act.Totals[t]);
            }
        }
    }

    [Fact]
    public void FusedReluSquaredGateEqualsTheThreePassesBitForBit()
    {
        var rng = new Random(11);
        float[] specials = [float.NaN, -0f, 0f, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon,
            1e-20f, 3e19f, float.MaxValue, -float.MaxValue, 1f, -1f];
        for (int n = 0; n <= 70; n++)
        {
            var g = new float[n];
            var u = new float[n];
            for (int i = 0; i < n; i++)
            {
                g[i] = rng.Next(4) == 0 ? specials[rng.Next(specials.Length)] : (float)(rng.NextDouble() * 8 - 4);
                u[i] = rng.Next(5) == 0 ? specials[rng.Next(specials.Length)] : (float)(rng.NextDouble() * 8 - 4);
            }
            var expected = (float[])g.Clone();
            TensorPrimitives.Max(expected, 0f, expected);
            TensorPrimitives.Multiply(expected, expected, expected);
            TensorPrimitives.Multiply(expected, u, expected);
            fixed (float* gp = g) fixed (float* up = u) Transformer.ReluSquaredTimes(gp, up, n);
            for (int i = 0; i < n; i++)
            {
                if (float.IsNaN(expected[i])) Assert.True(float.IsNaN(g[i]), $"n {n}, element {i}: NaN expected"); // any payload
                else Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(g[i]));
            }
        }
    }
}
