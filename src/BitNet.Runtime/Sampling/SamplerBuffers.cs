namespace BitNet.Runtime.Sampling;

/// <summary>
/// The vocabulary-sized scratch of a <see cref="Sampler"/>: token weights, candidate ids and candidate weights (three
/// arrays, 1.5 MB on the large-object heap at a 128k vocabulary), plus sort keys and nucleus buckets once needed.
/// Nothing in it outlives one <see cref="Sampler.Sample"/> call, so the engine keeps one per KV slot and lends it to
/// every sequence that runs in the slot: a request allocates none of it. One sampler at a time may use an instance.
/// </summary>
public sealed class SamplerBuffers
{
    public SamplerBuffers(int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        VocabSize = vocabSize;
        Weights = new float[vocabSize];
        Candidates = new int[vocabSize];
        CandidateWeights = new float[vocabSize];
    }

    /// <summary>The vocabulary size the buffers are for.</summary>
    public int VocabSize { get; }

    /// <summary>[vocab] exp((l - max) / T), or exp(l - max) for logprobs.</summary>
    internal float[] Weights { get; }

    /// <summary>[vocab] surviving token ids of the last draw.</summary>
    internal int[] Candidates { get; }

    /// <summary>[vocab] their unnormalized probabilities.</summary>
    internal float[] CandidateWeights { get; }

    /// <summary>[vocab] only once a selection needs a sort (a field: the selections grow it by reference).</summary>
    internal ulong[]? SortKeys;

    /// <summary>Only once a nucleus outgrows the top-p window.</summary>
    internal NucleusBuckets? NucleusBuckets;
}
