using BitNet.Runtime.Scheduling;
using Microsoft.Extensions.AI;

namespace BitNet.Extensions.AI;

/// <summary>
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a BitNet <see cref="InferenceEngine"/> in this process:
/// each text is tokenized as a prompt starts (with the model's BOS when it adds one) and embedded as the L2-normalized
/// mean of the final hidden states (<see cref="InferenceEngine.EmbedAsync"/>), batched with every other request of the
/// engine. Vectors have the model's embedding width and length 1, so a dot product is the cosine similarity.
/// Thread-safe; disposing it leaves the engine running.
/// </summary>
public sealed class BitNetEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly InferenceEngine _engine;

    /// <summary>A generator for <paramref name="engine"/> (shared, not owned) that reports <paramref name="modelId"/>.</summary>
    public BitNetEmbeddingGenerator(InferenceEngine engine, string modelId)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        _engine = engine;
        ModelId = modelId;
        Dimensions = engine.Model.Config.Embedding;
        Metadata = new EmbeddingGeneratorMetadata(BitNetChatClient.ProviderName, defaultModelId: modelId, defaultModelDimensions: Dimensions);
    }

    /// <summary>The id reported on each embedding.</summary>
    public string ModelId { get; }

    /// <summary>Length of every vector: the model's hidden size.</summary>
    public int Dimensions { get; }

    /// <summary>Provider name, model id and <see cref="Dimensions"/>.</summary>
    public EmbeddingGeneratorMetadata Metadata { get; }

    /// <summary>
    /// One embedding per value, in order. <see cref="EmbeddingGenerationOptions.Dimensions"/> may only be the model's
    /// width (the vectors are not truncated); a text longer than the context is an <see cref="ArgumentException"/>.
    /// </summary>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } dimensions && dimensions != Dimensions)
            throw new NotSupportedException(
                $"EmbeddingGenerationOptions.Dimensions = {dimensions}: this model's embeddings have {Dimensions} dimensions, and no other size");
        var tokenizer = _engine.Tokenizer;
        var inputs = new List<int[]>();
        int total = 0, i = 0;
        foreach (string value in values)
        {
            if (value is null) throw new ArgumentException($"value {i} is null", nameof(values));
            int[] tokens = tokenizer.Encode(value, addBos: tokenizer.AddBos, parseSpecial: false);
            if (tokens.Length == 0) throw new ArgumentException($"value {i} is empty; an embedding needs at least one token", nameof(values));
            if (tokens.Length > _engine.ContextLength)
                throw new ArgumentException($"value {i} has {tokens.Length} tokens; the context holds {_engine.ContextLength}", nameof(values));
            inputs.Add(tokens);
            total += tokens.Length;
            i++;
        }

        // At most one input per KV slot in flight: a large batch queues behind its own items instead of filling the
        // engine's wait queue, and the engine still packs them into shared forward passes.
        var vectors = new float[inputs.Count][];
        using var gate = new SemaphoreSlim(_engine.Options.MaxSequences);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        async Task EmbedOne(int index)
        {
            await gate.WaitAsync(failed.Token).ConfigureAwait(false);
            try
            {
                vectors[index] = await _engine.EmbedAsync(inputs[index], failed.Token).ConfigureAwait(false);
            }
            catch when (!failed.IsCancellationRequested)
            {
                await failed.CancelAsync().ConfigureAwait(false);   // one failure ends the batch: stop the others' work
                throw;
            }
            finally
            {
                gate.Release();
            }
        }
        var all = Task.WhenAll(Enumerable.Range(0, inputs.Count).Select(EmbedOne));
        try
        {
            await all.ConfigureAwait(false);
        }
        catch when (!cancellationToken.IsCancellationRequested && all.Exception is { } errors)
        {
            // Siblings cancelled because one input failed: report that failure, not the cancellations it caused.
            if (errors.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) is { } cause)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
            throw;
        }

        var created = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Length)
        {
            Usage = new UsageDetails { InputTokenCount = total, TotalTokenCount = total },
        };
        foreach (var vector in vectors) result.Add(new Embedding<float>(vector) { ModelId = ModelId, CreatedAt = created });
        return result;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return Metadata;
        if (serviceType == typeof(InferenceEngine)) return _engine;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Nothing to release: the engine belongs to whoever created it.</summary>
    public void Dispose() { }
}
