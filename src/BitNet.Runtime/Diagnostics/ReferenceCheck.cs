using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Diagnostics;

/// <summary>
/// A model file against a reference folder's cases (../shared/reference): teacher-forced logits within the README's
/// tolerance, and greedy generation equal to the reference's up to its first near-tie. `bitnet selftest` and the
/// reference tests both run it.
/// </summary>
public static class ReferenceCheck
{
    /// <summary>The outcome of one case on one model file.</summary>
    public sealed record CaseResult(string Model, string Case, LogitComparison.Report Logits, int GreedyChecked, string? GreedyMismatch)
    {
        public bool Passes => Logits.Passes && GreedyMismatch is null;

        public override string ToString() =>
            $"{Model} {Case}: {Logits}; greedy {(GreedyMismatch ?? $"{GreedyChecked} tokens match")}";
    }

    /// <summary>Runs <paramref name="cases"/> (all when null) on the model at <paramref name="modelPath"/>.</summary>
    public static IReadOnlyList<CaseResult> Run(string modelPath, IReadOnlyList<ReferenceCase> cases, KernelSet? kernels = null, int threads = 2,
        KvCacheType kvCache = KvCacheType.F16, HeadFormat head = HeadFormat.Native)
    {
        using var model = BitNetModel.Load(modelPath, new ModelLoadOptions { Kernels = kernels, Head = head });
        using var pool = new WorkerPool(threads);
        using var session = new ModelSession(model, pool, maxChunk: 64, kvCache: kvCache);
        var results = new List<CaseResult>();
        string name = Path.GetFileName(modelPath);
        foreach (var c in cases)
        {
            session.Reset();
            var logits = session.Feed(c.AllTokens, allLogits: true);
            var report = LogitComparison.Compare(c.Logits, logits, model.Config.Vocab);

            session.Reset();
            var next = session.Feed(c.PromptTokens);
            int checkedTokens = 0;
            string? mismatch = null;
            for (int i = 0; i < c.GreedyTokens.Length; i++)
            {
                // Divergence is allowed after the reference's own near-tie.
                var refRow = c.Logits[c.PromptTokens.Length - 1 + i];
                if (LogitComparison.Margin(refRow, out _) < LogitComparison.MarginForTop1) break;
                int token = LogitComparison.ArgMax(next);
                if (token != c.GreedyTokens[i])
                {
                    mismatch = $"token {i} is {token}, reference {c.GreedyTokens[i]}";
                    break;
                }
                checkedTokens++;
                if (i + 1 < c.GreedyTokens.Length) next = session.Feed([token]);
            }
            results.Add(new CaseResult(name, c.Name, report, checkedTokens, mismatch));
        }
        return results;
    }

    /// <summary>Every GGUF file beside a folder's cases.json, in name order.</summary>
    public static IReadOnlyList<string> ModelFiles(string folder) =>
        Directory.GetFiles(folder, "*.gguf").Order(StringComparer.Ordinal).ToArray();
}
