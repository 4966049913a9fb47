using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Tests.Sampling;

/// <summary>Borrowed sampler scratch: the same draws as private buffers, and no vocabulary-sized allocation per sequence.</summary>
public sealed class SamplerBuffersTests
{
    private const int Vocab = 1000;

    private static float[] Logits(Random random)
    {
        var logits = new float[Vocab];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(random.NextDouble() * 8 - 4);
        return logits;
    }

    public static TheoryData<float, float, int, float> Settings() => new()
    {
        { 0.8f, 0.95f, 40, 0.05f },  // the server's defaults
        { 1.0f, 0.5f, 0, 0f },       // top-p alone
        { 1.5f, 1f, 0, 0.02f },      // min-p alone over the whole vocabulary
        { 2.0f, 0.999f, 0, 0f },     // a nucleus wider than the ranked window (buckets)
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void SharedBuffers_DrawExactlyWhatPrivateOnesDo(float temperature, float topP, int topK, float minP)
    {
        var p = new SamplingParameters { Temperature = temperature, TopP = topP, TopK = topK, MinP = minP, Seed = 7, TopLogprobs = 3 };
        var shared = new SamplerBuffers(Vocab);
        var borrowing = new Sampler(Vocab, p, shared);
        var owning = new Sampler(Vocab, p);
        // Another sequence uses the same buffers between the draws: nothing may carry over from one Sample to the next.
        var other = new Sampler(Vocab, p with { Seed = 99 }, shared);
        var random = new Random(3);
        for (int step = 0; step < 200; step++)
        {
            float[] logits = Logits(random);
            int a = borrowing.Sample((float[])logits.Clone());
            int b = owning.Sample((float[])logits.Clone());
            Assert.Equal(b, a);
            Assert.Equal(owning.LastLogprob, borrowing.LastLogprob);
            Assert.Equal(owning.LastTopLogprobs.ToArray(), borrowing.LastTopLogprobs.ToArray());
            other.Sample(Logits(random));
        }
    }

    [Fact]
    public void ASamplerOnBorrowedBuffers_AllocatesNoVocabularySizedArrays()
    {
        const int vocab = 128_256; // Llama-3 / BitNet 2B4T
        var p = new SamplingParameters { Temperature = 0.8f, TopP = 0.95f, TopK = 40, Seed = 1 };
        var buffers = new SamplerBuffers(vocab);
        _ = new Sampler(vocab, p, buffers); // JIT and static initialization outside the measurement

        long before = GC.GetAllocatedBytesForCurrentThread();
        var borrowing = new Sampler(vocab, p, buffers);
        long borrowed = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        var owning = new Sampler(vocab, p);
        long owned = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(borrowed < 4096, $"a sampler on borrowed buffers allocated {borrowed} bytes");
        Assert.True(owned >= 3L * vocab * sizeof(float), $"a sampler with its own buffers allocated only {owned} bytes");
        GC.KeepAlive(borrowing);
        GC.KeepAlive(owning);
    }

    [Fact]
    public void BuffersOfAnotherVocabulary_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new Sampler(Vocab, new SamplingParameters(), new SamplerBuffers(Vocab + 1)));
        Assert.Equal("buffers", e.ParamName);
    }
}
