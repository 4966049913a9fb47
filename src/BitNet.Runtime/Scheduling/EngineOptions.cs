namespace BitNet.Runtime.Scheduling;

/// <summary>Sizes of the engine's fixed resources; validated once at start.</summary>
public sealed record EngineOptions
{
    /// <summary>KV slots = sequences that can run at once (llama-server's --parallel).</summary>
    public int MaxSequences { get; init; } = 4;

    /// <summary>Context length per sequence (0 = the model's).</summary>
    public int ContextLength { get; init; }

    /// <summary>Tokens per engine step: one per running sequence, the rest filled with prompt chunks.</summary>
    public int MaxBatchTokens { get; init; } = 256;

    /// <summary>Requests that may wait for a slot; beyond this, submissions are refused (HTTP 429).</summary>
    public int MaxQueuedRequests { get; init; } = 64;

    public int Threads { get; init; } = Threading.WorkerPool.DefaultThreadCount;

    /// <summary>
    /// Most embedding tokens one step carries while any sequence is decoding. A step costs about as much as the tokens
    /// in it, so a client embedding documents in a loop would otherwise fill every step and slow running streams to a
    /// crawl; with nothing decoding, embeddings take the whole budget.
    /// </summary>
    public int EmbeddingTokensBesideDecoding { get; init; } = 32;

    /// <summary>How the KV cache stores keys and values (F16 halves its memory against F32).</summary>
    public Kernels.KvCacheType KvCache { get; init; } = Kernels.KvCacheType.F16;

    /// <summary>
    /// Run every path of the forward pass a few times before the first request (<see cref="InferenceEngine.WarmedUp"/>),
    /// so that the first request is as fast as later ones. Off for engines whose first step is the measurement.
    /// </summary>
    public bool WarmUp { get; init; } = true;

    public void Validate(int modelContext)
    {
        if (MaxSequences is < 1 or > 1024) throw new ArgumentException($"MaxSequences = {MaxSequences} must be 1..1024");
        if (ContextLength < 0 || ContextLength > modelContext)
            throw new ArgumentException($"ContextLength = {ContextLength} must be 0 (model default) or up to the model's {modelContext}");
        if (MaxBatchTokens < MaxSequences || MaxBatchTokens > 8192)
            throw new ArgumentException($"MaxBatchTokens = {MaxBatchTokens} must be at least MaxSequences ({MaxSequences}) and at most 8192");
        if (MaxQueuedRequests is < 0 or > 1_000_000) throw new ArgumentException($"MaxQueuedRequests = {MaxQueuedRequests} must be 0..1000000");
        if (Threads is < 1 or > 1024) throw new ArgumentException($"Threads = {Threads} must be 1..1024");
        if (EmbeddingTokensBesideDecoding < 1)
            throw new ArgumentException($"EmbeddingTokensBesideDecoding = {EmbeddingTokensBesideDecoding} must be at least 1");
    }
}
