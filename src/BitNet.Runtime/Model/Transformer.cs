using BitNet.Runtime.Kernels;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Model;

/// <summary>
/// The BitNet b1.58 forward pass (W1.58A8) over a batch of tokens that may belong to several sequences: prefill
/// chunks and single decode tokens go through the same call. Token i is at <c>positions[i]</c> of the sequence whose
/// KV lives in <c>slots[i]</c>; tokens of one sequence appear in position order. Not thread-safe: one engine loop
/// owns a Transformer (and its scratch buffers).
/// </summary>
public sealed unsafe partial class Transformer : IDisposable
{
    private readonly ModelWeights _w;
    private readonly ModelConfig _c;
    private readonly WorkerPool _pool;
    private readonly Scratch _s;

    public Transformer(ModelWeights weights, WorkerPool pool, int maxBatchTokens)
    {
        if (maxBatchTokens < 1) throw new ArgumentOutOfRangeException(nameof(maxBatchTokens));
        _w = weights;
        _c = weights.Config;
        _pool = pool;
        MaxBatchTokens = maxBatchTokens;
        _s = new Scratch(_c, maxBatchTokens);
        if (weights.Kernels.LutTiles && weights.Layers.Any(l => l.Matrices.Any(m => m.Layout == TernaryLayout.I2S))) _s.Act.EnableTables();
        _s.AttentionWork = new AttentionWork(this);
        _s.HeadWork = new HeadWork(this);
        _s.StageWork = new StageWork(this);
    }

    public ModelConfig Config => _c;
    public ModelWeights Weights => _w;
    public int MaxBatchTokens { get; }

    /// <summary>When set, every step adds its time here (two timestamps per step; off by default).</summary>
    public ForwardProfile? Profile { get; set; }

    private long Stamp() => Profile is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();

    private void Record(ForwardProfile.Stage stage, long start) => Profile?.Add(stage, start);

    /// <summary>
    /// Runs the model over <paramref name="tokens"/>, appending their keys/values to the cache, and writes logits for
    /// each token whose <paramref name="wantLogits"/> flag is set, in order, into <paramref name="logits"/>
    /// ([that count, vocab]).
    /// </summary>
    public void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> slots,
        ReadOnlySpan<bool> wantLogits, KvCachePool cache, Span<float> logits)
    {
        int T = tokens.Length;
        int nOut = Validate(tokens, positions, slots, wantLogits, cache, logits.Length);
        int d = _c.Embedding, qd = _c.QDim, kvd = _c.KvDim, ff = _c.FeedForward;
        var s = _s;
        s.Tokens = T;
        positions.CopyTo(s.Positions);
        slots.CopyTo(s.Slots);

        long t0 = Stamp();
        for (int t = 0; t < T; t++) _w.Embedding.DecodeRow(tokens[t], s.Row(s.X, t, d));   // x    [T, d]
        Record(ForwardProfile.Stage.Embedding, t0);

        RopeAngles(T);                                                             // cos, sin [T, rope/2]
        for (int l = 0; l < _c.Layers; l++)
        {
            var L = _w.Layers[l];
            // attention: h = rmsnorm(x)*attn_norm -> int8 once for q, k, v
            PrepareActivations(s.X, T, d, norm: L.AttnNorm, normed: s.Xn);         // xn [T, d] -> act [T, d] int8
            MatMul(L.Q, s.Q, qd, L.K, s.K, kvd, L.V, s.V, kvd);                    // q [T, qd], k v [T, kvd]
            Rope(T);                                                               // q, k rotated by position
            StoreKv(cache, l, T);                                                  // cache[slot][l][pos] = k, v
            Attention(cache, l, T);                                                // att  [T, qd]
            PrepareActivations(s.Att, T, qd, norm: L.AttnSubNorm, normed: s.Xn);   // SubLN (bitnet*) -> act [T, qd]
            MatMul(L.O, s.Tmp, d);                                                 // tmp  [T, d]

            // feed-forward: x += Wo a, then f = act(gate) * up, SubLN, down
            PrepareActivations(s.X, T, d, residual: s.Tmp, norm: L.FfnNorm, normed: s.Xn);
            MatMul(L.Gate, s.Gate, ff, L.Up, s.Up, ff);                            // gate, up [T, ff]
            PrepareActivations(s.Gate, T, ff, up: s.Up, norm: L.FfnSubNorm, normed: s.Xn); // gate = act(gate) * up -> act [T, ff]
            MatMul(L.Down, s.Tmp, d);                                              // tmp  [T, d]
            Add(s.X, s.Tmp, T * d);                                                // x += Wdown f
        }

        // head: only the rows the caller wants logits for
        int o = 0;
        for (int t = 0; t < T; t++)
            if (wantLogits[t]) RmsNorm(s.X + (long)t * d, s.Xn + (long)o++ * d, 1, d, d, _w.OutputNorm);  // xn [nOut, d]
        fixed (float* lp = logits) Head(s.Xn, nOut, lp);                             // logits [nOut, vocab]
        PoisonOverflowedRows(wantLogits, logits);
    }

    /// <summary>
    /// A token whose residual stream overflowed (a corrupt weight, an extreme input) would otherwise yield finite but
    /// meaningless logits after the final norm; its row is set to NaN so that the sampler refuses it and only that
    /// sequence fails. Rows of other tokens are unaffected: the numerics are per token.
    /// </summary>
    private void PoisonOverflowedRows(ReadOnlySpan<bool> wantLogits, Span<float> logits)
    {
        int d = _c.Embedding, o = 0;
        for (int t = 0; t < wantLogits.Length; t++)
        {
            if (!wantLogits[t]) continue;
            float ss = System.Numerics.Tensors.TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(_s.X + (long)t * d, d));
            if (!float.IsFinite(ss)) logits.Slice(o * _c.Vocab, _c.Vocab).Fill(float.NaN);
            o++;
        }
    }

    private int Validate(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> slots,
        ReadOnlySpan<bool> wantLogits, KvCachePool cache, int logitsLength)
    {
        int T = tokens.Length;
        if (T == 0 || T > MaxBatchTokens)
            throw new ArgumentOutOfRangeException(nameof(tokens), T, $"a batch holds 1..{MaxBatchTokens} tokens");
        if (positions.Length != T || slots.Length != T || wantLogits.Length != T)
            throw new ArgumentException("tokens, positions, slots and wantLogits must have the same length");
        if (cache.Layers != _c.Layers || cache.KvDim != _c.KvDim)
            throw new ArgumentException("the KV cache was made for a different model");
        int nOut = 0;
        for (int t = 0; t < T; t++)
        {
            if ((uint)tokens[t] >= (uint)_c.Vocab)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[t], $"token id outside the vocabulary (0..{_c.Vocab - 1})");
            if ((uint)positions[t] >= (uint)cache.ContextLength)
                throw new ArgumentOutOfRangeException(nameof(positions), positions[t], $"position outside the context (0..{cache.ContextLength - 1})");
            if ((uint)slots[t] >= (uint)cache.Slots)
                throw new ArgumentOutOfRangeException(nameof(slots), slots[t], $"KV slot outside 0..{cache.Slots - 1}");
            if (wantLogits[t]) nOut++;
        }
        if (logitsLength < (long)nOut * _c.Vocab)
            throw new ArgumentException($"logits buffer holds {logitsLength} floats; {nOut} x {_c.Vocab} needed");
        return nOut;
    }

    public void Dispose() => _s.Dispose();
}
