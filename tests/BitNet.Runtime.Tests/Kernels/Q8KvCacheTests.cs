using BitNet.Runtime.Kernels;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Model;

namespace BitNet.Runtime.Tests.Kernels;

/// <summary>
/// The Q8_0 KV layout: per-block rounding error within half a step, zero blocks, padded short blocks, heads stored on
/// blocks of their own by the cache pool, and the attention kernel of every variant against the stored values.
/// </summary>
public sealed unsafe class Q8KvCacheTests
{
    [Theory]
    [InlineData(32)]
    [InlineData(100)]
    [InlineData(128)]
    public void EveryValueIsWithinHalfAStepOfItsBlockScale(int n)
    {
        var rng = new Random(n);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 8 - 4);
        x[n - 1] = -7.5f; // the last (short, for n = 100) block's extreme is negative
        var blocks = new byte[Q8KvLayout.HeadBytes(n)];
        var back = new float[n];
        fixed (float* xp = x) fixed (byte* bp = blocks) fixed (float* yp = back)
        {
            Q8KvLayout.Quantize(xp, n, bp);
            Q8KvLayout.Dequantize(bp, n, yp);
            for (int b = 0; b < Q8KvLayout.BlocksPerHead(n); b++)
            {
                float max = 0;
                for (int i = b * 32; i < Math.Min(n, b * 32 + 32); i++) max = Math.Max(max, Math.Abs(x[i]));
                float scale = Q8KvLayout.Scale(bp, b);
                Assert.Equal(max / 127f, scale);
                for (int i = b * 32; i < Math.Min(n, b * 32 + 32); i++)
                    Assert.True(Math.Abs(back[i] - x[i]) <= scale / 2 * 1.0001f, $"value {i}: {x[i]} came back as {back[i]}");
            }
            // The block holding the extreme stores it as code -127 exactly.
            Assert.Equal(-127, ((sbyte*)bp)[(n - 1) / 32 * Q8KvLayout.BlockBytes + (n - 1) % 32]);
        }
        if (n % 32 != 0) // the short block's padding codes are zero, so a wider read adds nothing
            for (int i = n % 32; i < 32; i++) Assert.Equal(0, blocks[(n / 32) * Q8KvLayout.BlockBytes + i]);
    }

    [Fact]
    public void AnAllZeroBlockHasScaleZeroAndZeroCodes()
    {
        var x = new float[64];
        x[40] = 1; // only the second block holds anything
        var blocks = new byte[Q8KvLayout.HeadBytes(64)];
        Array.Fill(blocks, (byte)0xAB);
        fixed (float* xp = x) fixed (byte* bp = blocks)
        {
            Q8KvLayout.Quantize(xp, 64, bp);
            Assert.Equal(0f, Q8KvLayout.Scale(bp, 0));
            for (int i = 0; i < 32; i++) Assert.Equal(0, blocks[i]);
            Assert.Equal(1f / 127, Q8KvLayout.Scale(bp, 1));
            Assert.Equal(127, ((sbyte*)bp)[Q8KvLayout.BlockBytes + 8]);
        }
    }

    [Fact]
    public void ThePoolStoresEachKvHeadOnItsOwnBlocksAndEveryVariantAttendsToThem()
    {
        // Head dimension 48: one full and one short block per head, two KV heads; stored by the pool as the forward pass does.
        var config = new ModelConfig
        {
            Architecture = "bitnet-b1.58", Embedding = 96, Layers = 1, Heads = 2, KvHeads = 2, HeadDim = 48, FeedForward = 64,
            Vocab = 16, Context = 32, RmsEps = 1e-5f, RopeTheta = 10000, RopeDim = 48, Activation = FfnActivation.ReluSquared,
            Traits = ArchitectureTraits.Find("bitnet-b1.58")!,
        };
        using var pool = new KvCachePool(config, 2, 20, KvCacheType.Q8_0);
        Assert.Equal(2 * Q8KvLayout.BlockBytes, pool.HeadBytes);
        Assert.Equal(2 * pool.HeadBytes, pool.PositionBytes);
        var rng = new Random(7);
        int positions = 20, kvd = config.KvDim;
        var keys = new float[positions * kvd];
        var values = new float[positions * kvd];
        for (int i = 0; i < keys.Length; i++) { keys[i] = (float)(rng.NextDouble() * 2 - 1); values[i] = (float)(rng.NextDouble() * 4 - 2); }
        for (int p = 0; p < positions; p++)
            pool.Store(1, 0, p, keys.AsSpan(p * kvd, kvd), values.AsSpan(p * kvd, kvd));

        var q = new float[48];
        for (int i = 0; i < 48; i++) q[i] = (float)(rng.NextDouble() * 2 - 1);
        const int head = 1;
        var storedK = new float[positions * 48];
        var storedV = new float[positions * 48];
        fixed (float* sk = storedK) fixed (float* sv = storedV)
            for (int p = 0; p < positions; p++)
            {
                Q8KvLayout.Dequantize(pool.Keys(1, 0) + p * pool.PositionBytes + head * pool.HeadBytes, 48, sk + p * 48);
                Q8KvLayout.Dequantize(pool.Values(1, 0) + p * pool.PositionBytes + head * pool.HeadBytes, 48, sv + p * 48);
                for (int i = 0; i < 48; i++) Assert.True(Math.Abs(sk[p * 48 + i] - keys[p * kvd + head * 48 + i]) <= 1f / 254 + 1e-6f);
            }
        var expected = ExactAttention(q, storedK, storedV, positions, 48);
        foreach (var kernels in KernelSet.Supported)
        {
            var output = new float[48];
            var scores = new float[positions];
            fixed (float* qp = q) fixed (float* op = output)
                kernels.Attend(KvCacheType.Q8_0, qp, 1, pool.Keys(1, 0) + head * pool.HeadBytes, pool.Values(1, 0) + head * pool.HeadBytes,
                    (int)pool.PositionBytes, positions, 48, scores, op);
            for (int i = 0; i < 48; i++) Assert.True(Math.Abs(output[i] - expected[i]) < 1e-4, $"{kernels.Name} [{i}]: {output[i]} vs {expected[i]}");
        }
    }

    [Fact]
    public void CopyPrefixMovesQ8Positions()
    {
        var config = new ModelConfig
        {
            Architecture = "bitnet-b1.58", Embedding = 64, Layers = 2, Heads = 1, KvHeads = 1, HeadDim = 64, FeedForward = 64,
            Vocab = 16, Context = 16, RmsEps = 1e-5f, RopeTheta = 10000, RopeDim = 64, Activation = FfnActivation.ReluSquared,
            Traits = ArchitectureTraits.Find("bitnet-b1.58")!,
        };
        using var pool = new KvCachePool(config, 2, 8, KvCacheType.Q8_0);
        var k = Enumerable.Range(0, 64).Select(i => i / 10f).ToArray();
        for (int l = 0; l < 2; l++) for (int p = 0; p < 3; p++) pool.Store(0, l, p, k, k);
        pool.CopyPrefix(0, 1, 3);
        for (int l = 0; l < 2; l++)
            Assert.True(new ReadOnlySpan<byte>(pool.Keys(0, l), (int)(3 * pool.PositionBytes))
                .SequenceEqual(new ReadOnlySpan<byte>(pool.Keys(1, l), (int)(3 * pool.PositionBytes))));
    }

    private static double[] ExactAttention(float[] q, float[] k, float[] v, int n, int hd)
    {
        var p = new double[n];
        double max = double.NegativeInfinity, sum = 0;
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int i = 0; i < hd; i++) s += (double)q[i] * k[j * hd + i];
            p[j] = s / Math.Sqrt(hd);
            max = Math.Max(max, p[j]);
        }
        for (int j = 0; j < n; j++) sum += p[j] = Math.Exp(p[j] - max);
        var o = new double[hd];
        for (int i = 0; i < hd; i++)
            for (int j = 0; j < n; j++) o[i] += p[j] / sum * v[j * hd + i];
        return o;
    }
}
