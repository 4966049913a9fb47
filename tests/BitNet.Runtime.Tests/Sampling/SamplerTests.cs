using BitNet.Runtime.Sampling;
using static BitNet.Runtime.Tests.Sampling.SamplerTestData;

namespace BitNet.Runtime.Tests.Sampling;

public class SamplerTests
{
    private static int[] Generate(SamplingParameters parameters, float[] logits, int count, bool accept = false)
    {
        var sampler = new Sampler(logits.Length, parameters);
        var work = new float[logits.Length];
        var tokens = new int[count];
        for (int i = 0; i < count; i++)
        {
            logits.CopyTo(work, 0);
            tokens[i] = sampler.Sample(work);
            if (accept) sampler.Accept(tokens[i]);
        }
        return tokens;
    }

    [Fact]
    public void SameSeed_GivesTheSameTokens_AndAnotherSeedDoesNot()
    {
        var logits = Gaussian(3000, seed: 1, scale: 1.5);
        var parameters = new SamplingParameters
        {
            Temperature = 0.9f, TopK = 200, TopP = 0.95f, RepetitionPenalty = 1.1f, PresencePenalty = 0.3f, Seed = 42,
        };

        var first = Generate(parameters, logits, 200, accept: true);
        var again = Generate(parameters, logits, 200, accept: true);
        var other = Generate(parameters with { Seed = 43 }, logits, 200, accept: true);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.True(first.Distinct().Count() > 20, "the test distribution should actually be random");
    }

    [Fact]
    public void WithoutSeed_EachSamplerDrawsItsOwnSeed()
    {
        var a = new Sampler(10, new SamplingParameters());
        var b = new Sampler(10, new SamplingParameters());
        Assert.NotEqual(a.Seed, b.Seed);
        Assert.Equal(123UL, new Sampler(10, new SamplingParameters { Seed = 123 }).Seed);
    }

    [Fact]
    public void TemperatureZero_IsGreedy_AndEqualsTopK1()
    {
        var greedy = new Sampler(5000, new SamplingParameters { Temperature = 0 });
        var tiny = new Sampler(5000, new SamplingParameters { Temperature = 1e-7f });
        var topK1 = new Sampler(5000, new SamplingParameters { TopK = 1, Seed = 9 });
        for (int seed = 0; seed < 40; seed++)
        {
            var logits = Gaussian(5000, seed, scale: 3.0);
            if (seed % 4 == 0) logits[4321] = logits[17] = logits.Max() + 1;   // a tie: the lower id wins
            int argmax = RankOrder(logits)[0];

            Assert.Equal(argmax, greedy.Sample((float[])logits.Clone()));
            Assert.Equal(argmax, tiny.Sample((float[])logits.Clone()));
            Assert.Equal(argmax, topK1.Sample((float[])logits.Clone()));
        }
    }

    [Fact]
    public void LogitBias_Minus100_BansTheToken()
    {
        var logits = new float[] { 0f, 5f, 1f, 0.5f };
        var bias = new Dictionary<int, float> { [1] = -100f };

        Assert.Equal(2, new Sampler(4, new SamplingParameters { Temperature = 0, LogitBias = bias }).Sample((float[])logits.Clone()));
        var support = Support(new SamplingParameters { LogitBias = bias, Seed = 1 }, logits, 5000);
        Assert.DoesNotContain(1, support);
        Assert.Equal([0, 2, 3], support);
    }

    [Fact]
    public void LogitBias_IsAddedToTheLogits()
    {
        var sampler = new Sampler(4, new SamplingParameters { Temperature = 0, LogitBias = new Dictionary<int, float> { [0] = 10f, [2] = -0.5f } });
        var after = LogitsAfterSample(sampler, [0f, 5f, 1f, 0.5f]);
        Assert.Equal([10f, 5f, 0.5f, 0.5f], after);
        Assert.Equal(0, sampler.Sample([0f, 5f, 1f, 0.5f]));
    }

    [Fact]
    public void Sample_RejectsWrongLengthAndInvalidLogits()
    {
        var sampler = new Sampler(4, new SamplingParameters());
        var e = Assert.Throws<ArgumentException>(() => sampler.Sample(new float[3]));
        Assert.Equal("logits", e.ParamName);
        Assert.Throws<InvalidOperationException>(() => sampler.Sample([0f, float.NaN, 1f, 2f]));
        Assert.Throws<InvalidOperationException>(() => sampler.Sample([float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity]));
    }

    [Fact]
    public void Sample_IgnoresMinusInfinityLogits()
    {
        var logits = new float[] { float.NegativeInfinity, 0f, float.NegativeInfinity, 0f };
        Assert.Equal([1, 3], Support(new SamplingParameters { Seed = 2 }, logits, 500));
        Assert.Equal([1, 3], Support(new SamplingParameters { Seed = 2, TopP = 0.9f }, logits, 500));
    }

    [Fact]
    public void Accept_RejectsIdsOutsideTheVocabulary()
    {
        var sampler = new Sampler(4, new SamplingParameters { PresencePenalty = 1, PenalizePrompt = true });
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Accept(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Accept(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.AcceptPrompt([0, 1, 9]));
    }
}
