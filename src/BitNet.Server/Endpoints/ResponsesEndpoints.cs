using System.Security.Cryptography;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Scheduling;
using BitNet.Server.Contracts;
using BitNet.Server.Hosting;
using BitNet.Server.Infrastructure;
using BitNet.Server.Options;
using BitNet.Server.Streaming;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints;

/// <summary>
/// The Responses API: POST /v1/responses (streamed as named SSE events or not), GET and DELETE /v1/responses/{id}
/// against the bounded in-memory <see cref="ResponseStore"/>. A response is one assistant message rendered through the
/// model's chat format, so it decodes exactly like a chat completion (the same engine path and grammar).
/// </summary>
public static class ResponsesEndpoints
{
    public static RouteGroupBuilder MapResponses(this RouteGroupBuilder v1)
    {
        v1.MapPost("/responses", Create)
            .WithName("CreateResponse")
            .WithSummary("Creates a model response (OpenAI Responses API).")
            .Accepts<CreateResponseRequest>("application/json")
            .Produces<ResponseObject>()
            .Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(401).Produces<OpenAIErrorBody>(404)
            .Produces<OpenAIErrorBody>(429).Produces<OpenAIErrorBody>(503);
        v1.MapGet("/responses/{id}", Get)
            .WithName("GetResponse")
            .WithSummary("Returns a stored response.")
            .Produces<ResponseObject>().Produces<OpenAIErrorBody>(404);
        v1.MapDelete("/responses/{id}", Delete)
            .WithName("DeleteResponse")
            .WithSummary("Deletes a stored response.")
            .Produces<ResponseDeleted>().Produces<OpenAIErrorBody>(404);
        return v1;
    }

    private static async Task Create(HttpContext http, GenerationService service, ResponseStore store, IOptions<ServerOptions> options)
    {
        var o = options.Value;
        service.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, o.MaxRequestBodyBytes, http.RequestAborted);
        var data = ResponsesRequestParser.Parse(body.RootElement, o);
        service.CheckRequestedModel(data.Settings.Model);

        // A follow-up continues the stored conversation (its inputs and answers); instructions apply to this turn only.
        var conversation = new List<ChatMessage>();
        if (data.PreviousResponseId is { } previousId)
        {
            if (!store.TryGet(previousId, out var previous))
                throw NotFound($"Previous response with id '{previousId}' not found (never stored, deleted, or evicted: the server keeps the last {store.Capacity}).",
                    "previous_response_id", "previous_response_not_found");
            conversation.AddRange(previous.Conversation);
        }
        int earlier = conversation.Count;
        conversation.AddRange(data.Input);
        // Each function_call_output must answer a call of this input or of the stored conversation.
        ToolRequestParser.CheckToolResults(conversation, "input", earlier, "call_id");
        var messages = new List<ChatMessage>(conversation.Count + 1);
        if (!string.IsNullOrEmpty(data.Instructions)) messages.Add(new ChatMessage("system", data.Instructions));
        messages.AddRange(conversation);

