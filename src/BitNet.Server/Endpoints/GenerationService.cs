using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using BitNet.Runtime.Scheduling;
using BitNet.Server.Contracts;
using BitNet.Server.Hosting;
using BitNet.Server.Infrastructure;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints;

/// <summary>A submitted request as the endpoints see it: its event stream plus what the response needs to echo.</summary>
public sealed class GenerationRun(string id, string model, int promptTokens, ChannelReader<GenerationEvent> events,
    CancellationTokenSource cancellation, Activity? activity, string operation) : IDisposable
{
    public string Id { get; } = id;
    public string Model { get; } = model;
    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public int PromptTokens { get; } = promptTokens;
    public ChannelReader<GenerationEvent> Events { get; } = events;
    public CancellationToken Cancellation => cancellation.Token;
    public Activity? Activity { get; } = activity;
    public string Operation { get; } = operation;
    public long Started { get; } = Stopwatch.GetTimestamp();

    /// <summary>The max_tokens the engine was given (the request's, or the default within the context).</summary>
    public int MaxTokens { get; init; }

    public void Dispose()
    {
        // However the handler ended (done, client gone, a failed write before RequestAborted fired), the engine must
        // not keep decoding for nobody: a cancelled token frees the sequence's KV slot within one step. Disposing
        // without cancelling would leave the engine a token that can never fire. Cancelling a finished run is a no-op.
        cancellation.Cancel();
        cancellation.Dispose();
        Activity?.Dispose();
    }
}

/// <summary>What a finished non-streaming request produced, per choice.</summary>
public sealed class GenerationResult(int choices)
{
    public System.Text.StringBuilder[] Texts { get; } = Enumerable.Range(0, choices).Select(_ => new System.Text.StringBuilder()).ToArray();
    public FinishReason[] Finish { get; } = new FinishReason[choices];
    public List<GenerationEvent>[] Tokens { get; } = Enumerable.Range(0, choices).Select(_ => new List<GenerationEvent>()).ToArray();
    public GenerationUsage? Usage { get; set; }
}

/// <summary>The steps every generation endpoint shares: readiness, model id, limits, submission, collection, telemetry.</summary>
public sealed class GenerationService(ModelHost host, IOptions<ServerOptions> options, ServerTelemetry telemetry, ILogger<GenerationService> logger)
{
    public const string Fingerprint = "fp_bitnet_server";

    private readonly ServerOptions _options = options.Value;

    public ModelHost Host => host;

    public InferenceEngine RequireReady()
    {
        return host.State switch
        {
            ModelState.Ready => host.Engine!,
            ModelState.Failed => throw ApiException.Unavailable($"the model failed to load: {host.Error}"),
            ModelState.Stopping => throw ApiException.Unavailable("the server is shutting down"),
            _ => throw ApiException.Unavailable("the model is still loading; retry shortly"),
        };
    }

    /// <summary>
    /// The `model` of a generation request. A one-model server answers any name (apps hard-code gpt-4o-mini or
    /// gpt-3.5-turbo) and reports its own id; BitNet:StrictModelNames makes a name other than the alias a 404.
    /// </summary>
    public void CheckRequestedModel(string? requested)
    {
        if (_options.StrictModelNames) CheckModel(requested);
    }

    /// <summary>A model id that must be the served one (GET /v1/models/{id}): 404 model_not_found otherwise.</summary>
    public void CheckModel(string? requested)
    {
        if (requested is not null && requested.Length > 0 && !string.Equals(requested, host.ModelId, StringComparison.Ordinal))
            throw ApiException.ModelNotFound(requested);
    }

