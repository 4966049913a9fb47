using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using BitNet.Runtime.Scheduling;
using Microsoft.Extensions.AI;
using RuntimeChat = BitNet.Runtime.Chat;

namespace BitNet.Extensions.AI;

/// <summary>
/// <see cref="IChatClient"/> over a BitNet <see cref="InferenceEngine"/> in this process. Every call becomes one engine
/// request, so concurrent callers (of this client or of others on the same engine, such as an HTTP server) are batched
/// into the same forward passes. Thread-safe; disposing it leaves the engine running (its owner, e.g.
/// <see cref="BitNetModelHost"/>, disposes that).
/// </summary>
/// <remarks>
/// <see cref="ChatOptions"/> mapping: <c>Temperature</c> (0..2, 0 = greedy), <c>TopP</c>, <c>TopK</c>, <c>Seed</c>,
/// <c>MaxOutputTokens</c>, <c>StopSequences</c>, <c>FrequencyPenalty</c>, <c>PresencePenalty</c>, <c>Instructions</c>
/// (a system message before the others) and <c>ResponseFormat</c> (<see cref="ChatResponseFormat.Json"/>: any JSON
/// object; a JSON schema: output constrained to it). <c>AdditionalProperties</c> <c>"min_p"</c> and
/// <c>"repetition_penalty"</c> set those samplers. <c>ModelId</c> and <c>ConversationId</c> are ignored (one model, no
/// stored conversations); <c>Tools</c> are refused with <see cref="NotSupportedException"/>.
/// </remarks>
public sealed class BitNetChatClient : IChatClient
{
    /// <summary>The provider name reported in <see cref="ChatClientMetadata"/>.</summary>
    public const string ProviderName = "bitnet";

    private readonly InferenceEngine _engine;
    private readonly ChatRequestMapper _mapper;

    /// <summary>A client for <paramref name="engine"/>, rendering conversations in <paramref name="format"/>.</summary>
    /// <param name="engine">The running engine; it is shared, not owned.</param>
    /// <param name="format">The model's chat format (see <see cref="RuntimeChat.ChatFormats.Detect"/>).</param>
    /// <param name="modelId">The id reported in responses and metadata.</param>
    /// <param name="options">Defaults for what a request leaves out; null = the server's defaults.</param>
    public BitNetChatClient(InferenceEngine engine, RuntimeChat.ChatFormat format, string modelId, BitNetChatClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        options ??= new BitNetChatClientOptions();
        options.Validate(engine.Model.Config.Vocab);
        _engine = engine;
        _mapper = new ChatRequestMapper(engine, format, options);
        ModelId = modelId;
        Metadata = new ChatClientMetadata(ProviderName, defaultModelId: modelId);
    }

    /// <summary>The id reported as <see cref="ChatResponse.ModelId"/>.</summary>
    public string ModelId { get; }

