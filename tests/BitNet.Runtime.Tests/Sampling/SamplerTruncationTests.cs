using BitNet.Runtime.Sampling;
using static BitNet.Runtime.Tests.Sampling.SamplerTestData;

namespace BitNet.Runtime.Tests.Sampling;

public class SamplerTruncationTests
{
    // Probabilities placed out of index order so no rule can pass by accident of index order:
    // token 2: 0.4, token 0: 0.3, token 3: 0.2, token 1: 0.1.
    private static readonly float[] FourTokens = FromProbabilities(0.3, 0.1, 0.4, 0.2);

    [Theory]
    [InlineData(0.35f, new[] { 2 })]
    [InlineData(0.65f, new[] { 0, 2 })]
    [InlineData(0.75f, new[] { 0, 2, 3 })]
    [InlineData(0.95f, new[] { 0, 1, 2, 3 })]
    [InlineData(1.0f, new[] { 0, 1, 2, 3 })]
    public void TopP_KeepsTheSmallestPrefixReachingP(float topP, int[] expected)
    {
        var support = Support(new SamplingParameters { TopP = topP, Seed = 7 }, FourTokens, 3000);
        Assert.Equal(expected, support);
    }

    [Theory]
    [InlineData(0.1f, new[] { 0, 1, 2, 3 })]    // keeps p >= 0.04
    [InlineData(0.3f, new[] { 0, 2, 3 })]       // keeps p >= 0.12
    [InlineData(0.6f, new[] { 0, 2 })]          // keeps p >= 0.24
    [InlineData(0.9f, new[] { 2 })]             // keeps p >= 0.36
    public void MinP_KeepsTokensAtLeastMinPTimesTheBest(float minP, int[] expected)
    {
        var support = Support(new SamplingParameters { MinP = minP, Seed = 7 }, FourTokens, 3000);
        Assert.Equal(expected, support);
    }

    [Theory]
    [InlineData(1, new[] { 2 })]
    [InlineData(2, new[] { 0, 2 })]
    [InlineData(3, new[] { 0, 2, 3 })]
    [InlineData(4, new[] { 0, 1, 2, 3 })]
    public void TopK_KeepsTheKMostLikely(int topK, int[] expected)
    {
        var support = Support(new SamplingParameters { TopK = topK, Seed = 7 }, FourTokens, 3000);
        Assert.Equal(expected, support);
    }

    [Fact]
    public void TopP_AppliesAfterTopK_OnTheRenormalizedDistribution()
    {
        // Top-2 = {2: 0.4, 0: 0.3} renormalized to {4/7, 3/7}: top-p 0.55 keeps only token 2 (on the
        // unrenormalized distribution 0.4 < 0.55 would keep token 0 too), while 0.6 keeps both.
        Assert.Equal([2], Support(new SamplingParameters { TopK = 2, TopP = 0.55f, Seed = 3 }, FourTokens, 2000));
        Assert.Equal([0, 2], Support(new SamplingParameters { TopK = 2, TopP = 0.6f, Seed = 3 }, FourTokens, 2000));
    }

    [Fact]
    public void Temperature_ReshapesTheDistributionBeforeTruncation()
    {
        // At temperature 0.5 the probabilities become proportional to p^2: 0.16, 0.09, 0.04, 0.01 (/0.30),
        // i.e. 0.533, 0.3, 0.133, 0.033: top-p 0.8 keeps {2, 0} where at temperature 1 it keeps {2, 0, 3}.
        Assert.Equal([0, 2], Support(new SamplingParameters { Temperature = 0.5f, TopP = 0.8f, Seed = 5 }, FourTokens, 3000));
        Assert.Equal([0, 2, 3], Support(new SamplingParameters { TopP = 0.8f, Seed = 5 }, FourTokens, 3000));
    }

    [Theory]
    [InlineData(1.0f, 0.6)]
    [InlineData(2.0f, 0.5505102572)]   // sqrt(0.6) / (sqrt(0.6) + sqrt(0.4))
    [InlineData(0.5f, 0.6923076923)]   // 0.36 / (0.36 + 0.16)
    public void Draws_FollowTheTemperedSoftmax(float temperature, double expectedFirst)
    {
        var logits = FromProbabilities(0.6, 0.4);
        var sampler = new Sampler(2, new SamplingParameters { Temperature = temperature, Seed = 11 });
        var work = new float[2];
        int first = 0;
        const int draws = 40_000;
        for (int i = 0; i < draws; i++)
        {
            logits.CopyTo(work, 0);
            if (sampler.Sample(work) == 0) first++;
        }
        // 4.5 standard deviations of a binomial with 40k draws: a real bias fails, noise does not.
        Assert.InRange(first / (double)draws, expectedFirst - 0.011, expectedFirst + 0.011);
    }

