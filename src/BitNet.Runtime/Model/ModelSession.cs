using BitNet.Runtime.KvCache;
using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Model;

/// <summary>
/// One sequence over a model, for the CLI and tests: feed tokens (in chunks), get logits. The server's scheduler
/// drives <see cref="Transformer"/> directly with many sequences instead.
/// </summary>
public sealed class ModelSession : IDisposable
{
    private readonly Transformer _transformer;
    private readonly KvCachePool _cache;
    private readonly int[] _positions;
    private readonly int[] _slots;
    private readonly bool[] _want;

    public ModelSession(BitNetModel model, WorkerPool pool, int contextLength = 0, int maxChunk = 64,
        Kernels.KvCacheType kvCache = Kernels.KvCacheType.F16)
    {
        Model = model;
        int ctx = contextLength > 0 ? contextLength : model.Config.Context;
        _cache = new KvCachePool(model.Config, 1, ctx, kvCache);
        _transformer = new Transformer(model.Weights, pool, maxChunk);
        _positions = new int[maxChunk];
        _slots = new int[maxChunk];
        _want = new bool[maxChunk];
    }

    public BitNetModel Model { get; }
    public int Vocab => Model.Config.Vocab;
    public int ContextLength => _cache.ContextLength;

    /// <summary>Tokens already in the cache.</summary>
    public int Position { get; private set; }

    public void Reset() => Position = 0;

    /// <summary>Per-step timing of the forward pass (null = off).</summary>
    public ForwardProfile? Profile
    {
        get => _transformer.Profile;
        set => _transformer.Profile = value;
    }

    /// <summary>
    /// Feeds <paramref name="tokens"/> in chunks of at most <paramref name="chunk"/> and returns logits: for every
    /// token ([n, vocab]) when <paramref name="allLogits"/>, else only for the last one ([vocab]).
    /// </summary>
    public float[] Feed(ReadOnlySpan<int> tokens, bool allLogits = false, int chunk = 0)
    {
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to feed", nameof(tokens));
        if (Position + tokens.Length > ContextLength)
            throw new InvalidOperationException($"{Position} + {tokens.Length} tokens exceed the context of {ContextLength}");
        int size = chunk > 0 ? Math.Min(chunk, _transformer.MaxBatchTokens) : _transformer.MaxBatchTokens;
        var result = new float[(allLogits ? tokens.Length : 1) * Vocab];
        int outRow = 0;
        for (int start = 0; start < tokens.Length; start += size)
        {
            int n = Math.Min(size, tokens.Length - start);
            for (int i = 0; i < n; i++)
            {
                _positions[i] = Position + i;
                _slots[i] = 0;
                _want[i] = allLogits || start + i == tokens.Length - 1;
            }
            int outs = allLogits ? n : (start + n == tokens.Length ? 1 : 0);
            _transformer.Forward(tokens.Slice(start, n), _positions.AsSpan(0, n), _slots.AsSpan(0, n),
                _want.AsSpan(0, n), _cache, result.AsSpan(outRow * Vocab, outs * Vocab));
            outRow += outs;
            Position += n;
        }
        return result;
    }

    public void Dispose()
    {
        _transformer.Dispose();
        _cache.Dispose();
    }
}