    /// <summary>Provider name, no URI (the model is in this process) and the model id.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>The engine this client submits to.</summary>
    public InferenceEngine Engine => _engine;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        using var run = Submit(messages, options, cancellationToken);
        var text = new System.Text.StringBuilder();
        var finish = FinishReason.Stop;
        GenerationUsage? usage = null;
        await foreach (var e in run.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            switch (e.Kind)
            {
                case GenerationEventKind.Token:
                    text.Append(e.Text);
                    break;
                case GenerationEventKind.ChoiceFinished:
                    text.Append(e.Text);
                    finish = e.Finish;
                    break;
                case GenerationEventKind.Completed:
                    usage = e.Usage;
                    break;
                case GenerationEventKind.Failed:
                    throw new InvalidOperationException($"generation failed: {e.Text}");
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()) { MessageId = run.Id })
        {
            ResponseId = run.Id,
            ModelId = ModelId,
            CreatedAt = run.Created,
            FinishReason = ToFinishReason(finish),
            Usage = usage is null ? null : ToUsage(usage),
            AdditionalProperties = usage is null ? null : Timings(usage),
        };
    }

    /// <inheritdoc />
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        // Submitted before the first MoveNextAsync so a bad request throws at the call, not at the first await.
        var run = Submit(messages, options, cancellationToken);
        return StreamAsync(run, cancellationToken);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(Run run, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using (run)
        {
            ChatResponseUpdate Update(string text) => new(ChatRole.Assistant, text)
            {
                ResponseId = run.Id, MessageId = run.Id, ModelId = ModelId, CreatedAt = run.Created,
            };

            var finish = FinishReason.Stop;
            await foreach (var e in run.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                switch (e.Kind)
                {
                    // Empty deltas (a character or stop string still pending) carry nothing for a chat client.
                    case GenerationEventKind.Token when e.Text.Length > 0:
                        yield return Update(e.Text);
                        break;
                    case GenerationEventKind.ChoiceFinished:
                        finish = e.Finish;
                        if (e.Text.Length > 0) yield return Update(e.Text);
                        break;
                    case GenerationEventKind.Completed:
                        cancellationToken.ThrowIfCancellationRequested();
                        var last = new ChatResponseUpdate(ChatRole.Assistant, e.Usage is { } u ? [new UsageContent(ToUsage(u))] : [])
                        {
                            ResponseId = run.Id, MessageId = run.Id, ModelId = ModelId, CreatedAt = run.Created,
                            FinishReason = ToFinishReason(finish),
                            AdditionalProperties = e.Usage is { } t ? Timings(t) : null,
                        };
                        yield return last;
                        break;
                    case GenerationEventKind.Failed:
                        throw new InvalidOperationException($"generation failed: {e.Text}");
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private Run Submit(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string id = "chatcmpl-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        // Linked so that a caller who stops reading (disposes the stream early) also stops the engine's work.
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var request = _mapper.Map(messages, options, id, cancellation.Token);
            if (!_engine.TrySubmit(request, out var events))
                throw new InvalidOperationException(
                    $"the BitNet engine's queue is full ({_engine.Options.MaxQueuedRequests} requests waiting); retry later or raise MaxQueuedRequests");
            return new Run(id, events, cancellation);
        }
        catch
        {
            cancellation.Dispose();
            throw;
        }
    }

    internal static ChatFinishReason ToFinishReason(FinishReason reason) =>
        reason == FinishReason.Stop ? ChatFinishReason.Stop : ChatFinishReason.Length;

    internal static UsageDetails ToUsage(GenerationUsage u) => new()
    {
        InputTokenCount = u.PromptTokens,
        OutputTokenCount = u.CompletionTokens,
        TotalTokenCount = u.PromptTokens + u.CompletionTokens,
        CachedInputTokenCount = u.CachedTokens,
    };

    /// <summary>llama.cpp-style timings, in milliseconds, as the server reports them.</summary>
    private static AdditionalPropertiesDictionary Timings(GenerationUsage u) => new()
    {
        ["queue_ms"] = u.QueueTime.TotalMilliseconds,
        ["prompt_ms"] = u.PromptTime.TotalMilliseconds,
        ["generation_ms"] = u.GenerationTime.TotalMilliseconds,
        ["time_to_first_token_ms"] = u.TimeToFirstToken.TotalMilliseconds,
    };

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return Metadata;
        if (serviceType == typeof(InferenceEngine)) return _engine;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Nothing to release: the engine belongs to whoever created it.</summary>
    public void Dispose() { }

    /// <summary>One submitted request: its events and the token that stops it in the engine when the caller is done.</summary>
    private sealed class Run(string id, ChannelReader<GenerationEvent> events, CancellationTokenSource cancellation) : IDisposable
    {
        public string Id { get; } = id;
        public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;
        public ChannelReader<GenerationEvent> Events { get; } = events;

        public void Dispose()
        {
            // Cancelling a finished request is a no-op; an unfinished one frees its KV slot within one engine step.
            cancellation.Cancel();
            cancellation.Dispose();
        }
    }
}
