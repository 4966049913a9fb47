using BitNet.Runtime.Kernels;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Model;
using BitNet.Runtime.Tests.Reference;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Tests.Model;

/// <summary>
/// A decoded token's attention split into scores by position ranges, softmax per head and values by 32-dimension
/// slices (long contexts, few tokens) gives the very logits of one item per KV head.
/// </summary>
public sealed class SplitAttentionTests
{
    [Theory]
    [InlineData("stories3m", "stories3m-i2_s.gguf", KvCacheType.F16, 1)]
    [InlineData("tiny-random", "tiny-b158-tq2_0.gguf", KvCacheType.F16, 2)]
    [InlineData("tiny-llama", "tiny-llama-i2_s.gguf", KvCacheType.F32, 2)]
    public void SplitDecodeAttentionGivesTheWholeHeadLogitsBitForBit(string dir, string file, KvCacheType kvType, int sequences)
    {
        using var model = BitNetModel.Load(TestPaths.SharedFile("reference", dir, file));
        using var pool = new WorkerPool(2);
        var rng = new Random(3);
        // One or two sequences decoded side by side (few enough items per KV head for the split), one token each per step.
        int n = Math.Min(model.Config.Context, 300);
        var seqs = Enumerable.Range(0, sequences).Select(_ => Enumerable.Range(0, n).Select(_ => rng.Next(model.Config.Vocab)).ToArray()).ToArray();
        var whole = Decode(model, pool, seqs, kvType, splitFrom: int.MaxValue);
        var split = Decode(model, pool, seqs, kvType, splitFrom: 2);
        Assert.Equal(whole.Length, split.Length);
        for (int i = 0; i < whole.Length; i++)
            if (BitConverter.SingleToInt32Bits(whole[i]) != BitConverter.SingleToInt32Bits(split[i]))
                Assert.Fail($"{file}: logit {i} (step {i / model.Config.Vocab / sequences}) {split[i]} split against {whole[i]} whole");
    }

    private static float[] Decode(BitNetModel model, WorkerPool pool, int[][] seqs, KvCacheType kvType, int splitFrom)
    {
        int vocab = model.Config.Vocab, n = seqs[0].Length, m = seqs.Length;
        using var cache = new KvCachePool(model.Config, m, model.Config.Context, kvType);
        using var transformer = new Transformer(model.Weights, pool, 4) { SplitAttentionPositions = splitFrom };
        var all = new float[n * m * vocab];
        var logits = new float[m * vocab];
        int[] slots = Enumerable.Range(0, m).ToArray();
        var want = Enumerable.Repeat(true, m).ToArray();
        for (int p = 0; p < n; p++)
        {
            transformer.Forward(seqs.Select(s => s[p]).ToArray(), Enumerable.Repeat(p, m).ToArray(), slots, want, cache, logits);
            logits.CopyTo(all, p * m * vocab);
        }
        return all;
    }
}
