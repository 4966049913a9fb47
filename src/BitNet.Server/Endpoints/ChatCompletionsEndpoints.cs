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
        var tools = data.Tools is { Active: true } active ? active : null;
        int[] prompt;
        try
        {
            var segments = format.Render(data.Messages, addGenerationPrompt: true, tools?.PromptTools);
            prompt = host.Tokenizer!.Encode(segments, addBos: !format.IncludesBos && host.Tokenizer.AddBos);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message, "messages");
        }
        if (tools is not null) CheckToolsFit(service, prompt, data.Settings, tools);
        using var run = service.Submit("chat", prompt, data.Settings, format.StopStrings, http.RequestAborted);
        if (data.Settings.Stream) await StreamAsync(http, service, run, data.Settings, tools is not null);
        else await RespondAsync(http, service, run, data.Settings, tools is not null);
    }

    /// <summary>
    /// Tools are never dropped to make room: when the listed tools are what pushes the prompt past the context, the
    /// answer is OpenAI's context_length_exceeded, naming the tools' share.
    /// </summary>
    internal static void CheckToolsFit(GenerationService service, int[] prompt, GenerationSettings s, ToolSettings tools)
    {
        int ctx = service.RequireReady().ContextLength;
        int completion = s.MaxTokens ?? 1;
        if (prompt.Length + completion <= ctx && prompt.Length < ctx) return;
        int toolTokens = service.Host.Tokenizer!.Encode(Runtime.Chat.ToolPrompt.DescribeTools(tools.PromptTools), addBos: false, parseSpecial: false).Length;
        if (prompt.Length - toolTokens + completion > ctx) return; // the messages alone do not fit: the usual error
        throw new ApiException(400, "invalid_request_error",
            $"This model's maximum context length is {ctx} tokens. However, you requested {prompt.Length + completion} tokens " +
            $"({prompt.Length} in the messages, of which {toolTokens} are the {tools.PromptTools.Count} tool definitions, {completion} in the completion). " +
            "Please reduce the length of the messages, the tools or the completion.", "tools", "context_length_exceeded");
    }

    private static async Task RespondAsync(HttpContext http, GenerationService service, GenerationRun run, GenerationSettings s, bool tools)
    {
        var result = await service.CollectAsync(run, s.N);
        var tokenizer = service.Host.Tokenizer!;
        int ctx = service.RequireReady().ContextLength;
        var choices = new ChatChoice[s.N];
        for (int i = 0; i < s.N; i++)
        {
            ChatLogprobs? logprobs = s.Logprobs ? new ChatLogprobs(result.Tokens[i].Select(e => Logprobs.ForToken(tokenizer, e)).ToArray()) : null;
            if (tools)
            {
                var answer = new ToolCallAnswer { Tokens = result.Tokens[i].Count };
                answer.Push(result.Texts[i].ToString());
                answer.Finish();
                choices[i] = new ChatChoice(i, answer.Message(), logprobs, answer.FinishReason(result.Finish[i], LimitReached(run, answer, ctx)));
                continue;
            }
            choices[i] = new ChatChoice(i, new ChatMessageDto("assistant", result.Texts[i].ToString()), logprobs,
                GenerationService.FinishReasonText(result.Finish[i]));
        }
        var usage = result.Usage!;
        await http.Response.WriteAsJsonAsync(new ChatCompletionResponse(run.Id, "chat.completion", run.Created, run.Model,
            GenerationService.Fingerprint, choices, GenerationService.ToUsage(usage), GenerationService.ToTimings(usage)), JsonDefaults.Options);
    }

    internal static bool LimitReached(GenerationRun run, ToolCallAnswer answer, int ctx) =>
        answer.Tokens >= run.MaxTokens || run.PromptTokens + answer.Tokens >= ctx;

    private static async Task StreamAsync(HttpContext http, GenerationService service, GenerationRun run, GenerationSettings s, bool tools)
    {
        var sse = new SseWriter(http.Response, JsonDefaults.Options);
        var tokenizer = service.Host.Tokenizer!;
        var ct = http.RequestAborted;
        ChatCompletionChunk Chunk(ChatChunkChoice choice) =>
            new(run.Id, "chat.completion.chunk", run.Created, run.Model, GenerationService.Fingerprint, [choice], null);

        // With tools, each choice's text goes through its parser: content deltas, or tool_calls deltas.
        var answers = tools ? Enumerable.Range(0, s.N).Select(_ => new ToolCallAnswer()).ToArray() : null;
        int ctx = service.RequireReady().ContextLength;
        async Task WritePartsAsync(int choice, IReadOnlyList<Runtime.Chat.ToolCallPart> parts, ChatLogprobs? logprobs)
        {
            var answer = answers![choice];
            foreach (var part in parts)
            {
                await sse.WriteAsync(Chunk(new ChatChunkChoice(choice, answer.Delta(part), logprobs, null)), ct);
                logprobs = null;
            }
            if (logprobs is not null) await sse.WriteAsync(Chunk(new ChatChunkChoice(choice, new ChatDelta(), logprobs, null)), ct);
        }

        try
        {
            for (int i = 0; i < s.N; i++) await sse.WriteAsync(Chunk(new ChatChunkChoice(i, new ChatDelta("assistant", ""), null, null)), ct);
            await foreach (var e in StreamEvents.ReadWithKeepAliveAsync(run.Events, sse, ct))
            {
                switch (e.Kind)
                {
                    case GenerationEventKind.Token when answers is not null:
                        answers[e.Choice].Tokens++;
                        await WritePartsAsync(e.Choice, answers[e.Choice].Push(e.Text), s.Logprobs ? new ChatLogprobs([Logprobs.ForToken(tokenizer, e)]) : null);
                        break;
                    case GenerationEventKind.ChoiceFinished when answers is not null:
                        var finished = answers[e.Choice];
                        await WritePartsAsync(e.Choice, finished.Push(e.Text), null);
                        await WritePartsAsync(e.Choice, finished.Finish(), null);
                        if (e.Finish != FinishReason.Cancelled || !ct.IsCancellationRequested)
                            await sse.WriteAsync(Chunk(new ChatChunkChoice(e.Choice, new ChatDelta(), null,
                                finished.FinishReason(e.Finish, LimitReached(run, finished, ctx)))), ct);
                        break;
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
