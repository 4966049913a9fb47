using System.Diagnostics;
using BitNet.Runtime.Grammar;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.Grammar;

/// <summary>
/// Rough mask-time figures printed to the test output (no thresholds: timing on a shared machine is not a test).
/// What is asserted is that the timed runs produce valid values. The BenchmarkDotNet version is
/// bench/BitNet.Benchmarks/GrammarMaskBenchmarks.cs.
/// </summary>
[Collection(GrammarCollection.Name)]
public sealed class MaskTimingTests(GrammarFixture fixture, ITestOutputHelper output)
{
    [Theory]
    [InlineData("stories", 8)]
    [InlineData("llama3", 3)]
    public void ReportsMaskTimes(string tokenizerName, int sequences)
    {
        var tokenizer = fixture.Get(tokenizerName);
        var build = Stopwatch.StartNew();
        var vocabulary = TokenVocabulary.Build(tokenizer);
        build.Stop();
        var grammar = JsonGrammar.FromSchema(TestSchemas.Order);
        var times = new List<double>();
        var firstSteps = new List<double>();
        var mask = new ulong[vocabulary.MaskLength];
        var candidates = new List<int>();
        int maxStates = 0;
        for (int seed = 0; seed < sequences; seed++)
        {
            var random = new Random(seed);
            var constraint = grammar.Start(vocabulary);
            var text = new List<byte>();
            const int budget = 150;
            for (int step = 0; step < budget && !constraint.IsFinished; step++)
            {
                long start = Stopwatch.GetTimestamp();
                constraint.ComputeMask(mask, budget - step);
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                (step == 0 ? firstSteps : times).Add(ms);
                candidates.Clear();
                for (int id = 0; id < vocabulary.VocabSize; id++) if (TokenMask.IsAllowed(mask, id)) candidates.Add(id);
                int token = candidates[random.Next(candidates.Count)];
                Assert.True(constraint.Accept(token));
                if (!vocabulary.EndOfGenerationIds.Contains(token)) text.AddRange(vocabulary.TokenBytes(token).ToArray());
            }
            Assert.True(constraint.IsComplete);
            maxStates = Math.Max(maxStates, constraint.MachineStateCount);
            GrammarTesting.AssertValid(TestSchemas.Order, [.. text]);
        }
        times.Sort();
        output.WriteLine($"{tokenizerName}: vocab {vocabulary.VocabSize} tokens, trie {vocabulary.TrieNodeCount} nodes, built in {build.Elapsed.TotalMilliseconds:F0} ms");
        output.WriteLine($"Order schema, {times.Count} steps: mask p50 {Percentile(times, 0.5):F3} ms, p90 {Percentile(times, 0.9):F3} ms, p99 {Percentile(times, 0.99):F3} ms, max {times[^1]:F3} ms; first step (cold) {firstSteps.Average():F2} ms; at most {maxStates} recognizer states per sequence");
    }

    private static double Percentile(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
}
