using BitNet.Runtime.KvCache;
using BitNet.Runtime.Model;
using BitNet.Runtime.Diagnostics;
using BitNet.Runtime.Tests.Reference;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Tests.Model;

/// <summary>
/// The scheduler will feed a sequence one token at a time, as prompt chunks, or in the same batch as other sequences;
/// all three must give the same logits (within the reference tolerance; in practice they are identical because the
/// per-token numerics do not depend on the batch).
/// </summary>
public sealed class BatchingEquivalenceTests
{
    [Theory]
    [InlineData("stories3m", "stories3m-i2_s.gguf")]
    [InlineData("tiny-random", "tiny-b158-tq2_0.gguf")]
    [InlineData("tiny-random", "tiny-bitnet-tq1_0.gguf")]
    public void OneAtATimeChunkedAndBatchedGiveTheSameLogits(string dir, string file)
    {
        using var model = BitNetModel.Load(TestPaths.SharedFile("reference", dir, file));
        using var pool = new WorkerPool(2);
        var cases = ReferenceModelTests.Cases(dir);
        var a = cases[0].AllTokens;
        var b = cases[1].AllTokens;
        int vocab = model.Config.Vocab;

        float[] whole, single, chunked;
        using (var s = new ModelSession(model, pool, maxChunk: 128)) whole = s.Feed(a, allLogits: true);
        using (var s = new ModelSession(model, pool, maxChunk: 128)) single = s.Feed(a, allLogits: true, chunk: 1);
        using (var s = new ModelSession(model, pool, maxChunk: 128)) chunked = s.Feed(a, allLogits: true, chunk: 7);

        var batched = RunInterleaved(model, pool, a, b);
        foreach (var (name, other) in new[] { ("one at a time", single), ("chunks of 7", chunked), ("batched with another sequence", batched) })
        {
            var report = LogitComparison.Compare(Rows(whole, a.Length, vocab), other, vocab);
            Assert.True(report.Passes, $"{file} {name}: {report}");
            Assert.True(report.MaxAbs < 1e-3, $"{file} {name}: per-token numerics should not depend on batching ({report})");
        }
    }

    /// <summary>
    /// Sequence A goes through in chunks of 5 while sequence B is decoded in the same forward calls (one token of B
    /// per call, B starting with its own prompt chunk), in two different KV slots: returns A's logits.
    /// </summary>
    private static float[] RunInterleaved(BitNetModel model, WorkerPool pool, int[] a, int[] b)
    {
        int vocab = model.Config.Vocab;
        using var cache = new KvCachePool(model.Config, 2, model.Config.Context);
        using var transformer = new Transformer(model.Weights, pool, 16);
        var result = new float[a.Length * vocab];
        int posA = 0, posB = 0;
        var tokens = new List<int>(); var positions = new List<int>(); var slots = new List<int>(); var want = new List<bool>();
        var logits = new float[16 * vocab];
        while (posA < a.Length)
        {
            tokens.Clear(); positions.Clear(); slots.Clear(); want.Clear();
            int bCount = posB == 0 ? Math.Min(3, b.Length) : (posB < b.Length ? 1 : 0);
            for (int i = 0; i < bCount; i++) { tokens.Add(b[posB]); positions.Add(posB); slots.Add(1); want.Add(i == bCount - 1); posB++; }
            int aCount = Math.Min(5, a.Length - posA);
            for (int i = 0; i < aCount; i++) { tokens.Add(a[posA + i]); positions.Add(posA + i); slots.Add(0); want.Add(true); }
            transformer.Forward(tokens.ToArray(), positions.ToArray(), slots.ToArray(), want.ToArray(), cache, logits);
            int bOut = bCount > 0 ? 1 : 0;
            Array.Copy(logits, bOut * vocab, result, posA * vocab, aCount * vocab);
            posA += aCount;
        }
        return result;
    }

    private static float[][] Rows(float[] flat, int rows, int vocab) =>
        Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * vocab, vocab).ToArray()).ToArray();
}
