using System.Text.Json;

namespace BitNet.Runtime.Diagnostics;

/// <summary>One case of a reference folder's cases.json (../shared/reference/README.md): tokens = prompt + greedy, logits[i] after tokens[0..i].</summary>
public sealed record ReferenceCase(string Name, int[] PromptTokens, int[] GreedyTokens, float[][] Logits)
{
    public int[] AllTokens => [.. PromptTokens, .. GreedyTokens];

    public static IReadOnlyList<ReferenceCase> Load(string casesJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(casesJson));
        var list = new List<ReferenceCase>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            list.Add(new ReferenceCase(
                c.GetProperty("name").GetString()!,
                c.GetProperty("prompt_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("greedy_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("logits").EnumerateArray()
                    .Select(row => row.EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToArray()));
        }
        return list;
    }
}

/// <summary>The README's tolerance: what "correct" means for W1.58A8 logits.</summary>
public static class LogitComparison
{
    public const double MeanKlLimit = 1e-3, MaxKlLimit = 1e-2, MaxAbsLimit = 0.5, MarginForTop1 = 0.5;

    public sealed record Report(double MeanKl, double MaxKl, double MaxAbs, int Top1Mismatches, int Positions)
    {
        public bool Passes => MeanKl <= MeanKlLimit && MaxKl <= MaxKlLimit && MaxAbs <= MaxAbsLimit && Top1Mismatches == 0;
        public override string ToString() =>
            $"meanKL={MeanKl:E2} maxKL={MaxKl:E2} max|d|={MaxAbs:F3} top1 mismatches={Top1Mismatches} over {Positions} positions";
    }

    public static Report Compare(float[][] reference, ReadOnlySpan<float> ours, int vocab)
    {
        double klSum = 0, klMax = 0, absMax = 0;
        int mismatches = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            var r = reference[i];
            var o = ours.Slice(i * vocab, vocab);
            double kl = Kl(r, o);
            klSum += kl;
            klMax = Math.Max(klMax, kl);
            for (int j = 0; j < vocab; j++) absMax = Math.Max(absMax, Math.Abs(r[j] - o[j]));
            if (Margin(r, out int refTop) >= MarginForTop1 && ArgMax(o) != refTop) mismatches++;
        }
        return new Report(klSum / reference.Length, klMax, absMax, mismatches, reference.Length);
    }

    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>Top-1 minus top-2 logit.</summary>
    public static double Margin(ReadOnlySpan<float> x, out int top)
    {
        top = ArgMax(x);
        double second = double.NegativeInfinity;
        for (int i = 0; i < x.Length; i++) if (i != top && x[i] > second) second = x[i];
        return x[top] - second;
    }

    private static double Kl(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double lp = LogSumExp(p), lq = LogSumExp(q), kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double a = p[i] - lp, b = q[i] - lq;
            kl += Math.Exp(a) * (a - b);
        }
        return Math.Max(0, kl);
    }

    private static double LogSumExp(ReadOnlySpan<float> x)
    {
        double m = double.NegativeInfinity;
        foreach (var v in x) m = Math.Max(m, v);
        double s = 0;
        foreach (var v in x) s += Math.Exp(v - m);
        return m + Math.Log(s);
    }
}