    /// <summary>Checks the context, builds the engine request and submits it (429 when the queue is full).</summary>
    public GenerationRun Submit(string operation, int[] prompt, GenerationSettings s, IReadOnlyList<string> formatStops, CancellationToken aborted)
    {
        var engine = RequireReady();
        int ctx = engine.ContextLength;
        int requested = s.MaxTokens ?? Math.Min(_options.DefaultMaxTokens, Math.Max(ctx - prompt.Length, 0));
        if (prompt.Length >= ctx || (s.MaxTokens is not null && prompt.Length + requested > ctx))
            throw ApiException.ContextLengthExceeded(ctx, prompt.Length, s.MaxTokens ?? 0, InputName(operation));

        // A chat format's stop that is a special token of the vocabulary stops as that token: control tokens are never
        // text, so as a stop string it could never match.
        var stops = new List<string>(s.Stop);
        var stopTokens = new List<int>(engine.Tokenizer.EndOfGenerationIds);
        foreach (var f in formatStops)
        {
            if (engine.Tokenizer.TryGetSpecialTokenId(f, out int special)) { if (!stopTokens.Contains(special)) stopTokens.Add(special); }
            else if (!stops.Contains(f)) stops.Add(f);
        }
        var cts = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        double timeout = Math.Min(s.TimeoutSeconds ?? double.MaxValue, _options.RequestTimeoutSeconds);
        cts.CancelAfter(TimeSpan.FromSeconds(timeout));

        string id = IdPrefix(operation) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var request = new GenerationRequest
        {
            Id = id,
            PromptTokens = prompt,
            MaxTokens = requested,
            Choices = s.N,
            Sampling = s.Sampling,
            StopStrings = stops,
            StopTokens = stopTokens,
            ChatAnswer = operation is "chat" or Responses,
            Grammar = s.Grammar,
            Cancellation = cts.Token,
        };
        ChannelReader<GenerationEvent> events;
        try
        {
            if (!engine.TrySubmit(request, out events))
            {
                cts.Dispose();
                telemetry.Requests.Add(1, new KeyValuePair<string, object?>("outcome", "rejected"));
                throw ApiException.Overloaded(_options.RetryAfterSeconds);
            }
        }
        catch (ArgumentException e)
        {
            cts.Dispose();
            throw ApiException.BadRequest(e.Message, InputName(operation));
        }

        var activity = ServerTelemetry.ActivitySource.StartActivity($"{operation} {host.ModelId}", ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", operation == "text_completion" ? "text_completion" : "chat");
        activity?.SetTag("gen_ai.request.model", host.ModelId);
        activity?.SetTag("gen_ai.request.max_tokens", requested);
        activity?.SetTag("gen_ai.request.temperature", s.Sampling.Temperature);
        activity?.SetTag("gen_ai.request.top_p", s.Sampling.TopP);
        activity?.SetTag("gen_ai.response.id", id);
        logger.LogInformation("{Operation} {Id}: {PromptTokens} prompt tokens, max {MaxTokens}, n {N}, stream {Stream}",
            operation, id, prompt.Length, requested, s.N, s.Stream);
        if (_options.LogPrompts) logger.LogInformation("{Id} prompt: {Prompt}", id, engine.Tokenizer.Decode(prompt));
        return new GenerationRun(id, host.ModelId, prompt.Length, events, cts, activity, operation) { MaxTokens = requested };
    }

    /// <summary>The operation name of POST /v1/responses: a chat answer with a resp_ id whose input is `input`.</summary>
    public const string Responses = "responses";

    private static string IdPrefix(string operation) => operation switch { "chat" => "chatcmpl-", Responses => "resp_", _ => "cmpl-" };

    private static string InputName(string operation) => operation switch { "chat" => "messages", Responses => "input", _ => "prompt" };

    /// <summary>Reads a run to its end (non-streaming responses).</summary>
    public async Task<GenerationResult> CollectAsync(GenerationRun run, int choices)
    {
        var result = new GenerationResult(choices);
        await foreach (var e in run.Events.ReadAllAsync(CancellationToken.None))
        {
            switch (e.Kind)
            {
                case GenerationEventKind.Token:
                    result.Texts[e.Choice].Append(e.Text);
                    result.Tokens[e.Choice].Add(e);
                    break;
                case GenerationEventKind.ChoiceFinished:
                    result.Texts[e.Choice].Append(e.Text);
                    result.Finish[e.Choice] = e.Finish;
                    break;
                case GenerationEventKind.Completed:
                    result.Usage = e.Usage;
                    break;
                case GenerationEventKind.Failed:
                    Record(run, null, e.Text);
                    throw new ApiException(500, "server_error", $"generation failed: {e.Text}", null, "generation_failed");
            }
        }
        if (run.Cancellation.IsCancellationRequested && result.Usage is null)
            throw new ApiException(408, "timeout", "the request was cancelled or timed out", null, "timeout");
        Record(run, result.Usage, null);
        return result;
    }

    /// <summary>Records metrics and closes the span of a finished run.</summary>
    public void Record(GenerationRun run, GenerationUsage? usage, string? error)
    {
        var op = new KeyValuePair<string, object?>("gen_ai.operation.name", run.Operation == "text_completion" ? "text_completion" : "chat");
        var model = new KeyValuePair<string, object?>("gen_ai.request.model", run.Model);
        double seconds = Stopwatch.GetElapsedTime(run.Started).TotalSeconds;
        if (error is not null)
        {
            telemetry.RequestDuration.Record(seconds, op, model, new("error.type", "generation_failed"));
            telemetry.Requests.Add(1, new KeyValuePair<string, object?>("outcome", "error"));
            run.Activity?.SetStatus(ActivityStatusCode.Error, error);
            logger.LogWarning("{Id} failed: {Error}", run.Id, error);
            return;
        }
        telemetry.Requests.Add(1, new KeyValuePair<string, object?>("outcome", run.Cancellation.IsCancellationRequested ? "cancelled" : "ok"));
        if (usage is null) return;
        telemetry.RequestDuration.Record(seconds, op, model);
        if (usage.TimeToFirstToken > TimeSpan.Zero) telemetry.TimeToFirstToken.Record(usage.TimeToFirstToken.TotalSeconds, op, model);
        if (usage.CompletionTokens > 1)
            telemetry.TimePerOutputToken.Record(usage.GenerationTime.TotalSeconds / (usage.CompletionTokens - 1), op, model);
        telemetry.TokenUsage.Add(usage.PromptTokens, op, model, new("gen_ai.token.type", "input"));
        telemetry.TokenUsage.Add(usage.CompletionTokens, op, model, new("gen_ai.token.type", "output"));
        run.Activity?.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
        run.Activity?.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
        logger.LogInformation("{Id} done: {Prompt} prompt ({Cached} cached) + {Completion} completion tokens in {Seconds:F2} s",
            run.Id, usage.PromptTokens, usage.CachedTokens, usage.CompletionTokens, seconds);
    }

    /// <summary>
    /// OpenAI's finish reasons. A request cut by its deadline (`timeout`, BitNet:RequestTimeoutSeconds) keeps what it
    /// generated and reports "length": it stopped at a limit, as with max_tokens.
    /// </summary>
    public static string FinishReasonText(FinishReason r) => r is FinishReason.Length or FinishReason.Cancelled ? "length" : "stop";

    public static Usage ToUsage(GenerationUsage u) => new(u.PromptTokens, u.CompletionTokens, u.PromptTokens + u.CompletionTokens,
        new PromptTokensDetails(u.CachedTokens), new CompletionTokensDetails(0));

    public static Timings ToTimings(GenerationUsage u)
    {
        int processed = u.PromptTokens - u.CachedTokens;
        double promptMs = u.PromptTime.TotalMilliseconds, genMs = u.GenerationTime.TotalMilliseconds;
        return new Timings(processed, promptMs, promptMs > 0 ? processed * 1000 / promptMs : 0,
            u.CompletionTokens, genMs, genMs > 0 && u.CompletionTokens > 1 ? (u.CompletionTokens - 1) * 1000 / genMs : 0,
            u.CachedTokens, u.QueueTime.TotalMilliseconds, u.TimeToFirstToken.TotalMilliseconds,
            Math.Round(u.CpuSeconds, 6), Math.Round(u.CpuSecondsPerToken, 6));
    }
}
