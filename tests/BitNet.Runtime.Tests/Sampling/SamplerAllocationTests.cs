using BitNet.Runtime.Sampling;
using static BitNet.Runtime.Tests.Sampling.SamplerTestData;

namespace BitNet.Runtime.Tests.Sampling;

/// <summary>Steady-state decoding allocates nothing: every code path of Sample and Accept over the real 128256 vocabulary.</summary>
public class SamplerAllocationTests
{
    private const int Vocab = 128_256;
    private static readonly float[][] Inputs = [Peaked(Vocab, 1), Peaked(Vocab, 2), Peaked(Vocab, 3)];

    // 1000 calls for the configuration that uses every feature; the other code paths are cheaper to prove
    // with fewer calls (each one costs a few vocabulary passes, slow in a Debug test run).
    [Theory]
    [InlineData("topk-topp-minp-penalties-logprobs", 1000)]
    [InlineData("full", 200)]
    [InlineData("greedy", 200)]
    [InlineData("topp", 200)]
    [InlineData("minp", 200)]
    [InlineData("topp-wide", 100)]
    public void SampleAndAccept_AllocateNothingAfterWarmUp(string config, int calls)
    {
        var parameters = config switch
        {
            "full" => new SamplingParameters { Seed = 1 },
            "greedy" => new SamplingParameters { Temperature = 0, TopLogprobs = 20 },
            "topk-topp-minp-penalties-logprobs" => new SamplingParameters
            {
                Temperature = 0.8f, TopK = 40, TopP = 0.95f, MinP = 0.01f, RepetitionPenalty = 1.1f,
                PresencePenalty = 0.5f, FrequencyPenalty = 0.5f, PenalizePrompt = true, TopLogprobs = 5, Seed = 1,
                LogitBias = new Dictionary<int, float> { [5] = -100, [6] = 3 },
            },
            "topp" => new SamplingParameters { TopP = 0.9f, Seed = 1 },
            "minp" => new SamplingParameters { MinP = 0.05f, Temperature = 1.3f, Seed = 1 },
            // A nucleus of tens of thousands of tokens: the bucket path.
            "topp-wide" => new SamplingParameters { TopP = 0.5f, Temperature = 100f, Seed = 1 },
            _ => throw new ArgumentOutOfRangeException(nameof(config)),
        };
        var sampler = new Sampler(Vocab, parameters);
        sampler.AcceptPrompt([1, 2, 3, 4, 5]);
        var work = new float[Vocab];

        // Warm-up: JIT, the penalty window reaching its full size, the lazily created sort and bucket buffers.
        for (int i = 0; i < 70; i++) Step(sampler, work, i);

        // Up to three measured rounds: a round can catch the runtime's own one-off work on this thread (tiered
        // recompilation lands while the calls run, 1232 bytes once in a loaded CI run), while an allocation in the
        // sampler itself recurs in every round.
        long allocated = long.MaxValue;
        for (int round = 0; round < 3 && allocated != 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) Step(sampler, work, i);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, allocated);
        if (config == "topp-wide") Assert.True(sampler.LastCandidateCount > Vocab / 4);
    }

    private static void Step(Sampler sampler, float[] work, int i)
    {
        Inputs[i % Inputs.Length].CopyTo(work, 0);
        int token = sampler.Sample(work);
        sampler.Accept(token);
    }
}
