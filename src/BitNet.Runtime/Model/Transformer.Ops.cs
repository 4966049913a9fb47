using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Model;

/// <summary>The steps of the forward pass. Parallel steps run through preallocated work items: nothing allocates per token.</summary>
public sealed unsafe partial class Transformer
{
    /// <summary>On the calling thread: the final norm, and a decoded token's (several tokens go through <see cref="PrepareActivations"/>).</summary>
    private void RmsNorm(float* x, float* y, int tokens, int n, int stride, float[] weight)
    {
        long start = Stamp();
        for (int t = 0; t < tokens; t++) RmsNormRow(x + (long)t * stride, y + (long)t * stride, n, weight);
        Record(ForwardProfile.Stage.Norms, start);
    }

    /// <summary>
    /// <see cref="RmsNormRow"/> with the quantizer's max |y_i| (NaN if any y_i is NaN) found in the same pass: the two
    /// multiplies per element as RmsNormRow makes them, so y is identical, and one pass over the row instead of three.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float RmsNormRowAbsMax(float* x, float* y, int n, float[] weight)
    {
        float ss = TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(x, n));
        float scale = 1f / MathF.Sqrt(ss / n + _c.RmsEps);
        int i = 0;
        float max = 0;
        bool nan = false;
        fixed (float* w = weight)
        {
            if (Vector256.IsHardwareAccelerated && n >= 8)
            {
                var s = Vector256.Create(scale);
                var vmax = Vector256<float>.Zero;
                var vnan = Vector256<float>.Zero;
                for (; i + 8 <= n; i += 8)
                {
                    var v = Vector256.Load(x + i) * s * Vector256.Load(w + i);
                    v.Store(y + i);
                    vmax = Vector256.MaxNative(vmax, Vector256.Abs(v));
                    vnan |= ~Vector256.Equals(v, v);
                }
                nan = vnan != Vector256<float>.Zero;
                for (int j = 0; j < 8; j++) max = MathF.Max(max, vmax[j]);
            }
            for (; i < n; i++)
            {
                float v = x[i] * scale * w[i];
                y[i] = v;
                nan |= float.IsNaN(v);
                max = MathF.Max(max, MathF.Abs(v));
            }
        }
        return nan ? float.NaN : max;
    }

    private void RmsNormRow(float* x, float* y, int n, float[] weight)
    {
        var src = new ReadOnlySpan<float>(x, n);
        var dst = new Span<float>(y, n);
        float ss = TensorPrimitives.SumOfSquares(src);
        float scale = 1f / MathF.Sqrt(ss / n + _c.RmsEps);
        TensorPrimitives.Multiply(src, scale, dst);
        TensorPrimitives.Multiply(dst, weight, dst);
    }

    /// <summary>g = relu(g)^2 * u or silu(g) * u, elementwise over [T, ff].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GatedActivation(float* g, float* u, int n)
    {
        long start = Stamp();
        GatedActivationRange(g, u, n);
        Record(ForwardProfile.Stage.FfnActivation, start);
    }

    private void GatedActivationRange(float* g, float* u, int n)
    {
        if (_c.Activation == FfnActivation.ReluSquared)
        {
            ReluSquaredTimes(g, u, n);
            return;
        }
        var gate = new Span<float>(g, n);
        for (int i = 0; i < n; i++) gate[i] = gate[i] / (1f + MathF.Exp(-gate[i]));
        TensorPrimitives.Multiply(gate, new ReadOnlySpan<float>(u, n), gate);
    }

    /// <summary>
    /// g = (max(g, 0) * max(g, 0)) * u in one pass (three TensorPrimitives passes streamed [T, ff] through the cache
    /// three times); the same operations per element, with Max's NaN propagation, so the results are identical.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ReluSquaredTimes(float* g, float* u, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            {
                var m = Vector256.Max(Vector256.Load(g + i), Vector256<float>.Zero);
                (m * m * Vector256.Load(u + i)).Store(g + i);
            }
        for (; i + Vector128<float>.Count <= n; i += Vector128<float>.Count)
        {
            var m = Vector128.Max(Vector128.Load(g + i), Vector128<float>.Zero);
            (m * m * Vector128.Load(u + i)).Store(g + i);
        }
        for (; i < n; i++)
        {
            float m = MathF.Max(g[i], 0f);
            g[i] = m * m * u[i];
        }
    }

    /// <summary>
    /// RoPE over the first ropeDim elements of each head of q and k, frequency j = theta^(-2j/ropeDim) for pair j: NEOX
    /// pairs element j with j + ropeDim/2, NORM pairs 2j with 2j+1. The angles come from <see cref="RopeAngles"/>.
    /// </summary>
    private void Rope(int tokens)
    {
        long start = Stamp();
        if (tokens < ParallelTokens)
            for (int t = 0; t < tokens; t++)
            {
                RopeToken(_s.Q, t, _c.QDim, _c.Heads);
                RopeToken(_s.K, t, _c.KvDim, _c.KvHeads);
            }
        else
        {
            _s.StageWork.Stage = Stage.Rope;
            _pool.Run(_s.StageWork, tokens);
        }
        Record(ForwardProfile.Stage.Rope, start);
    }

    /// <summary>
    /// cos and sin of every token's angles [T, ropeDim/2], once per forward pass: every layer rotates by the same
    /// angles, and computing them per layer took most of the rotation's time (two double-precision calls per pair).
    /// </summary>
    private void RopeAngles(int tokens)
    {
        long start = Stamp();
        int half = _c.RopeDim / 2;
        for (int t = 0; t < tokens; t++)
        {
            double pos = _s.Positions[t];
            float* cos = _s.RopeCos + (long)t * half, sin = _s.RopeSin + (long)t * half;
            for (int j = 0; j < half; j++)
            {
                double a = pos * _s.InvFreq[j];
                cos[j] = (float)Math.Cos(a);
                sin[j] = (float)Math.Sin(a);
            }
        }
        Record(ForwardProfile.Stage.Rope, start);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RopeToken(float* v, int t, int stride, int heads)
    {
        int half = _c.RopeDim / 2;
        // Element offsets of pair j's two members: (j, j + half) for NEOX, (2j, 2j + 1) for NORM.
        int step = _c.Rope == RopeStyle.Norm ? 2 : 1, partner = _c.Rope == RopeStyle.Norm ? 1 : half;
        float* cos = _s.RopeCos + (long)t * half, sin = _s.RopeSin + (long)t * half;
        for (int h = 0; h < heads; h++)
        {
            float* p = v + (long)t * stride + h * _c.HeadDim;
            int j = 0;
            // NEOX pairs are two contiguous halves: eight pairs per vector, the same multiplies and subtraction or
            // addition per element as the scalar loop (no fused multiply-add), so the results are identical.
            if (Vector256.IsHardwareAccelerated && _c.Rope != RopeStyle.Norm)
                for (; j + 8 <= half; j += 8)
                {
                    var x0 = Vector256.Load(p + j);
                    var x1 = Vector256.Load(p + j + half);
                    var c = Vector256.Load(cos + j);
                    var s = Vector256.Load(sin + j);
                    (x0 * c - x1 * s).Store(p + j);
                    (x0 * s + x1 * c).Store(p + j + half);
                }
            for (; j < half; j++)
            {
                float* a = p + j * step;
                float x0 = a[0], x1 = a[partner];
                a[0] = x0 * cos[j] - x1 * sin[j];
                a[partner] = x0 * sin[j] + x1 * cos[j];
            }
        }
    }

    private void StoreKv(KvCachePool cache, int layer, int tokens)
    {
        long start = Stamp();
        int kvd = _c.KvDim;
        for (int t = 0; t < tokens; t++)
            cache.Store(_s.Slots[t], layer, _s.Positions[t], new ReadOnlySpan<float>(_s.K + (long)t * kvd, kvd), new ReadOnlySpan<float>(_s.V + (long)t * kvd, kvd));
        Record(ForwardProfile.Stage.KvStore, start);
    }

    private void Attention(KvCachePool cache, int layer, int tokens)
    {
        long start = Stamp();
        if (TrySplitAttention(cache, layer, tokens))
        {
            Record(ForwardProfile.Stage.Attention, start);
            return;
        }
        var work = _s.AttentionWork;
        work.Cache = cache;
        work.Layer = layer;
        // A work item is the query heads of one KV head (they share each widened key and value), halved while that
        // leaves the threads too few items to share (a single decoded token of a model with few KV heads). Runs of
        // consecutive tokens of one sequence (prefill chunks) go by blocks instead (AttentionKernel.AttendBlock).
        int group = _c.Heads / _c.KvHeads;
        int heads = group;
        while (heads % 2 == 0 && tokens * (_c.Heads / heads) < 2 * _pool.ThreadCount) heads /= 2;
        work.HeadsPerItem = heads;
        bool blocks = _w.Kernels.AttentionTiles && AttentionKernel.BlockSupports(cache.Type, _c.HeadDim) && group <= AttentionKernel.Columns;
        // A block item takes up to four tiles of Columns / group tokens (they share one widening of the cache) while
        // that leaves at least four items per thread.
        int tile = AttentionKernel.Columns / group;
        int tilesPerItem = Math.Clamp(tokens / tile * _c.KvHeads / (4 * _pool.ThreadCount), 1, 4);
        _pool.Run(work, work.Plan(tokens, blocks ? tile * tilesPerItem : 1));
        Record(ForwardProfile.Stage.Attention, start);
    }

    private void MatMul(TernaryMatrix m0, float* y0, int stride0,
        TernaryMatrix? m1 = null, float* y1 = null, int stride1 = 0,
        TernaryMatrix? m2 = null, float* y2 = null, int stride2 = 0)
    {
        long start = Stamp();
        var work = _s.MatMulWork;
        work.Set(_w.Kernels, _s.Act, _pool.ThreadCount, m0, y0, stride0, m1, y1, stride1, m2, y2, stride2);
        _pool.Run(work, work.Chunks);
        Record(ForwardProfile.Stage.TernaryMatMul, start);
    }

    private void Head(float* x, int tokens, float* logits)
    {
        long start = Stamp();
        if (tokens == 0) return;
        var work = _s.HeadWork;
        // The head's own form of x (the 8-bit head quantizes it) is made once here, not by every chunk of rows.
        _s.HeadActivations = _w.Head.Prepare(x, tokens, _w.Head.K, _s.HeadActivations);
        work.Prepared = _s.HeadActivations;
        work.X = x;
        work.Tokens = tokens;
        work.Y = logits;
        work.ChunkRows = Math.Max(64, _w.Head.N / (_pool.ThreadCount * 8) + 1);
        _pool.Run(work, (_w.Head.N + work.ChunkRows - 1) / work.ChunkRows);
        Record(ForwardProfile.Stage.Head, start);
    }

    /// <summary>Rows [r0, r1) of up to three matrices that share one set of activations, split into chunks.</summary>
    private sealed class MatMulWork : IParallelWork
    {
        private readonly TernaryMatrix?[] _m = new TernaryMatrix?[3];
        private readonly nint[] _y = new nint[3];
        private readonly int[] _stride = new int[3];
        private readonly int[] _chunks = new int[3];
        private QuantizedActivations? _act;
        private KernelSet _kernels = KernelSet.Scalar;
        private int _count;
        private int _chunkRows;

        public int Chunks { get; private set; }

        public void Set(KernelSet kernels, QuantizedActivations act, int threads, TernaryMatrix m0, float* y0, int s0,
            TernaryMatrix? m1, float* y1, int s1, TernaryMatrix? m2, float* y2, int s2)
        {
            _kernels = kernels;
            _act = act;
            _m[0] = m0; _y[0] = (nint)y0; _stride[0] = s0;
            _m[1] = m1; _y[1] = (nint)y1; _stride[1] = s1;
            _m[2] = m2; _y[2] = (nint)y2; _stride[2] = s2;
            _count = m2 is not null ? 3 : m1 is not null ? 2 : 1;
            int rows = 0;
            for (int i = 0; i < _count; i++) rows += _m[i]!.N;
            // Multiples of 4 rows suit the 4-row kernels. Decode (up to 15 tokens) takes about four chunks per thread:
            // finer chunks measured no faster for one or eight tokens. Prefill takes sixteen: a chunk of a 128-token
            // matmul runs about a millisecond, and the thread left with the last one idled the other for up to that
            // long (pp128 64-65 -> 71-73 tok/s with 8 or 16 per thread, alternated in one process).
            // The table lookups (act.HasTables) take whole 32-row blocks and stream every token's tables once per
            // chunk, so they take fewer, larger chunks.
            int perThread = act.HasTables ? 2 : act.Tokens >= TernaryKernels.RowBatchesBelow ? 16 : 4;
            int align = act.HasTables ? 31 : 3;
            _chunkRows = threads == 1 ? rows : Math.Max(act.HasTables ? 32 : 16, (rows / (threads * perThread) + align) & ~align);
            Chunks = 0;
            for (int i = 0; i < _count; i++)
            {
                _chunks[i] = (_m[i]!.N + _chunkRows - 1) / _chunkRows;
                Chunks += _chunks[i];
            }
        }

[MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index)
        {
            int i = 0;
            while (index >= _chunks[i]) index -= _chunks[i++];
            var m = _m[i]!;
            int r0 = index * _chunkRows;
            int r1 = Math.Min(m.N, r0 + _chunkRows);
            _kernels.TernaryMatMul(m, _act!, (float*)_y[i], _stride[i], r0, r1);
        }
    }

    /// <summary>One (token, group of query heads of one KV head) per index: causal softmax attention over that sequence's cached positions.</summary>
    private sealed class AttentionWork(Transformer owner) : IParallelWork
    {
        [ThreadStatic] private static float[]? t_scores;

        public KvCachePool? Cache;
        public int Layer;
        public int HeadsPerItem = 1;

        // The items: tokens [_first, _first + _count) and query heads [_head, _head + group) of a block, or one token's heads.
        private readonly int[] _first = new int[owner.MaxBatchTokens * owner._c.Heads];
        private readonly int[] _count = new int[owner.MaxBatchTokens * owner._c.Heads];
        private readonly int[] _head = new int[owner.MaxBatchTokens * owner._c.Heads];

        /// <summary>Lists this layer's items (blocks of up to <paramref name="blockTokens"/> tokens, the largest first); returns how many.</summary>
        public int Plan(int tokens, int blockTokens)
        {
            var c = owner._c;
            var s = owner._s;
            int group = c.Heads / c.KvHeads;
            int items = 0;
            for (int end = tokens; end > 0;)
            {
                // The run of tokens ending at end - 1 that continue one sequence position by position, cut to a block.
                int t0 = end - 1;
                while (t0 > 0 && end - t0 < blockTokens && s.Slots[t0 - 1] == s.Slots[end - 1] && s.Positions[t0 - 1] == s.Positions[t0] - 1) t0--;
                if (end - t0 >= 2)
                    for (int g = 0; g < c.KvHeads; g++) Add(t0, end - t0, g * group);
                else
                    for (int h = 0; h < c.Heads; h += HeadsPerItem) Add(t0, 1, h);
                end = t0;
            }
            return items;

            void Add(int first, int count, int head)
            {
                _first[items] = first;
                _count[items] = count;
                _head[items++] = head;
            }
        }

[MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index)
        {
            var c = owner._c;
            var s = owner._s;
            int t = _first[index], h = _head[index];
            int hd = c.HeadDim;
            int g = h / (c.Heads / c.KvHeads);
            int n = s.Positions[t] + 1;
            if (_count[index] > 1)
            {
                var kv = Cache!;
                owner._w.Kernels.AttendBlock(kv.Type, s.Q + (long)t * c.QDim + h * hd, c.QDim, _count[index], c.Heads / c.KvHeads,
                    kv.Keys(s.Slots[t], Layer) + (long)g * kv.HeadBytes, kv.Values(s.Slots[t], Layer) + (long)g * kv.HeadBytes,
                    (int)kv.PositionBytes, n, hd, s.Att + (long)t * c.QDim + h * hd, c.QDim);
                return;
            }
            int need = n * Math.Min(HeadsPerItem, AttentionKernel.MaxHeadsPerPass);
            if (t_scores is null || t_scores.Length < need) t_scores = new float[Math.Max(need, 1024) * 2];
            var scores = t_scores.AsSpan(0, need);

            var cache = Cache!;
            long head = (long)g * cache.HeadBytes;
            byte* keys = cache.Keys(s.Slots[t], Layer) + head;
            byte* values = cache.Values(s.Slots[t], Layer) + head;
            owner._w.Kernels.Attend(cache.Type, s.Q + (long)t * c.QDim + h * hd, HeadsPerItem, keys, values, (int)cache.PositionBytes, n, hd,
                scores, s.Att + (long)t * c.QDim + h * hd);
        }
    }

    /// <summary>LM head rows in chunks: logits[t, r] = head row r . x[t].</summary>
    private sealed class HeadWork(Transformer owner) : IParallelWork
    {
        [ThreadStatic] private static float[]? t_row;

        public RowActivations? Prepared;
        public float* X;
        public float* Y;
        public int Tokens;
        public int ChunkRows;

[MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int index)
        {
            var head = owner._w.Head;
            if (t_row is null || t_row.Length < head.K) t_row = new float[head.K];
            int r0 = index * ChunkRows;
            int r1 = Math.Min(head.N, r0 + ChunkRows);
            head.MatMul(owner._w.Kernels, Prepared, X, Tokens, head.K, Y, head.N, r0, r1, t_row);
        }
    }

    /// <summary>Every buffer the forward pass needs, sized once for the largest batch.</summary>
    private sealed class Scratch : IDisposable
    {
        private readonly List<IDisposable> _owned = [];

        public Scratch(ModelConfig c, int maxTokens)
        {
            int wide = Math.Max(Math.Max(c.Embedding, c.QDim), c.FeedForward);
            X = Alloc((long)maxTokens * c.Embedding);
            Xn = Alloc((long)maxTokens * wide);
            Q = Alloc((long)maxTokens * c.QDim);
            K = Alloc((long)maxTokens * c.KvDim);
            V = Alloc((long)maxTokens * c.KvDim);
            Att = Alloc((long)maxTokens * c.QDim);
            Gate = Alloc((long)maxTokens * c.FeedForward);
            Up = Alloc((long)maxTokens * c.FeedForward);
            Tmp = Alloc((long)maxTokens * c.Embedding);
            RopeCos = Alloc((long)maxTokens * (c.RopeDim / 2));
            RopeSin = Alloc((long)maxTokens * (c.RopeDim / 2));
            Act = new QuantizedActivations(maxTokens, wide);
            _owned.Add(Act);
            Positions = new int[maxTokens];
            Slots = new int[maxTokens];
            InvFreq = new double[c.RopeDim / 2];
            for (int j = 0; j < InvFreq.Length; j++) InvFreq[j] = Math.Pow(c.RopeTheta, -2.0 * j / c.RopeDim);
        }

        public float* X, Xn, Q, K, V, Att, Gate, Up, Tmp, RopeCos, RopeSin;
        public readonly QuantizedActivations Act;
        public readonly int[] Positions;
        public readonly int[] Slots;
        public readonly double[] InvFreq;
        public int Tokens;
        public MatMulWork MatMulWork = new();
        public AttentionWork AttentionWork = null!;
        public HeadWork HeadWork = null!;
        public RowActivations? HeadActivations;
        public StageWork StageWork = null!;
        public SplitAttentionWork? SplitAttention;

        public Span<float> Row(float* buffer, int t, int width) => new(buffer + (long)t * width, width);

        private float* Alloc(long n)
        {
            var b = new NativeBuffer<float>(Math.Max(n, 1));
            _owned.Add(b);
            return b.Pointer;
        }

        public void Dispose()
        {
            foreach (var o in _owned) o.Dispose();
            SplitAttention?.Dispose();
        }
    }
}
