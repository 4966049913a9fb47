using BitNet.Runtime.Kernels;
using System.Diagnostics;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Model;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Diagnostics;

/// <summary>Settings of one benchmark run (llama-bench conventions: pp = prompt tokens in one batch, tg = generated tokens).</summary>
public sealed record BenchmarkSettings(int PromptTokens = 512, int GenerateTokens = 128, int[]? BatchSizes = null, int Repetitions = 5);

/// <summary>
/// Prompt throughput plus its cost: process CPU-seconds per token (every worker, spinning included) and, where RAPL
/// counters are readable, package joules per token (null otherwise); both over the measured runs.
/// </summary>
public sealed record PrefillResult(int Tokens, double MedianTokS, double MinTokS, double MaxTokS,
    double CpuSecondsPerToken = 0, double? JoulesPerToken = null);

/// <summary>Aggregate decode throughput of a batch, with the cost per generated token as in <see cref="PrefillResult"/>.</summary>
public sealed record DecodeResult(int Batch, double MedianTokS, double MinTokS, double MaxTokS,
    double CpuSecondsPerToken = 0, double? JoulesPerToken = null);

/// <summary>
/// Prefill and decode throughput of the forward pass itself (no HTTP, no scheduler): prefill feeds P tokens as one
/// batch, decode runs B sequences in lock step (one token each per forward pass) from an empty context, or from
/// <c>depth</c> positions already in the cache, and reports the aggregate tokens/s. Each measurement is repeated and the
/// median reported with its spread.
/// </summary>
public sealed class EngineBenchmark(BitNetModel model, WorkerPool pool, KvCacheType kvCache = KvCacheType.F16)
{
    private readonly (EnergyCounter? Counter, string Why) _rapl = OpenEnergy();

    private EnergyCounter? _energy => _rapl.Counter;

    /// <summary>"RAPL package counters" when joules are measured, otherwise "not available (reason)".</summary>
    public string EnergyStatus => _energy is null ? _rapl.Why : "RAPL package counters";

    private static (EnergyCounter?, string) OpenEnergy() => (EnergyCounter.TryOpen(out string why), why);

    /// <summary>Starts the cost meters of a set of measured runs.</summary>
    private (TimeSpan Cpu, double Joules) CostStart() => (Environment.CpuUsage.TotalTime, _energy?.Joules() ?? 0);

    private (double CpuPerToken, double? JoulesPerToken) CostPerToken((TimeSpan Cpu, double Joules) start, long tokens) =>
        ((Environment.CpuUsage.TotalTime - start.Cpu).TotalSeconds / tokens,
         _energy is null ? null : (_energy.Joules() - start.Joules) / tokens);

    public PrefillResult Prefill(int tokens, int repetitions, ForwardProfile? profile = null)
    {
        int ctx = Math.Min(model.Config.Context, tokens + 1);
        using var cache = new KvCachePool(model.Config, 1, ctx, kvCache);
        int chunk = Math.Min(tokens, 512);
        using var transformer = new Transformer(model.Weights, pool, chunk);
        var ids = Tokens(tokens);
        var positions = new int[chunk];
        var slots = new int[chunk];
        var want = new bool[chunk];
        var logits = new float[model.Config.Vocab];
        var rates = new List<double>();
        var cost = CostStart();
        for (int r = -1; r < repetitions; r++) // r = -1 warms up (JIT tiers, page faults)
        {
            if (r == 0) cost = CostStart();
            // As in Decode, the profile leaves the warm-up out: its tier-0 code and first touches doubled some stages.
            transformer.Profile = r >= 0 ? profile : null;
            long start = Stopwatch.GetTimestamp();
            for (int s = 0; s < tokens; s += chunk)
            {
                int n = Math.Min(chunk, tokens - s);
                for (int i = 0; i < n; i++) { positions[i] = s + i; want[i] = s + i == tokens - 1; }
                transformer.Forward(ids.AsSpan(s, n), positions.AsSpan(0, n), slots.AsSpan(0, n), want.AsSpan(0, n), cache,
                    logits.AsSpan(0, s + n == tokens ? model.Config.Vocab : 0));
            }
            if (r >= 0) rates.Add(tokens / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        var (cpu, joules) = CostPerToken(cost, (long)tokens * repetitions);
        return new PrefillResult(tokens, Median(rates), rates.Min(), rates.Max(), cpu, joules);
    }

    /// <param name="depth">
    /// Positions already in every sequence's cache when decoding starts (long-context decode: attention then reads
    /// depth + step positions per token). They are filled with synthetic keys and values rather than by a prefill that
    /// would take minutes on a large model: what attention costs does not depend on the values it reads.
    /// </param>
    public DecodeResult Decode(int batch, int tokens, int repetitions, ForwardProfile? profile = null, int depth = 0)
    {
        int vocab = model.Config.Vocab;
        int ctx = Math.Min(model.Config.Context, depth + tokens + 2);
        if (depth < 0 || depth + tokens + 2 > model.Config.Context)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, $"depth + tokens + 2 must fit the model's context of {model.Config.Context}");
        using var cache = new KvCachePool(model.Config, batch, ctx, kvCache);
        FillSynthetic(cache, batch, depth);
        using var transformer = new Transformer(model.Weights, pool, batch);
        var next = new int[batch];
        var positions = new int[batch];
        var slots = new int[batch];
        var want = new bool[batch];
        Array.Fill(want, true);
        for (int b = 0; b < batch; b++) slots[b] = b;
        var logits = new float[batch * vocab];
        var rates = new List<double>();
        var cost = CostStart();
        for (int r = -1; r < repetitions; r++)
        {
            if (r == 0) cost = CostStart();
            for (int b = 0; b < batch; b++) next[b] = (1 + b * 7919) % vocab;
            transformer.Profile = r >= 0 ? profile : null;
            long start = Stopwatch.GetTimestamp();
            for (int step = 0; step < tokens; step++)
            {
                for (int b = 0; b < batch; b++) positions[b] = depth + step;
                transformer.Forward(next, positions, slots, want, cache, logits);
                for (int b = 0; b < batch; b++) next[b] = ArgMax(logits.AsSpan(b * vocab, vocab));
            }
            if (r >= 0) rates.Add((double)batch * tokens / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        var (cpu, joules) = CostPerToken(cost, (long)batch * tokens * repetitions);
        return new DecodeResult(batch, Median(rates), rates.Min(), rates.Max(), cpu, joules);
    }

    /// <summary>Positions [0, depth) of every slot and layer: keys and values of the magnitude real ones have (about 1).</summary>
    private static void FillSynthetic(KvCachePool cache, int slots, int depth)
    {
        if (depth == 0) return;
        var rng = new Random(12345);
        var key = new float[cache.KvDim];
        var value = new float[cache.KvDim];
        for (int p = 0; p < depth; p++)
        {
            for (int i = 0; i < key.Length; i++) { key[i] = (float)(rng.NextDouble() * 2 - 1); value[i] = (float)(rng.NextDouble() * 2 - 1); }
            for (int s = 0; s < slots; s++)
                for (int l = 0; l < cache.Layers; l++) cache.Store(s, l, p, key, value);
        }
    }

    private int[] Tokens(int n)
    {
        var ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = (int)((i * 2654435761L + 1) % model.Config.Vocab);
        return ids;
    }

    private static int ArgMax(ReadOnlySpan<float> x) => x.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(x));

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
