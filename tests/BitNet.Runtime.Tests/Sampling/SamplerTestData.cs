using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Tests.Sampling;

/// <summary>Hand-made and seeded-random logit vectors plus small helpers shared by the sampler tests.</summary>
internal static class SamplerTestData
{
    /// <summary>Logits whose softmax is exactly <paramref name="probabilities"/> (up to float rounding).</summary>
    public static float[] FromProbabilities(params double[] probabilities) =>
        Array.ConvertAll(probabilities, p => (float)Math.Log(p));

    /// <summary>Standard-normal logits times <paramref name="scale"/>, from a fixed seed.</summary>
    public static float[] Gaussian(int count, int seed, double scale)
    {
        var random = new Random(seed);
        var logits = new float[count];
        for (int i = 0; i < count; i++)
        {
            // Box-Muller: deterministic for a given System.Random seed.
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            logits[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return logits;
    }

    /// <summary>
    /// Shaped like a real LM head: low noise everywhere and a few dozen plausible tokens well above it, so the
    /// nucleus is small.
    /// </summary>
    public static float[] Peaked(int count, int seed)
    {
        var logits = Gaussian(count, seed, 1.0);
        var random = new Random(seed + 1);
        for (int i = 0; i < 40; i++) logits[random.Next(count)] += 8f + (float)random.NextDouble() * 4f;
        return logits;
    }

    /// <summary>Token ids by logit descending, ties by id ascending.</summary>
    public static int[] RankOrder(float[] logits)
    {
        var order = new int[logits.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => logits[a] != logits[b] ? logits[b].CompareTo(logits[a]) : a.CompareTo(b));
        return order;
    }

    /// <summary>Softmax of logits / temperature over the given ids, in double.</summary>
    public static double[] Softmax(float[] logits, ReadOnlySpan<int> ids, double temperature)
    {
        double max = double.NegativeInfinity;
        foreach (int id in ids) max = Math.Max(max, logits[id]);
        var p = new double[ids.Length];
        double sum = 0;
        for (int i = 0; i < ids.Length; i++) sum += p[i] = Math.Exp((logits[ids[i]] - max) / temperature);
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }

    /// <summary>The set of tokens drawn in <paramref name="draws"/> samples with fresh copies of the logits.</summary>
    public static SortedSet<int> Support(SamplingParameters parameters, float[] logits, int draws)
    {
        var sampler = new Sampler(logits.Length, parameters);
        var work = new float[logits.Length];
        var seen = new SortedSet<int>();
        for (int i = 0; i < draws; i++)
        {
            logits.CopyTo(work, 0);
            seen.Add(sampler.Sample(work));
        }
        return seen;
    }

    /// <summary>Runs one Sample on a copy and returns the logits as the sampler left them (after bias and penalties).</summary>
    public static float[] LogitsAfterSample(Sampler sampler, float[] logits)
    {
        var work = (float[])logits.Clone();
        sampler.Sample(work);
        return work;
    }
}
