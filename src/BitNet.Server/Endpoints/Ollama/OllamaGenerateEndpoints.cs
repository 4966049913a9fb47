using System.Text.Json;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Scheduling;
using BitNet.Server.Contracts;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints.Ollama;

/// <summary>
/// POST /api/chat and /api/generate: NDJSON lines as tokens arrive (the default) or one object with "stream": false,
/// ending with done, done_reason and the counts and durations (nanoseconds). Both go through the same engine and
/// scheduler as /v1; /api/generate renders its prompt (and `system`) with the model's chat format unless `raw`.
/// </summary>
public static class OllamaGenerateEndpoints
{
    public static RouteGroupBuilder MapOllamaGeneration(this RouteGroupBuilder api)
    {
        api.MapPost("/chat", Chat).WithName("OllamaChat");
        api.MapPost("/generate", Generate).WithName("OllamaGenerate");
        return api;
    }

    private static async Task Chat(HttpContext http, GenerationService service, IOptions<ServerOptions> options)
    {
        var o = options.Value;
        service.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, o.MaxRequestBodyBytes, http.RequestAborted);
        var root = OllamaRequestParser.RequireObject(body.RootElement);
        var g = OllamaRequestParser.ParseGeneration(root, o);
        OllamaModels.Require(service.Host, g.Model);
        if (OllamaRequestParser.Present(root, "tools", out var tools) && (tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() > 0))
            throw ApiException.BadRequest($"\"{g.Model}\" does not support tools", "tools");
        var messages = OllamaRequestParser.Messages(root, o.MaxMessages);
        var reply = new Reply(http, service, g, Chat: true);
        if (messages.Count == 0)
        {
            // Ollama's "load the model" request: it is always loaded.
            await reply.LoadedAsync();
            return;
        }
        await reply.RunAsync("chat", Render(service, messages), service.Host.ChatFormat!.StopStrings, o);
    }

    private static async Task Generate(HttpContext http, GenerationService service, IOptions<ServerOptions> options)
    {
        var o = options.Value;
        service.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, o.MaxRequestBodyBytes, http.RequestAborted);
        var root = OllamaRequestParser.RequireObject(body.RootElement);
        var g = OllamaRequestParser.ParseGeneration(root, o);
        OllamaModels.Require(service.Host, g.Model);
        OllamaRequestParser.RefuseImages(root, "");
        if (!string.IsNullOrEmpty(OllamaRequestParser.String(root, "suffix")))
            throw ApiException.BadRequest($"\"{g.Model}\" does not support insert (suffix)", "suffix");
        if (!string.IsNullOrEmpty(OllamaRequestParser.String(root, "template")))
            throw ApiException.BadRequest($"template is not supported: the server applies the model's chat format ({service.Host.ChatFormat!.Name}); use raw for a prompt you formatted yourself", "template");
        if (OllamaRequestParser.Present(root, "context", out var context) && (context.ValueKind != JsonValueKind.Array || context.GetArrayLength() > 0))
            throw ApiException.BadRequest("context (deprecated) is not supported: send the conversation to /api/chat", "context");
        string prompt = OllamaRequestParser.String(root, "prompt") ?? "";
        string? system = OllamaRequestParser.String(root, "system");
        bool raw = OllamaRequestParser.Bool(root, "raw") ?? false;
        var reply = new Reply(http, service, g, Chat: false);
        if (prompt.Length == 0)
        {
            await reply.LoadedAsync();
            return;
        }
        if (raw)
        {
            var tokenizer = service.Host.Tokenizer!;
            await reply.RunAsync("text_completion", tokenizer.Encode(prompt, addBos: tokenizer.AddBos, parseSpecial: true), [], o);
            return;
        }
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(system)) messages.Add(new ChatMessage("system", system));
        messages.Add(new ChatMessage("user", prompt));
        await reply.RunAsync("chat", Render(service, messages), service.Host.ChatFormat!.StopStrings, o);
    }

    private static int[] Render(GenerationService service, IReadOnlyList<ChatMessage> messages)
    {
        var format = service.Host.ChatFormat!;
        try
        {
            var segments = format.Render(messages, addGenerationPrompt: true);
            return service.Host.Tokenizer!.Encode(segments, addBos: !format.IncludesBos && service.Host.Tokenizer.AddBos);
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message, "messages");
        }
    }

    /// <summary>Writes one chat or generate answer in Ollama's shapes.</summary>
    private sealed record Reply(HttpContext Http, GenerationService Service, OllamaGeneration G, bool Chat)
    {
        private string Model => G.Model;

        public Task LoadedAsync()
        {
            var now = OllamaJson.Timestamp(DateTimeOffset.UtcNow);
            var ndjson = new NdjsonWriter(Http.Response);
            return Chat
                ? ndjson.WriteSingleAsync(new OllamaChatChunk(Model, now, new OllamaMessage("assistant", ""), true) { DoneReason = "load" }, Http.RequestAborted)
                : ndjson.WriteSingleAsync(new OllamaGenerateChunk(Model, now, "", true) { DoneReason = "load" }, Http.RequestAborted);
        }

        public async Task RunAsync(string operation, int[] prompt, IReadOnlyList<string> formatStops, ServerOptions o)
        {
            var engine = Service.RequireReady();
            // num_ctx narrows the context this request may use (it cannot widen the server's); num_predict -1 and -2
            // mean "until the context is full"; without it the server's default answer length applies, as on /v1.
            int ctx = Math.Min(G.NumCtx ?? engine.ContextLength, engine.ContextLength);
            if (prompt.Length >= ctx)
                throw ApiException.BadRequest($"the prompt has {prompt.Length} tokens; the context holds {ctx} (num_ctx {G.NumCtx?.ToString() ?? "unset"}, server {engine.ContextLength})",
                    Chat ? "messages" : "prompt", "context_length_exceeded");
            int room = ctx - prompt.Length;
            int maxTokens = Math.Min(o.MaxTokensCap, G.NumPredict switch
            {
                > 0 and var n => Math.Min(n, room),
                < 0 => room,
                _ => Math.Min(o.DefaultMaxTokens, room),
            });
            var settings = new GenerationSettings(Model, G.Stream, false, maxTokens, 1, G.Stop, G.Sampling, false, 0, null, G.Grammar);
            using var run = Service.Submit(operation, prompt, settings, formatStops, Http.RequestAborted);
            if (G.Stream) await StreamAsync(run);
            else await RespondAsync(run);
        }

        private async Task RespondAsync(GenerationRun run)
        {
            var result = await Service.CollectAsync(run, 1);
            var ndjson = new NdjsonWriter(Http.Response);
            var final = Final(run, result.Texts[0].ToString(), result.Finish[0], result.Usage!);
            if (final is OllamaChatChunk chat) await ndjson.WriteSingleAsync(chat, Http.RequestAborted);
            else await ndjson.WriteSingleAsync((OllamaGenerateChunk)final, Http.RequestAborted);
        }

        private async Task StreamAsync(GenerationRun run)
        {
            var ndjson = new NdjsonWriter(Http.Response);
            var ct = Http.RequestAborted;
            var finish = FinishReason.Stop;
            try
            {
                await foreach (var e in run.Events.ReadAllAsync(ct))
                {
                    switch (e.Kind)
                    {
                        case GenerationEventKind.Token when e.Text.Length > 0:
                            await WritePieceAsync(ndjson, e.Text, ct);
                            break;
                        case GenerationEventKind.ChoiceFinished:
                            if (e.Text.Length > 0) await WritePieceAsync(ndjson, e.Text, ct);
                            finish = e.Finish;
                            break;
                        case GenerationEventKind.Completed:
                            Service.Record(run, e.Usage, null);
                            if (e.Usage is { } usage) await WriteFinalAsync(ndjson, Final(run, "", finish, usage), ct);
                            return;
                        case GenerationEventKind.Failed:
                            Service.Record(run, null, e.Text);
                            // Mid-stream, Ollama reports an error as a line of its own.
                            await ndjson.WriteLineAsync(new OllamaError($"generation failed: {e.Text}"), ct);
                            return;
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The client went away: disposing the run cancels the sequence in the engine.
            }
        }

        private Task WritePieceAsync(NdjsonWriter ndjson, string text, CancellationToken ct)
        {
            string now = OllamaJson.Timestamp(DateTimeOffset.UtcNow);
            return Chat
                ? ndjson.WriteLineAsync(new OllamaChatChunk(Model, now, new OllamaMessage("assistant", text), false), ct)
                : ndjson.WriteLineAsync(new OllamaGenerateChunk(Model, now, text, false), ct);
        }

        private static Task WriteFinalAsync(NdjsonWriter ndjson, object final, CancellationToken ct) => final switch
        {
            OllamaChatChunk c => ndjson.WriteLineAsync(c, ct),
            OllamaGenerateChunk g => ndjson.WriteLineAsync(g, ct),
            _ => throw new ArgumentException("not an Ollama answer", nameof(final)),
        };

        private object Final(GenerationRun run, string text, FinishReason finish, GenerationUsage u)
        {
            string now = OllamaJson.Timestamp(DateTimeOffset.UtcNow);
            long total = OllamaJson.Nanoseconds(System.Diagnostics.Stopwatch.GetElapsedTime(run.Started));
            string reason = GenerationService.FinishReasonText(finish);
            long promptNs = OllamaJson.Nanoseconds(u.PromptTime), evalNs = OllamaJson.Nanoseconds(u.GenerationTime);
            // The model is loaded once at start-up, so no request spends time loading it: load_duration is 0.
            return Chat
                ? new OllamaChatChunk(Model, now, new OllamaMessage("assistant", text), true)
                {
                    DoneReason = reason, TotalDuration = total, LoadDuration = 0, PromptEvalCount = u.PromptTokens,
                    PromptEvalDuration = promptNs, EvalCount = u.CompletionTokens, EvalDuration = evalNs,
                }
                : new OllamaGenerateChunk(Model, now, text, true)
                {
                    DoneReason = reason, TotalDuration = total, LoadDuration = 0, PromptEvalCount = u.PromptTokens,
                    PromptEvalDuration = promptNs, EvalCount = u.CompletionTokens, EvalDuration = evalNs,
                };
        }
    }
}
