using BitNet.Runtime.Scheduling;
using BitNet.Server.Contracts;
using BitNet.Server.Infrastructure;
using BitNet.Server.Options;
using BitNet.Server.Streaming;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints;

/// <summary>POST /v1/chat/completions, streaming (SSE) and not.</summary>
public static class ChatCompletionsEndpoints
{
    public static RouteGroupBuilder MapChatCompletions(this RouteGroupBuilder v1)
    {
        v1.MapPost("/chat/completions", Handle)
            .WithName("CreateChatCompletion")
            .WithSummary("Creates a model response for the given chat conversation (OpenAI compatible).")
            .Accepts<ChatCompletionRequest>("application/json")
            .Produces<ChatCompletionResponse>()
            .Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(401).Produces<OpenAIErrorBody>(404)
            .Produces<OpenAIErrorBody>(429).Produces<OpenAIErrorBody>(503);
        return v1;
    }

    private static async Task Handle(HttpContext http, GenerationService service, IOptions<ServerOptions> options)
    {
        var o = options.Value;
        service.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, o.MaxRequestBodyBytes, http.RequestAborted);
        var data = RequestParser.ParseChat(body.RootElement, o);
        service.CheckRequestedModel(data.Settings.Model);
        var host = service.Host;
        var format = host.ChatFormat!;
        int[] prompt;
        try
        {
            var segments = format.Render(data.Messages, addGenerationPrompt: true);
            prompt = host.Tokenizer!.Encode(segments, addBos: !format.IncludesBos && host.Tokenizer.AddBos);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message, "messages");
        }
        using var run = service.Submit("chat", prompt, data.Settings, format.StopStrings, http.RequestAborted);
        if (data.Settings.Stream) await StreamAsync(http, service, run, data.Settings);
        else await RespondAsync(http, service, run, data.Settings);
    }

    private static async Task RespondAsync(HttpContext http, GenerationService service, GenerationRun run, GenerationSettings s)
    {
        var result = await service.CollectAsync(run, s.N);
        var tokenizer = service.Host.Tokenizer!;
        var choices = new ChatChoice[s.N];
        for (int i = 0; i < s.N; i++)
        {
            ChatLogprobs? logprobs = s.Logprobs ? new ChatLogprobs(result.Tokens[i].Select(e => Logprobs.ForToken(tokenizer, e)).ToArray()) : null;
            choices[i] = new ChatChoice(i, new ChatMessageDto("assistant", result.Texts[i].ToString()), logprobs,
                GenerationService.FinishReasonText(result.Finish[i]));
        }
        var usage = result.Usage!;
        await http.Response.WriteAsJsonAsync(new ChatCompletionResponse(run.Id, "chat.completion", run.Created, run.Model,
            GenerationService.Fingerprint, choices, GenerationService.ToUsage(usage), GenerationService.ToTimings(usage)), JsonDefaults.Options);
    }

    private static async Task StreamAsync(HttpContext http, GenerationService service, GenerationRun run, GenerationSettings s)
    {
        var sse = new SseWriter(http.Response, JsonDefaults.Options);
        var tokenizer = service.Host.Tokenizer!;
        var ct = http.RequestAborted;
        ChatCompletionChunk Chunk(ChatChunkChoice choice) =>
            new(run.Id, "chat.completion.chunk", run.Created, run.Model, GenerationService.Fingerprint, [choice], null);

        try
        {
            for (int i = 0; i < s.N; i++) await sse.WriteAsync(Chunk(new ChatChunkChoice(i, new ChatDelta("assistant", ""), null, null)), ct);
            await foreach (var e in StreamEvents.ReadWithKeepAliveAsync(run.Events, sse, ct))
            {
                switch (e.Kind)
                {
                    case GenerationEventKind.Token when e.Text.Length > 0 || s.Logprobs:
                        var lp = s.Logprobs ? new ChatLogprobs([Logprobs.ForToken(tokenizer, e)]) : null;
                        await sse.WriteAsync(Chunk(new ChatChunkChoice(e.Choice, new ChatDelta(Content: e.Text), lp, null)), ct);
                        break;
                    case GenerationEventKind.ChoiceFinished:
                        if (e.Text.Length > 0) await sse.WriteAsync(Chunk(new ChatChunkChoice(e.Choice, new ChatDelta(Content: e.Text), null, null)), ct);
                        if (e.Finish != FinishReason.Cancelled || !ct.IsCancellationRequested)
                            await sse.WriteAsync(Chunk(new ChatChunkChoice(e.Choice, new ChatDelta(), null, GenerationService.FinishReasonText(e.Finish))), ct);
                        break;
                    case GenerationEventKind.Completed:
                        service.Record(run, e.Usage, null);
                        if (s.IncludeUsage && e.Usage is { } u)
                            await sse.WriteAsync(new ChatCompletionChunk(run.Id, "chat.completion.chunk", run.Created, run.Model,
                                GenerationService.Fingerprint, [], GenerationService.ToUsage(u), GenerationService.ToTimings(u)), ct);
                        await sse.DoneAsync(ct);
                        return;
                    case GenerationEventKind.Failed:
                        service.Record(run, null, e.Text);
                        await sse.WriteAsync(new OpenAIErrorBody(new OpenAIErrorDetail($"generation failed: {e.Text}", "server_error", null, "generation_failed")), ct);
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away: the linked token has already cancelled the sequence in the engine.
        }
    }
}