        var host = service.Host;
        var format = host.ChatFormat!;
        var tools = data.Tools is { Active: true } active ? active : null;
        int[] prompt;
        try
        {
            var segments = format.Render(messages, addGenerationPrompt: true, tools?.PromptTools);
            prompt = host.Tokenizer!.Encode(segments, addBos: !format.IncludesBos && host.Tokenizer.AddBos);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message, "input");
        }
        if (tools is not null) ChatCompletionsEndpoints.CheckToolsFit(service, prompt, data.Settings, tools);
        using var run = service.Submit(GenerationService.Responses, prompt, data.Settings, format.StopStrings, http.RequestAborted);
        var response = new ResponseBuilder(run, data, "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)));
        var answer = tools is null ? null : new ToolCallAnswer();
        if (data.Settings.Stream) await StreamAsync(http, service, store, run, response, answer, conversation);
        else
        {
            var result = await service.CollectAsync(run, 1);
            var output = new ResponseOutput(response, answer, _ => Task.CompletedTask);
            if (answer is not null) answer.Tokens = result.Tokens[0].Count;
            await output.PushAsync(result.Texts[0].ToString());
            bool cut = IsCut(service, run, answer, result.Finish[0]);
            await output.FinishAsync(cut);
            var done = response.Finished(output.Items, cut, result.Usage!);
            Keep(store, data, done, conversation, output.Answer());
            await http.Response.WriteAsJsonAsync(done, JsonDefaults.Options);
        }
    }

    /// <summary>Whether the answer was cut (incomplete): with tools as the chat endpoint's finish_reason "length".</summary>
    private static bool IsCut(GenerationService service, GenerationRun run, ToolCallAnswer? answer, FinishReason finish) =>
        answer is null
            ? ResponseBuilder.IsCut(finish)
            : finish == FinishReason.Cancelled
              || answer.FinishReason(finish, ChatCompletionsEndpoints.LimitReached(run, answer, service.RequireReady().ContextLength)) == "length";

    private static async Task StreamAsync(HttpContext http, GenerationService service, ResponseStore store, GenerationRun run,
        ResponseBuilder response, ToolCallAnswer? answer, List<ChatMessage> conversation)
    {
        var sse = new SseWriter(http.Response, JsonDefaults.Options);
        var ct = http.RequestAborted;
        int sequence = 0;
        Task Send(ResponseStreamEvent e) => sse.WriteEventAsync(e.Type, e with { SequenceNumber = sequence++ }, ct);
        var output = new ResponseOutput(response, answer, Send);
        FinishReason finish = FinishReason.Stop;

        try
        {
            var started = response.InProgress();
            await Send(new("response.created", 0, Response: started));
            await Send(new("response.in_progress", 0, Response: started));
            // Without tools the answer is a message: announced at once. With tools, the first text or call decides.
            if (answer is null) await output.OpenMessageAsync();
            await foreach (var e in StreamEvents.ReadWithKeepAliveAsync(run.Events, sse, ct))
            {
                switch (e.Kind)
                {
                    case GenerationEventKind.Token:
                        if (answer is not null) answer.Tokens++;
                        await output.PushAsync(e.Text);
                        break;
                    case GenerationEventKind.ChoiceFinished:
                        finish = e.Finish;
                        await output.PushAsync(e.Text);
                        break;
                    case GenerationEventKind.Completed:
                        service.Record(run, e.Usage, null);
                        bool cut = IsCut(service, run, answer, finish);
                        await output.FinishAsync(cut);
                        var done = response.Finished(output.Items, cut, e.Usage!);
                        Keep(store, response.Data, done, conversation, output.Answer());
                        string last = done.Status == "completed" ? "response.completed" : "response.incomplete";
                        await Send(new(last, 0, Response: done));
                        return;
                    case GenerationEventKind.Failed:
                        service.Record(run, null, e.Text);
                        await Send(new("response.failed", 0, Response: response.Failed(output.Text, e.Text)));
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away: disposing the run cancels its sequence in the engine.
        }
    }

    /// <summary>Stores a finished response (unless store is false) with the conversation a follow-up continues.</summary>
    private static void Keep(ResponseStore store, ResponsesRequestData data, ResponseObject done, List<ChatMessage> conversation, ChatMessage answer)
    {
        if (!data.Store) return;
        store.Add(new StoredResponse(done, [.. conversation, answer]));
    }

    private static async Task Get(string id, HttpContext http, ResponseStore store)
    {
        if (!store.TryGet(id, out var stored)) throw NotFound($"Response with id '{id}' not found.", "id", "not_found");
        await http.Response.WriteAsJsonAsync(stored.Response, JsonDefaults.Options);
    }

    private static async Task Delete(string id, HttpContext http, ResponseStore store)
    {
        if (!store.Remove(id)) throw NotFound($"Response with id '{id}' not found.", "id", "not_found");
        await http.Response.WriteAsJsonAsync(new ResponseDeleted(id, "response.deleted", true), JsonDefaults.Options);
    }

    private static ApiException NotFound(string message, string param, string code) => new(404, "invalid_request_error", message, param, code);
}
