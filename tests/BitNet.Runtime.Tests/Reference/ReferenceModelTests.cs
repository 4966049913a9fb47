using BitNet.Runtime.Model;
using BitNet.Runtime.Threading;
using Xunit.Abstractions;

namespace BitNet.Runtime.Tests.Reference;

/// <summary>
/// The engine against independent exact implementations (../shared/reference): teacher-forced logits within the
/// README's tolerance and identical greedy tokens, for every model file and every encoding.
/// </summary>
public sealed class ReferenceModelTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Models()
    {
        var data = new TheoryData<string, string>();
        foreach (var (dir, files) in new[]
        {
            ("stories3m", new[] { "stories3m-f32.gguf", "stories3m-tq1_0.gguf", "stories3m-tq2_0.gguf", "stories3m-i2_s.gguf" }),
            ("tiny-random", new[]
            {
                "tiny-b158-f32.gguf", "tiny-b158-f16.gguf", "tiny-b158-i2_s.gguf", "tiny-b158-tq1_0.gguf", "tiny-b158-tq2_0.gguf",
                "tiny-bitnet-f32.gguf", "tiny-bitnet-f16.gguf", "tiny-bitnet-f32-scaletensors.gguf",
                "tiny-bitnet-tq1_0.gguf", "tiny-bitnet-tq2_0.gguf",
            }),
        })
        {
            foreach (var f in files) data.Add(dir, f);
        }
        return data;
    }

    private static readonly Dictionary<string, IReadOnlyList<ReferenceCase>> CaseCache = [];

    internal static IReadOnlyList<ReferenceCase> Cases(string dir)
    {
        lock (CaseCache)
        {
            if (!CaseCache.TryGetValue(dir, out var cases))
                CaseCache[dir] = cases = ReferenceCase.Load(TestPaths.SharedFile("reference", dir, "cases.json"));
            return cases;
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void TeacherForcedLogitsMatchReference(string dir, string file)
    {
        using var model = BitNetModel.Load(TestPaths.SharedFile("reference", dir, file));
        using var pool = new WorkerPool(2);
        using var session = new ModelSession(model, pool, maxChunk: 64);
        foreach (var c in Cases(dir))
        {
            session.Reset();
            var logits = session.Feed(c.AllTokens, allLogits: true);
            var report = LogitComparison.Compare(c.Logits, logits, model.Config.Vocab);
            output.WriteLine($"{file} {c.Name}: {report}");
            Assert.True(report.Passes, $"{file} {c.Name}: {report}");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void GreedyGenerationMatchesReference(string dir, string file)
    {
        using var model = BitNetModel.Load(TestPaths.SharedFile("reference", dir, file));
        using var pool = new WorkerPool(2);
        using var session = new ModelSession(model, pool, maxChunk: 32);
        foreach (var c in Cases(dir))
        {
            session.Reset();
            var logits = session.Feed(c.PromptTokens);
            for (int i = 0; i < c.GreedyTokens.Length; i++)
            {
                // Divergence is allowed after the reference's own near-tie.
                var refRow = c.Logits[c.PromptTokens.Length - 1 + i];
                if (LogitComparison.Margin(refRow, out _) < LogitComparison.MarginForTop1) break;
                int next = LogitComparison.ArgMax(logits);
                Assert.True(next == c.GreedyTokens[i], $"{file} {c.Name}: greedy token {i} is {next}, reference {c.GreedyTokens[i]}");
                logits = session.Feed([next]);
            }
        }
    }
}
