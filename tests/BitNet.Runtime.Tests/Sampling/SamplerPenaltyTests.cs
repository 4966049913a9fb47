using BitNet.Runtime.Sampling;
using static BitNet.Runtime.Tests.Sampling.SamplerTestData;

namespace BitNet.Runtime.Tests.Sampling;

/// <summary>Each penalty must change exactly the right logits by exactly the right amount (values chosen to be exact in float).</summary>
public class SamplerPenaltyTests
{
    private static readonly float[] Logits = [1f, 2f, -2f, -4f, 5f, 0.5f];

    private static Sampler Greedy(SamplingParameters parameters, params int[] history)
    {
        var sampler = new Sampler(Logits.Length, parameters with { Temperature = 0 });
        foreach (int token in history) sampler.Accept(token);
        return sampler;
    }

    [Fact]
    public void Repetition_DividesPositiveAndMultipliesNegativeLogits_OncePerDistinctToken()
    {
        var sampler = Greedy(new SamplingParameters { RepetitionPenalty = 2f, RepeatLastN = 0 }, 1, 3, 3);
        Assert.Equal([1f, 1f, -2f, -8f, 5f, 0.5f], LogitsAfterSample(sampler, Logits));
    }

    [Fact]
    public void Repetition_OnlyLooksAtTheLastNTokens()
    {
        var sampler = Greedy(new SamplingParameters { RepetitionPenalty = 2f, RepeatLastN = 2 }, 1, 2, 3);
        Assert.Equal([1f, 2f, -4f, -8f, 5f, 0.5f], LogitsAfterSample(sampler, Logits));

        sampler.Accept(4);   // the window slides to {3, 4}
        Assert.Equal([1f, 2f, -2f, -8f, 2.5f, 0.5f], LogitsAfterSample(sampler, Logits));
    }

    [Fact]
    public void Repetition_WindowLargerThanItsInitialBuffer_GrowsAndWrapsCorrectly()
    {
        const int vocab = 2000;
        var sampler = new Sampler(vocab, new SamplingParameters { Temperature = 0, RepetitionPenalty = 2f, RepeatLastN = 1000 });
        for (int t = 0; t < 1200; t++) sampler.Accept(t);

        var logits = new float[vocab];
        Array.Fill(logits, 1f);
        sampler.Sample(logits);

        for (int t = 0; t < vocab; t++)
            Assert.Equal(t is >= 200 and < 1200 ? 0.5f : 1f, logits[t]);
    }

    [Fact]
    public void PresenceAndFrequency_FollowTheOpenAIFormula()
    {
        // logit -= count * frequency + (count > 0) * presence
        var sampler = Greedy(new SamplingParameters { PresencePenalty = 0.5f, FrequencyPenalty = 0.25f }, 1, 3, 3);
        Assert.Equal([1f, 1.25f, -2f, -5f, 5f, 0.5f], LogitsAfterSample(sampler, Logits));
    }

    [Fact]
    public void NegativePresence_Encourages()
    {
        var sampler = Greedy(new SamplingParameters { PresencePenalty = -1.5f }, 5);
        Assert.Equal([1f, 2f, -2f, -4f, 5f, 2f], LogitsAfterSample(sampler, Logits));
    }

    [Fact]
    public void PresenceAndFrequency_CountTheWholeHistory_NotTheRepetitionWindow()
    {
        var sampler = Greedy(new SamplingParameters { PresencePenalty = 1f, RepeatLastN = 1 }, 0, 1, 2);
        Assert.Equal([0f, 1f, -3f, -4f, 5f, 0.5f], LogitsAfterSample(sampler, Logits));
    }

    [Fact]
    public void RepetitionThenPresence_AreAppliedInThatOrder()
    {
        // (4 / 2) - 1 = 1, whereas (4 - 1) / 2 would be 1.5.
        var sampler = new Sampler(2, new SamplingParameters { Temperature = 0, RepetitionPenalty = 2f, PresencePenalty = 1f });
        sampler.Accept(0);
        Assert.Equal([1f, 0f], LogitsAfterSample(sampler, [4f, 0f]));
    }

    [Fact]
    public void ManyDistinctTokens_AreAllPenalized()
    {
        const int vocab = 1000;
        var sampler = new Sampler(vocab, new SamplingParameters { Temperature = 0, FrequencyPenalty = 0.5f });
        for (int t = 0; t < 600; t++) sampler.Accept(t);
        for (int t = 0; t < 600; t += 2) sampler.Accept(t);

        var logits = new float[vocab];
        sampler.Sample(logits);
        for (int t = 0; t < vocab; t++)
            Assert.Equal(t >= 600 ? 0f : t % 2 == 0 ? -1f : -0.5f, logits[t]);
    }

    [Fact]
    public void PromptTokens_CountOnlyWhenPenalizePromptIsSet()
    {
        var ignoring = Greedy(new SamplingParameters { PresencePenalty = 1f });
        ignoring.AcceptPrompt([0, 4]);
        Assert.Equal(Logits, LogitsAfterSample(ignoring, Logits));

        var counting = Greedy(new SamplingParameters { PresencePenalty = 1f, PenalizePrompt = true });
        counting.AcceptPrompt([0, 4]);
        Assert.Equal([0f, 2f, -2f, -4f, 4f, 0.5f], LogitsAfterSample(counting, Logits));
    }

    [Fact]
    public void Penalties_SeeOnlyAcceptedTokens()
    {
        var sampler = Greedy(new SamplingParameters { PresencePenalty = 2f });
        Assert.Equal(4, sampler.Sample((float[])Logits.Clone()));
        Assert.Equal(4, sampler.Sample((float[])Logits.Clone()));   // not accepted: no penalty yet
        sampler.Accept(4);
        Assert.Equal(4, sampler.Sample((float[])Logits.Clone()));   // 5 - 2 = 3 still beats 2

        var sampler2 = Greedy(new SamplingParameters { FrequencyPenalty = 2f }, 4, 4);
        Assert.Equal(1, sampler2.Sample((float[])Logits.Clone()));  // 5 - 4 = 1 < 2
    }
}
