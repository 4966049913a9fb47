using System.Diagnostics;
using System.Globalization;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Tokenization;

namespace BitNet.Benchmarks;

/// <summary>
/// `mask-percentiles`: the distribution of grammar mask time per generated token, which BenchmarkDotNet's mean hides
/// (a step that walks the whole trie costs far more than one served from the per-state cache). Generates
/// <c>--sequences</c> constrained values under <see cref="GrammarMaskBenchmarks.Schema"/>, each on a fresh constraint
/// (cold caches, as every request starts), picking uniformly among allowed tokens with a fixed seed, and times every
/// ComputeMask. Prints p50 / p90 / p99 / max per step, the first (cold) step and the trie build.
/// </summary>
internal static class MaskPercentiles
{
    public static int Run(string[] args)
    {
        string vocabularyName = Value(args, "--vocab") ?? "llama3";
        int sequences = int.Parse(Value(args, "--sequences") ?? "20", CultureInfo.InvariantCulture);
        int budget = int.Parse(Value(args, "--budget") ?? "200", CultureInfo.InvariantCulture);
        string file = vocabularyName switch
        {
            "llama3" => Path.Combine("tokenizers", "llama3", "llama3-vocab.gguf"),
            "stories" => Path.Combine("models", "stories3m-b158-i2_s.gguf"),
            _ => throw new ArgumentException($"--vocab {vocabularyName}: expected llama3 (128,256 tokens) or stories (512)"),
        };
        using var gguf = GgufFile.Open(Path.Combine(GrammarMaskBenchmarks.SharedFolder(), file));
        var tokenizer = TextTokenizer.FromGguf(gguf.Metadata);
        var build = Stopwatch.StartNew();
        var vocabulary = TokenVocabulary.Build(tokenizer);
        build.Stop();
        var grammar = JsonGrammar.FromSchema(GrammarMaskBenchmarks.Schema);
        var mask = new ulong[vocabulary.MaskLength];
        var allowed = new List<int>();
        var steps = new List<double>();
        var first = new List<double>();
        int complete = 0;

        for (int seed = 0; seed < sequences; seed++)
        {
            var random = new Random(seed);
            var constraint = grammar.Start(vocabulary);
            for (int step = 0; step < budget && !constraint.IsFinished; step++)
            {
                long start = Stopwatch.GetTimestamp();
                int count = constraint.ComputeMask(mask, budget - step);
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                (step == 0 ? first : steps).Add(ms);
                if (count == 0) break;
                allowed.Clear();
                for (int id = 0; id < vocabulary.VocabSize; id++) if (TokenMask.IsAllowed(mask, id)) allowed.Add(id);
                constraint.AcceptOrThrow(allowed[random.Next(allowed.Count)]);
            }
            if (constraint.IsComplete) complete++;
        }

        steps.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"vocabulary {vocabularyName}: {vocabulary.VocabSize:N0} tokens, trie {vocabulary.TrieNodeCount:N0} nodes, built in {build.Elapsed.TotalMilliseconds:F0} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"order schema, {sequences} sequences ({complete} complete values), {steps.Count} steps after the first:"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  mask per token: p50 {At(steps, 0.50):F3} ms  p90 {At(steps, 0.90):F3} ms  p99 {At(steps, 0.99):F3} ms  max {steps[^1]:F3} ms  mean {steps.Average():F3} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  first step (cold): mean {first.Average():F2} ms"));
        return 0;
    }

    private static double At(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