    [Theory]
    [InlineData(1.0, 1)]
    [InlineData(1.0, 30)]
    [InlineData(0.7, 300)]     // beyond the first 256-token window: the bucket path
    [InlineData(1.5, 4000)]
    [InlineData(1.0, 6000)]
    public void TopP_OnALargeVocabulary_KeepsExactlyTheNucleus(double temperature, int expectedCount)
    {
        var logits = Gaussian(20_000, seed: 1, scale: 2.0);
        var order = RankOrder(logits);
        var p = Softmax(logits, order, temperature);
        double before = 0;
        for (int i = 0; i < expectedCount - 1; i++) before += p[i];
        // P halfway between the cumulative sums of expectedCount-1 and expectedCount tokens: far from rounding.
        float topP = (float)(before + p[expectedCount - 1] / 2);

        var sampler = new Sampler(logits.Length, new SamplingParameters { Temperature = (float)temperature, TopP = topP, Seed = 1 });
        sampler.Sample((float[])logits.Clone());

        Assert.Equal(order[..expectedCount].Order(), sampler.LastCandidates.ToArray().Order());
    }

    [Fact]
    public void TopP_OnAFlatDistribution_BreaksTiesByTokenId()
    {
        // 4000 equally likely tokens, the rest banned: top-p at 2000.5 / 4000 keeps exactly the 2001 lowest ids.
        var logits = new float[10_000];
        Array.Fill(logits, float.NegativeInfinity);
        for (int i = 0; i < 4000; i++) logits[i * 2 + 1] = 0.25f;
        var sampler = new Sampler(logits.Length, new SamplingParameters { TopP = 2000.5f / 4000, Seed = 1 });

        int token = sampler.Sample((float[])logits.Clone());

        Assert.Equal(Enumerable.Range(0, 2001).Select(i => i * 2 + 1), sampler.LastCandidates.ToArray().Order());
        Assert.Equal(1, token % 2);
    }

    [Fact]
    public void TopPWithMinP_OnAWideNucleus_KeepsTheIntersection()
    {
        var logits = Gaussian(20_000, seed: 5, scale: 1.0);
        var order = RankOrder(logits);
        double max = logits[order[0]];
        var ratio = Array.ConvertAll(order, id => Math.Exp(logits[id] - max));
        int minPCount = Array.FindIndex(ratio, r => r < 0.1);
        float minP = (float)((ratio[minPCount - 1] + ratio[minPCount]) / 2);

        // Top-p alone would keep far more than min-p does.
        var sampler = new Sampler(logits.Length, new SamplingParameters { TopP = 0.9f, MinP = minP, Seed = 1 });
        sampler.Sample((float[])logits.Clone());

        Assert.True(minPCount > 256, "the case must take the bucket path");
        Assert.Equal(order[..minPCount].Order(), sampler.LastCandidates.ToArray().Order());
    }

    [Theory]
    [InlineData(0.8, 0.05, -1)]      // min-p alone: a linear filter
    [InlineData(1.0, 0.3, 50)]       // min-p inside top-k
    [InlineData(1.2, 0.02, 0)]       // min-p cuts before a wide top-p (the bucket path)
    public void MinP_OnALargeVocabulary_KeepsExactlyTheTokensAboveTheThreshold(double temperature, double minPGuess, int topK)
    {
        var logits = Gaussian(20_000, seed: 2, scale: 2.0);
        var order = RankOrder(logits);
        double max = logits[order[0]];
        var ratio = Array.ConvertAll(order, id => Math.Exp((logits[id] - max) / temperature));
        // Move min-p to the middle of the gap around the guess so float rounding cannot flip a token.
        int count = Array.FindIndex(ratio, r => r < minPGuess);
        float minP = (float)((ratio[count - 1] + ratio[count]) / 2);
        if (topK > 0) count = Math.Min(count, topK);

        var parameters = new SamplingParameters
        {
            Temperature = (float)temperature, MinP = minP, TopK = Math.Max(topK, 0),
            TopP = topK == 0 ? 0.999f : 1f, Seed = 1,
        };
        var sampler = new Sampler(logits.Length, parameters);
        sampler.Sample((float[])logits.Clone());

        Assert.Equal(order[..count].Order(), sampler.LastCandidates.ToArray().Order());
    }

    [Fact]
    public void TopKAndTopP_OnALargeVocabulary_KeepTheNucleusOfTheTopK()
    {
        var logits = Gaussian(20_000, seed: 3, scale: 1.0);
        var order = RankOrder(logits);
        var p = Softmax(logits, order.AsSpan(0, 100), 1.0);
        float topP = (float)(p.AsSpan(0, 40).ToArray().Sum() + p[40] / 2);   // 41 of the top 100

        var sampler = new Sampler(logits.Length, new SamplingParameters { TopK = 100, TopP = topP, Seed = 1 });
        sampler.Sample((float[])logits.Clone());

        Assert.Equal(order[..41], sampler.LastCandidates.ToArray());
    }

    [Fact]
    public void NoTruncation_DrawsFromTheWholeVocabulary()
    {
        var sampler = new Sampler(1000, new SamplingParameters { Seed = 1 });
        sampler.Sample(Gaussian(1000, seed: 4, scale: 1.0));
        Assert.Equal(-1, sampler.LastCandidateCount);
    }
}
