using System.Diagnostics;
using BitNet.Runtime.Scheduling;
using BitNet.Server.Contracts;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints;

/// <summary>What a batch of embedding inputs produced: one unit vector per input, the tokens read, the time taken.</summary>
public sealed record EmbeddingBatch(float[][] Vectors, int PromptTokens, TimeSpan Duration);

/// <summary>
/// The steps /v1/embeddings and Ollama's /api/embed share: tokenize, check each input against the context, and run the
/// inputs through <see cref="InferenceEngine.EmbedAsync"/> (the engine batches them with every other request), at most
/// as many at once as the server has KV slots, so one large batch queues behind its own items instead of filling the
/// engine's wait queue.
/// </summary>
public sealed class EmbeddingService(GenerationService generation, IOptions<ServerOptions> options)
{
    private readonly ServerOptions _options = options.Value;

    /// <summary>Most inputs in one request (OpenAI's limit).</summary>
    public const int MaxInputs = 2048;

    /// <summary>Text to tokens as a prompt would start: with the model's BOS when it adds one.</summary>
    public int[] Tokenize(string text)
    {
        var tokenizer = generation.Host.Tokenizer!;
        return tokenizer.Encode(text, addBos: tokenizer.AddBos, parseSpecial: false);
    }

    /// <summary>
    /// Embeds every input. An input longer than the context is a 400 naming it, unless <paramref name="truncate"/>
    /// (Ollama's default), which keeps its first context-length tokens.
    /// </summary>
    public async Task<EmbeddingBatch> EmbedAsync(IReadOnlyList<int[]> inputs, string param, bool truncate, CancellationToken aborted)
    {
        var engine = generation.RequireReady();
        int ctx = engine.ContextLength, vocab = engine.Model.Config.Vocab;
        var prepared = new int[inputs.Count][];
        int total = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            var tokens = inputs[i];
            string where = inputs.Count == 1 ? param : $"{param}[{i}]";
            if (tokens.Length == 0) throw ApiException.BadRequest($"'{where}' is empty; an embedding needs at least one token", param);
            if (tokens.Length > ctx)
            {
                if (!truncate)
                    throw ApiException.BadRequest($"'{where}' has {tokens.Length} tokens; this model's maximum context length is {ctx} tokens",
                        param, "context_length_exceeded");
                tokens = tokens[..ctx];
            }
            foreach (int t in tokens)
                if ((uint)t >= (uint)vocab) throw ApiException.BadRequest($"'{where}' holds token {t}, outside the vocabulary (0..{vocab - 1})", param);
            prepared[i] = tokens;
            total += tokens.Length;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        cts.CancelAfter(TimeSpan.FromSeconds(_options.RequestTimeoutSeconds));
        long started = Stopwatch.GetTimestamp();
        var vectors = new float[prepared.Length][];
        using var gate = new SemaphoreSlim(Math.Max(1, _options.Parallel));
        async Task One(int i)
        {
            await gate.WaitAsync(cts.Token);
            try
            {
                vectors[i] = await engine.EmbedAsync(prepared[i], cts.Token);
            }
            finally
            {
                gate.Release();
            }
        }
        try
        {
            await Task.WhenAll(Enumerable.Range(0, prepared.Length).Select(One));
        }
        catch (EngineQueueFullException)
        {
            await cts.CancelAsync();
            throw ApiException.Overloaded(_options.RetryAfterSeconds);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            throw new ApiException(408, "timeout", "the request was cancelled or timed out", null, "timeout");
        }
        catch (InvalidOperationException e)
        {
            await cts.CancelAsync();
            throw new ApiException(500, "server_error", $"embedding failed: {e.Message}", null, "embedding_failed");
        }
        return new EmbeddingBatch(vectors, total, Stopwatch.GetElapsedTime(started));
    }
}
