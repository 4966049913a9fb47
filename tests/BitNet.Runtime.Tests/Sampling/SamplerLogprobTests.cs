using BitNet.Runtime.Sampling;
using static BitNet.Runtime.Tests.Sampling.SamplerTestData;

namespace BitNet.Runtime.Tests.Sampling;

public class SamplerLogprobTests
{
    private static double LogSumExp(params double[] x) => Math.Log(x.Sum(Math.Exp));

    [Fact]
    public void Logprobs_AreTheLogSoftmax_BestFirst_AndSumToOne()
    {
        var sampler = new Sampler(4, new SamplingParameters { Temperature = 0, TopLogprobs = 4 });
        int token = sampler.Sample([1f, 2f, 3f, 4f]);

        double logZ = LogSumExp(1, 2, 3, 4);
        Assert.Equal(3, token);
        Assert.Equal(4 - logZ, sampler.LastLogprob, 5);

        var top = sampler.LastTopLogprobs.ToArray();
        Assert.Equal([3, 2, 1, 0], top.Select(t => t.TokenId));
        for (int i = 0; i < 4; i++) Assert.Equal(top[i].TokenId + 1 - logZ, top[i].Logprob, 5);
        Assert.Equal(1.0, top.Sum(t => Math.Exp(t.Logprob)), 5);
    }

    [Fact]
    public void TopLogprobs_ReturnsTheRequestedNumber_OrNoneAtAll()
    {
        var two = new Sampler(4, new SamplingParameters { Temperature = 0, TopLogprobs = 2 });
        two.Sample([1f, 2f, 3f, 4f]);
        Assert.Equal([3, 2], two.LastTopLogprobs.ToArray().Select(t => t.TokenId));

        var zero = new Sampler(4, new SamplingParameters { Temperature = 0, TopLogprobs = 0 });
        zero.Sample([1f, 2f, 3f, 4f]);
        Assert.True(zero.LastTopLogprobs.IsEmpty);
        Assert.Equal(4 - LogSumExp(1, 2, 3, 4), zero.LastLogprob, 5);

        var off = new Sampler(4, new SamplingParameters { Temperature = 0 });
        off.Sample([1f, 2f, 3f, 4f]);
        Assert.True(off.LastTopLogprobs.IsEmpty);
        Assert.True(float.IsNaN(off.LastLogprob));

        var more = new Sampler(3, new SamplingParameters { TopLogprobs = 20 });
        more.Sample([0f, 0f, 0f]);
        Assert.Equal(3, more.LastTopLogprobs.Length);
    }

    [Fact]
    public void Logprobs_IgnoreTemperatureAndTruncation()
    {
        float[] logits = [0.5f, 2f, 1.5f, -1f, 1f];
        var sampler = new Sampler(5, new SamplingParameters { Temperature = 0.3f, TopK = 2, TopP = 0.5f, TopLogprobs = 5, Seed = 4 });
        double logZ = LogSumExp(0.5, 2, 1.5, -1, 1);
        for (int i = 0; i < 50; i++)
        {
            int token = sampler.Sample((float[])logits.Clone());
            Assert.Equal(logits[token] - logZ, sampler.LastLogprob, 5);
            Assert.Equal(-1 - logZ, sampler.LastTopLogprobs[4].Logprob, 5);   // a truncated token still has its logprob
        }
    }

    [Fact]
    public void Logprobs_IncludeBiasAndPenalties()
    {
        var sampler = new Sampler(4, new SamplingParameters
        {
            Temperature = 0, TopLogprobs = 1, LogitBias = new Dictionary<int, float> { [3] = -100f }, PresencePenalty = 1f,
        });
        sampler.Accept(1);
        int token = sampler.Sample([1f, 2f, 3f, 4f]);

        double logZ = LogSumExp(1, 1, 3, -96);
        Assert.Equal(2, token);
        Assert.Equal(3 - logZ, sampler.LastLogprob, 5);
        Assert.Equal(2, sampler.LastTopLogprobs[0].TokenId);
        Assert.Equal(3 - logZ, sampler.LastTopLogprobs[0].Logprob, 5);
    }

    [Fact]
    public void Logprobs_OnALargeVocabulary_MatchADoubleReference()
    {
        var logits = Gaussian(50_000, seed: 6, scale: 3.0);
        var sampler = new Sampler(logits.Length, new SamplingParameters { TopLogprobs = 5, TopK = 40, Seed = 6 });
        int token = sampler.Sample((float[])logits.Clone());

        double max = logits.Max();
        double logZ = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        var order = RankOrder(logits);
        Assert.Equal(logits[token] - logZ, sampler.LastLogprob, 4);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(order[i], sampler.LastTopLogprobs[i].TokenId);
            Assert.Equal(logits[order[i]] - logZ, sampler.LastTopLogprobs[i].Logprob, 4);
        }
    }
}
