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
        conversation.AddRange(data.Input);
        var messages = new List<ChatMessage>(conversation.Count + 1);
        if (!string.IsNullOrEmpty(data.Instructions)) messages.Add(new ChatMessage("system", data.Instructions));
        messages.AddRange(conversation);

        var host = service.Host;
        var format = host.ChatFormat!;
        int[] prompt;
        try
        {
            var segments = format.Render(messages, addGenerationPrompt: true);
            prompt = host.Tokenizer!.Encode(segments, addBos: !format.IncludesBos && host.Tokenizer.AddBos);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message, "input");
        }
        using var run = service.Submit(GenerationService.Responses, prompt, data.Settings, format.StopStrings, http.RequestAborted);
        var response = new ResponseBuilder(run, data, "msg_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)));
        if (data.Settings.Stream) await StreamAsync(http, service, store, run, response, conversation);
        else
        {
            var result = await service.CollectAsync(run, 1);
            var done = response.Finished(result.Texts[0].ToString(), result.Finish[0], result.Usage!);
            Keep(store, data, done, conversation);
            await http.Response.WriteAsJsonAsync(done, JsonDefaults.Options);
        }
    }

    private static async Task StreamAsync(HttpContext http, GenerationService service, ResponseStore store, GenerationRun run,
        ResponseBuilder response, List<ChatMessage> conversation)
    {
        var sse = new SseWriter(http.Response, JsonDefaults.Options);
        var ct = http.RequestAborted;
        int sequence = 0;
        Task Send(string type, ResponseStreamEvent e) => sse.WriteEventAsync(type, e, ct);
        ResponseStreamEvent Event(string type) => new(type, sequence++);
        const int OutputIndex = 0, ContentIndex = 0;
        string itemId = response.MessageId;
        var text = new System.Text.StringBuilder();
        FinishReason finish = FinishReason.Stop;

        try
        {
            var started = response.InProgress();
            await Send("response.created", Event("response.created") with { Response = started });
            await Send("response.in_progress", Event("response.in_progress") with { Response = started });
            await Send("response.output_item.added", Event("response.output_item.added") with
            {
                OutputIndex = OutputIndex, Item = response.Message("in_progress", null),
            });
            await Send("response.content_part.added", Event("response.content_part.added") with
            {
                ItemId = itemId, OutputIndex = OutputIndex, ContentIndex = ContentIndex, Part = ResponseBuilder.TextPart(""),
            });
            await foreach (var e in StreamEvents.ReadWithKeepAliveAsync(run.Events, sse, ct))
            {
                string delta = "";
                switch (e.Kind)
                {
                    case GenerationEventKind.Token or GenerationEventKind.ChoiceFinished:
                        delta = e.Text;
                        if (e.Kind == GenerationEventKind.ChoiceFinished) finish = e.Finish;
                        break;
                    case GenerationEventKind.Completed:
                        service.Record(run, e.Usage, null);
                        string full = text.ToString();
                        var done = response.Finished(full, finish, e.Usage!);
                        var message = done.Output[0];
                        await Send("response.output_text.done", Event("response.output_text.done") with
                        {
                            ItemId = itemId, OutputIndex = OutputIndex, ContentIndex = ContentIndex, Text = full, Logprobs = [],
                        });
                        await Send("response.content_part.done", Event("response.content_part.done") with
                        {
                            ItemId = itemId, OutputIndex = OutputIndex, ContentIndex = ContentIndex, Part = message.Content![0],
                        });
                        await Send("response.output_item.done", Event("response.output_item.done") with { OutputIndex = OutputIndex, Item = message });
                        Keep(store, response.Data, done, conversation);
                        string last = done.Status == "completed" ? "response.completed" : "response.incomplete";
                        await Send(last, Event(last) with { Response = done });
                        return;
                    case GenerationEventKind.Failed:
                        service.Record(run, null, e.Text);
                        await Send("response.failed", Event("response.failed") with { Response = response.Failed(text.ToString(), e.Text) });
                        return;
                }
                if (delta.Length == 0) continue;
                text.Append(delta);
                await Send("response.output_text.delta", Event("response.output_text.delta") with
                {
                    ItemId = itemId, OutputIndex = OutputIndex, ContentIndex = ContentIndex, Delta = delta, Logprobs = [],
                });
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away: disposing the run cancels its sequence in the engine.
        }
    }

    /// <summary>Stores a finished response (unless store is false) with the conversation a follow-up continues.</summary>
    private static void Keep(ResponseStore store, ResponsesRequestData data, ResponseObject done, List<ChatMessage> conversation)
    {
        if (!data.Store) return;
        string answer = done.Output.Count > 0 && done.Output[0].Content is [var part, ..] ? part.Text : "";
        store.Add(new StoredResponse(done, [.. conversation, new ChatMessage("assistant", answer)]));
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
