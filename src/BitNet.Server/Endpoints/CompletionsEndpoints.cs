using BitNet.Runtime.Scheduling;
using BitNet.Server.Contracts;
using BitNet.Server.Infrastructure;
using BitNet.Server.Options;
using BitNet.Server.Streaming;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints;

/// <summary>POST /v1/completions (legacy text completion), streaming and not.</summary>
public static class CompletionsEndpoints
{
    public static RouteGroupBuilder MapCompletions(this RouteGroupBuilder v1)
    {
        v1.MapPost("/completions", Handle)
            .WithName("CreateCompletion")
            .WithSummary("Creates a completion for the provided prompt (OpenAI legacy completions).")
            .Accepts<CompletionRequest>("application/json")
            .Produces<CompletionResponse>()
            .Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(401).Produces<OpenAIErrorBody>(404)
            .Produces<OpenAIErrorBody>(429).Produces<OpenAIErrorBody>(503);
        return v1;
    }

    private static async Task Handle(HttpContext http, GenerationService service, IOptions<ServerOptions> options)
    {
        var o = options.Value;
        service.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, o.MaxRequestBodyBytes, http.RequestAborted);
        var data = RequestParser.ParseCompletion(body.RootElement, o);
        service.CheckRequestedModel(data.Settings.Model);
        var tokenizer = service.Host.Tokenizer!;
        int[] prompt = data.PromptTokens ?? tokenizer.Encode(data.PromptText ?? "", addBos: tokenizer.AddBos, parseSpecial: true);
        foreach (int t in prompt)
            if ((uint)t >= (uint)tokenizer.VocabSize) throw ApiException.BadRequest($"prompt token {t} is outside the vocabulary", "prompt");
        if (prompt.Length == 0) throw ApiException.BadRequest("the prompt is empty", "prompt");
        using var run = service.Submit("text_completion", prompt, data.Settings, [], http.RequestAborted);
        if (data.Settings.Stream) await StreamAsync(http, service, run, data.Settings);
        else await RespondAsync(http, service, run, data.Settings);
    }

    private static async Task RespondAsync(HttpContext http, GenerationService service, GenerationRun run, GenerationSettings s)
    {
        var result = await service.CollectAsync(run, s.N);
        var tokenizer = service.Host.Tokenizer!;
        var choices = new CompletionChoice[s.N];
        for (int i = 0; i < s.N; i++)
        {
            var logprobs = s.Logprobs ? Legacy(tokenizer, result.Tokens[i]) : null;
            choices[i] = new CompletionChoice(i, result.Texts[i].ToString(), logprobs, GenerationService.FinishReasonText(result.Finish[i]));
        }
        var usage = result.Usage!;
        await http.Response.WriteAsJsonAsync(new CompletionResponse(run.Id, "text_completion", run.Created, run.Model,
            GenerationService.Fingerprint, choices, GenerationService.ToUsage(usage), GenerationService.ToTimings(usage)), JsonDefaults.Options);
    }

    private static CompletionLogprobs Legacy(BitNet.Runtime.Tokenization.TextTokenizer tokenizer, IReadOnlyList<GenerationEvent> tokens)
    {
        var texts = new List<string>(); var lps = new List<float>(); var tops = new List<Dictionary<string, float>>(); var offsets = new List<int>();
        int offset = 0;
        foreach (var e in tokens)
        {
            string t = tokenizer.TokenText(e.TokenId);
            texts.Add(t);
            lps.Add(e.Logprob);
            var top = new Dictionary<string, float>();
            foreach (var x in e.TopLogprobs ?? []) top.TryAdd(tokenizer.TokenText(x.TokenId), x.Logprob);
            tops.Add(top);
            offsets.Add(offset);
            offset += t.Length;
        }
        return new CompletionLogprobs(texts, lps, tops, offsets);
    }

    private static async Task StreamAsync(HttpContext http, GenerationService service, GenerationRun run, GenerationSettings s)
    {
        var sse = new SseWriter(http.Response, JsonDefaults.Options);
        var tokenizer = service.Host.Tokenizer!;
        var ct = http.RequestAborted;
        CompletionResponse Chunk(CompletionChoice choice) =>
            new(run.Id, "text_completion", run.Created, run.Model, GenerationService.Fingerprint, [choice], null);
        try
        {
            await sse.StartAsync(ct);
            await foreach (var e in StreamEvents.ReadWithKeepAliveAsync(run.Events, sse, ct))
            {
                switch (e.Kind)
                {
                    case GenerationEventKind.Token when e.Text.Length > 0 || s.Logprobs:
                        await sse.WriteAsync(Chunk(new CompletionChoice(e.Choice, e.Text, s.Logprobs ? Legacy(tokenizer, [e]) : null, null)), ct);
                        break;
                    case GenerationEventKind.ChoiceFinished when e.Finish != FinishReason.Cancelled || !ct.IsCancellationRequested:
                        await sse.WriteAsync(Chunk(new CompletionChoice(e.Choice, e.Text, null, GenerationService.FinishReasonText(e.Finish))), ct);
                        break;
                    case GenerationEventKind.Completed:
                        service.Record(run, e.Usage, null);
                        if (s.IncludeUsage && e.Usage is { } u)
                            await sse.WriteAsync(new CompletionResponse(run.Id, "text_completion", run.Created, run.Model,
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
        }
    }
}
