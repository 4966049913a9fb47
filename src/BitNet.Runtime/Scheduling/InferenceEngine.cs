using System.Diagnostics;
using System.Threading.Channels;
using BitNet.Runtime.KvCache;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Threading;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Scheduling;

/// <summary>
/// The engine loop: one dedicated thread owns the model, the KV cache pool and the forward pass, and steps every
/// active sequence together (continuous batching). Each step decodes one token for every running sequence, then fills
/// the rest of the token budget with prompt chunks of sequences still prefilling, so a long prompt never stalls
/// running streams. Requests arrive through a channel and read their tokens back through their own channel; nothing
/// else touches the model.
/// </summary>
public sealed partial class InferenceEngine : IDisposable
{
    private readonly BitNetModel _model;
    private readonly TextTokenizer _tokenizer;
    private readonly EngineOptions _options;
    private readonly WorkerPool _pool;
    private readonly KvCachePool _cache;
    private readonly Transformer _transformer;
    private readonly SlotTable _slots;
    private readonly Channel<ActiveRequest> _incoming = Channel.CreateUnbounded<ActiveRequest>(new() { SingleReader = true });
    private readonly List<ActiveRequest> _waiting = [];
    private readonly List<Sequence> _running = [];
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();

    // Step buffers, sized once.
    private readonly int[] _tokens, _positions, _slotIds;
    private readonly bool[] _want;
    private readonly Sequence?[] _fedBy;
    private readonly float[] _logits;
    private readonly float[] _siblingRow;
    private readonly SamplerBuffers?[] _samplerBuffers;     // per KV slot, created on the slot's first use
    private readonly float[] _hiddenRow;                     // one token's final hidden state, for embeddings

    private int _queued;
    private volatile int _freeSlots;
    private long _steps, _promptTokens, _cachedTokens, _generatedTokens, _cpuTicks;
    private volatile int _runningCount, _waitingCount;

    public InferenceEngine(BitNetModel model, TextTokenizer tokenizer, EngineOptions options)
    {
        options.Validate(model.Config.Context);
        _model = model;
        _tokenizer = tokenizer;
        _options = options;
        ContextLength = options.ContextLength > 0 ? options.ContextLength : model.Config.Context;
        _pool = new WorkerPool(options.Threads);
        _cache = new KvCachePool(model.Config, options.MaxSequences, ContextLength, options.KvCache);
        _transformer = new Transformer(model.Weights, _pool, options.MaxBatchTokens);
        _slots = new SlotTable(options.MaxSequences, ContextLength);
        _freeSlots = options.MaxSequences;
        int b = options.MaxBatchTokens;
        _tokens = new int[b];
        _positions = new int[b];
        _slotIds = new int[b];
        _want = new bool[b];
        _fedBy = new Sequence?[b];
        _logits = new float[(long)options.MaxSequences * model.Config.Vocab];
        _siblingRow = new float[model.Config.Vocab];
        _hiddenRow = new float[model.Config.Embedding];
        _samplerBuffers = new SamplerBuffers?[options.MaxSequences];
        _thread = new Thread(Loop) { IsBackground = true, Name = "bitnet-engine" };
        _thread.Start();
    }

    public BitNetModel Model => _model;
    public TextTokenizer Tokenizer => _tokenizer;
    public EngineOptions Options => _options;
    public int ContextLength { get; }

    /// <summary>KV cache bytes of one sequence at the full context (the pool holds one per parallel sequence).</summary>
    public long KvBytesPerSlot => _cache.BytesPerSlot;

