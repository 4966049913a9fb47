using System.Numerics.Tensors;

namespace BitNet.Runtime.Sampling;

/// <summary>
/// Top-p for wide nuclei (thousands of tokens, e.g. a flat distribution at temperature >= 1) without sorting the
/// vocabulary: bucket every token by its logit distance from the best one, find the bucket in which the cumulative
/// probability reaches the target, keep every token of the buckets before it and sort only that boundary bucket.
/// Two linear passes plus a sort of one bucket, instead of a 128k-element sort per token.
/// </summary>
internal sealed class NucleusBuckets
{
    private const int BucketCount = 1024;

    /// <summary>
    /// Buckets cover this many nats of log-probability below the best token; everything further (probability
    /// ratio below e^-30, ~1e-13) shares the last bucket: its mass cannot matter unless top-p is within 1e-8 of 1.
    /// </summary>
    private const float CoveredLogRatio = 30f;

    private readonly double[] _mass = new double[BucketCount];
    private readonly int[] _count = new int[BucketCount];

    /// <summary>
    /// Writes the top-p survivors that also pass min-p (weight >= <paramref name="minP"/>) to
    /// <paramref name="ids"/> / <paramref name="idWeights"/>, in no particular order, and returns their number.
    /// The set is exactly the rank-order prefix rule of the sorted path: ties inside the boundary bucket are broken
    /// by token id.
    /// </summary>
    /// <param name="logits">[vocab] logits after bias and penalties.</param>
    /// <param name="weights">[vocab] exp((logits - max) / temperature).</param>
    public int Select(
        ReadOnlySpan<float> logits, ReadOnlySpan<float> weights, float max, float temperature, double target, float minP,
        Span<int> ids, Span<float> idWeights, ref ulong[]? sortKeys)
    {
        // Bucket b holds logits in (max - (b+1)/scale, max - b/scale]: a lower bucket is a better token.
        float range = MathF.Min(max - TensorPrimitives.Min(logits), CoveredLogRatio * temperature);
        float scale = range > 0f ? (BucketCount - 1) / range : 0f;

        Array.Clear(_mass);
        Array.Clear(_count);
        for (int i = 0; i < logits.Length; i++)
        {
            int b = Bucket(logits[i], max, scale);
            _mass[b] += weights[i];
            _count[b]++;
        }

        int boundary = BucketCount - 1;
        double before = 0;   // mass of the buckets before the boundary
        for (int b = 0; b < BucketCount; b++)
        {
            if (before + _mass[b] >= target) { boundary = b; break; }
            before += _mass[b];
        }

        // Buckets before the boundary survive whole (min-p still filters them); boundary tokens are parked at the
        // end of ids, which cannot collide with the front: front + parked <= vocabulary.
        int n = 0, parked = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            int b = Bucket(logits[i], max, scale);
            if (b > boundary) continue;
            if (b == boundary)
            {
                ids[ids.Length - 1 - parked++] = i;
            }
            else if (weights[i] >= minP)
            {
                ids[n] = i;
                idWeights[n++] = weights[i];
            }
        }

        sortKeys ??= new ulong[logits.Length];
        var keys = sortKeys.AsSpan(0, parked);
        for (int j = 0; j < parked; j++)
        {
            int id = ids[ids.Length - 1 - j];
            keys[j] = TopSelection.RankKey(logits[id], id);
        }
        keys.Sort();

        double cumulative = before;
        foreach (ulong key in keys)
        {
            int id = (int)(uint)key;
            float w = weights[id];
            if (w < minP) break;   // min-p keeps a rank prefix too: nothing after this passes
            ids[n] = id;
            idWeights[n++] = w;
            cumulative += w;
            if (cumulative >= target) break;
        }
        return n;
    }

    private static int Bucket(float logit, float max, float scale)
    {
        float position = (max - logit) * scale;   // >= 0; +inf for a banned (-inf) logit
        return position < BucketCount - 1 ? (int)position : BucketCount - 1;
    }
}
