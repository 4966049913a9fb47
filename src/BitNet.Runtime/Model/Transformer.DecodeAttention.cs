using BitNet.Runtime.Kernels;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Model;

/// <summary>
/// Attention of a few decoded tokens at a long context, split finer than one item per KV head: with one token of a
/// model with 5 KV heads, 5 items kept one of 2 threads busy for 3 of them (and 59 of 64 threads idle). Three pool
/// runs: the scores by (token, KV head, range of positions), the softmax by (token, query head), the weighted sum by
/// (token, KV head, 32 dimensions); each number is the one <see cref="KernelSet.Attend"/> computes
/// (<see cref="KernelSet.AttendScores"/>).
/// </summary>
public sealed unsafe partial class Transformer
{
    /// <summary>
    /// Context from which a decoded token's attention is split: below it three pool runs cost more than the imbalance
    /// (settable for tests, which compare both paths on small models).
    /// </summary>
    internal int SplitAttentionPositions { get; set; } = 512;

    /// <summary>Positions per score item.</summary>
    private const int ScoreChunk = 512;

    /// <summary>Runs this layer's attention split when every token is a single decoded token at a long context and the whole-head items would be too few.</summary>
    private bool TrySplitAttention(KvCachePool cache, int layer, int tokens)
    {
        if (_pool.ThreadCount == 1 || tokens * _c.KvHeads >= 4 * _pool.ThreadCount || !_w.Kernels.SplitAttention(cache.Type, _c.HeadDim))
            return false;
        for (int t = 0; t < tokens; t++)
        {
            if (_s.Positions[t] + 1 < SplitAttentionPositions) return false;
            for (int u = 0; u < t; u++)
                if (_s.Slots[u] == _s.Slots[t]) return false; // a prompt chunk: the blocks serve it
        }
        (_s.SplitAttention ??= new SplitAttentionWork(this)).Run(cache, layer, tokens);
        return true;
    }

    private sealed class SplitAttentionWork(Transformer owner) : IParallelWork, IDisposable
    {
        private enum Step { Scores, Softmax, Values }

        private Step _step;
        private KvCachePool? _cache;
        private int _layer;
        private NativeBuffer<float>? _scores;   // token t's [heads, n_t] at t * heads * _maxN
        private int _maxN;
        private int[] _firstChunk = new int[8]; // token t's score items start at _firstChunk[t]

        public void Run(KvCachePool cache, int layer, int tokens)
        {
            var s = owner._s;
            var c = owner._c;
            _cache = cache;
            _layer = layer;
            _maxN = 0;
            for (int t = 0; t < tokens; t++) _maxN = Math.Max(_maxN, s.Positions[t] + 1);
            long need = (long)tokens * c.Heads * _maxN;
            if (_scores is null || _scores.Length < need)
            {
                _scores?.Dispose();
                _scores = new NativeBuffer<float>(Math.Max(need, 2 * (_scores?.Length ?? 0)));
            }
            if (_firstChunk.Length < tokens + 1) _firstChunk = new int[2 * (tokens + 1)];
            int items = 0;
            for (int t = 0; t < tokens; t++)
            {
                _firstChunk[t] = items;
                items += c.KvHeads * Chunks(s.Positions[t] + 1);
            }
            _firstChunk[tokens] = items;

            var pool = owner._pool;
            _step = Step.Scores;
            pool.Run(this, items);
            _step = Step.Softmax;
            pool.Run(this, tokens * c.Heads);
            _step = Step.Values;
            pool.Run(this, tokens * c.KvHeads * (c.HeadDim / AttentionKernel.ValueSlice));
        }

        private static int Chunks(int n) => (n + ScoreChunk - 1) / ScoreChunk;

        public void Execute(int index)
        {
            var s = owner._s;
            var c = owner._c;
            var kernels = owner._w.Kernels;
            var cache = _cache!;
            int hd = c.HeadDim, group = c.Heads / c.KvHeads, stride = (int)cache.PositionBytes;
            switch (_step)
            {
                case Step.Scores:
                {
                    int t = 0;
                    while (index >= _firstChunk[t + 1]) t++;
                    int n = s.Positions[t] + 1, chunks = Chunks(n), local = index - _firstChunk[t];
                    int g = local / chunks, p0 = local % chunks * ScoreChunk, p1 = Math.Min(n, p0 + ScoreChunk);
                    kernels.AttendScores(cache.Type, s.Q + (long)t * c.QDim + (long)g * group * hd, group,
                        cache.Keys(s.Slots[t], _layer) + (long)g * cache.HeadBytes, stride, n, p0, p1, hd, Scores(t) + (long)g * group * n);
                    break;
                }
                case Step.Softmax:
                {
                    int t = index / c.Heads, h = index % c.Heads, n = s.Positions[t] + 1;
                    kernels.AttendSoftmax(Scores(t) + (long)h * n, n);
                    break;
                }
                default:
                {
                    int slices = hd / AttentionKernel.ValueSlice;
                    int t = index / (c.KvHeads * slices), r = index % (c.KvHeads * slices), g = r / slices, n = s.Positions[t] + 1;
                    kernels.AttendValueSlice(cache.Type, Scores(t) + (long)g * group * n, group,
                        cache.Values(s.Slots[t], _layer) + (long)g * cache.HeadBytes, stride, n, hd, r % slices * AttentionKernel.ValueSlice,
                        s.Att + (long)t * c.QDim + (long)g * group * hd);
                    break;
                }
            }
        }

        private float* Scores(int t) => _scores!.Pointer + (long)t * owner._c.Heads * _maxN;

        public void Dispose() => _scores?.Dispose();
    }
}