    /// <summary>Forward passes run so far (tests count steps to prove batching; never time them).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    public EngineStats Stats => new(
        _runningCount, _waitingCount, Interlocked.Read(ref _steps),
        (double)_slots.UsedPositions / ((long)_slots.Slots * ContextLength),
        Interlocked.Read(ref _promptTokens), Interlocked.Read(ref _cachedTokens), Interlocked.Read(ref _generatedTokens),
        TimeSpan.FromTicks(Interlocked.Read(ref _cpuTicks)).TotalSeconds);

    /// <summary>
    /// Queues a request. Returns false when the wait queue is full (the caller answers 429); otherwise
    /// <paramref name="events"/> yields the request's events, ending with Completed or Failed.
    /// </summary>
    public bool TrySubmit(GenerationRequest request, out ChannelReader<GenerationEvent> events)
    {
        Validate(request);
        var channel = Channel.CreateUnbounded<GenerationEvent>(new() { SingleReader = true, SingleWriter = true });
        events = channel.Reader;
        return Enqueue(new ActiveRequest(request, channel.Writer, Stopwatch.GetTimestamp()));
    }

    /// <summary>Hands a validated request to the loop; false when the wait queue is full.</summary>
    private bool Enqueue(ActiveRequest request)
    {
        if (Interlocked.Increment(ref _queued) > _options.MaxQueuedRequests + _freeSlots)
        {
            Interlocked.Decrement(ref _queued);
            return false;
        }
        if (!_incoming.Writer.TryWrite(request))
        {
            Interlocked.Decrement(ref _queued);
            throw new ObjectDisposedException(nameof(InferenceEngine), "the engine is shutting down");
        }
        return true;
    }

    private void Validate(GenerationRequest r)
    {
        if (r.PromptTokens.Length == 0) throw new ArgumentException("the prompt is empty");
        if (r.PromptTokens.Length >= ContextLength)
            throw new ArgumentException($"the prompt has {r.PromptTokens.Length} tokens; the context holds {ContextLength}");
        foreach (int t in r.PromptTokens)
            if ((uint)t >= (uint)_model.Config.Vocab) throw new ArgumentException($"prompt token {t} is outside the vocabulary");
        if (r.Choices < 1 || r.Choices > _options.MaxSequences)
            throw new ArgumentException($"n = {r.Choices} must be 1..{_options.MaxSequences} (the server's parallel sequences)");
        if (r.MaxTokens < 1) throw new ArgumentException("max_tokens must be at least 1");
        r.Sampling.Validate(_model.Config.Vocab);
    }

    private void Loop()
    {
        // The F16 head's one-time scan (finiteness, zero and subnormal halves: see Kernels.HalfExceptions) reads the whole
        // head; done here, at start-up, instead of inside the first request's first forward pass.
        if (_model.Weights.Head is Kernels.FloatMatrix head) _ = head.AllFinite;
        if (_options.WarmUp) WarmUp();
        else _warmedUp.TrySetResult(TimeSpan.Zero);
        var reader = _incoming.Reader;
        while (!_stop.IsCancellationRequested)
        {
            while (reader.TryRead(out var r)) _waiting.Add(r);
            DropCancelledWaiting();
            Admit();
            _waitingCount = _waiting.Count;
            _runningCount = _running.Count;
            if (_running.Count == 0)
            {
                try
                {
                    if (!reader.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult()) break;
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            CancelAbandoned();
            Step();
        }
        FailEverything("the server is shutting down");
    }

    private int _disposed;

    /// <summary>Stops the loop (requests still running end with an error event) and frees the buffers; idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        _incoming.Writer.TryComplete();
        _thread.Join();
        _transformer.Dispose();
        _cache.Dispose();
        _pool.Dispose();
        _stop.Dispose();
    }
}

/// <summary>A snapshot of the engine's gauges and counters.</summary>
public readonly record struct EngineStats(
    int Running, int Waiting, long Steps, double KvUsage, long PromptTokens, long CachedPromptTokens, long GeneratedTokens,
    double CpuSeconds = 0)
{
    public double PrefixHitRatio => PromptTokens == 0 ? 0 : (double)CachedPromptTokens / PromptTokens;

    /// <summary>Process CPU-seconds of every forward pass (prompts included) per generated token.</summary>
    public double CpuSecondsPerGeneratedToken => GeneratedTokens == 0 ? 0 : CpuSeconds / GeneratedTokens;
}
