using System.Text.Json;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints.Ollama;

/// <summary>GET /api/tags, /api/version, /api/ps; POST /api/show, /api/pull: the one served model in Ollama's shapes.</summary>
public static class OllamaModelEndpoints
{
    public static RouteGroupBuilder MapOllamaModels(this RouteGroupBuilder api)
    {
        api.MapGet("/version", () => TypedResults.Json(new OllamaVersion(OllamaModels.ApiVersion), OllamaJson.Options))
            .WithName("OllamaVersion");

        api.MapGet("/tags", (GenerationService service) =>
        {
            service.RequireReady();
            var host = service.Host;
            var tag = new OllamaTag(OllamaModels.Name(host), OllamaModels.Name(host), OllamaJson.Timestamp(OllamaModels.ModifiedAt(host)),
                host.Engine!.Model.File.Length, OllamaModels.Digest(host), OllamaModels.Details(host));
            return TypedResults.Json(new OllamaTagList([tag]), OllamaJson.Options);
        }).WithName("OllamaListModels");

        api.MapGet("/ps", (GenerationService service, IOptions<ServerOptions> options) =>
        {
            service.RequireReady();
            var host = service.Host;
            var engine = host.Engine!;
            // Resident size: the mapped weights plus every sequence's KV cache. The model is never unloaded, so it
            // "expires" at the end of time, as Ollama shows a model loaded with keep_alive -1.
            long size = engine.Model.File.Length + engine.KvBytesPerSlot * options.Value.Parallel;
            var running = new OllamaRunningModel(OllamaModels.Name(host), OllamaModels.Name(host), size, OllamaModels.Digest(host),
                OllamaModels.Details(host), OllamaJson.Timestamp(DateTimeOffset.MaxValue.AddDays(-1)), 0, engine.ContextLength);
            return TypedResults.Json(new OllamaRunningList([running]), OllamaJson.Options);
        }).WithName("OllamaListRunning");

        api.MapPost("/show", async (HttpContext http, GenerationService service, IOptions<ServerOptions> options) =>
        {
            service.RequireReady();
            using var body = await BodyReader.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, http.RequestAborted);
            var root = OllamaRequestParser.RequireObject(body.RootElement);
            // Older clients send "name", newer ones "model".
            string? name = OllamaRequestParser.String(root, "model") ?? OllamaRequestParser.String(root, "name");
            OllamaModels.Require(service.Host, name);
            return TypedResults.Json(Show(service, options.Value), OllamaJson.Options);
        }).WithName("OllamaShowModel");

        api.MapPost("/pull", Pull).WithName("OllamaPullModel");
        return api;
    }

    private static OllamaShowResponse Show(GenerationService service, ServerOptions o)
    {
        var host = service.Host;
        var engine = host.Engine!;
        var c = engine.Model.Config;
        var format = host.ChatFormat!;
        var d = o.Sampling;
        string arch = c.Architecture;
        var info = new Dictionary<string, JsonElement>
        {
            ["general.architecture"] = JsonSerializer.SerializeToElement(arch, OllamaJsonContext.Default.String),
            ["general.parameter_count"] = JsonSerializer.SerializeToElement(engine.Model.File.Tensors.Sum(t => t.ElementCount), OllamaJsonContext.Default.Int64),
            [$"{arch}.context_length"] = JsonSerializer.SerializeToElement(engine.ContextLength, OllamaJsonContext.Default.Int32),
            [$"{arch}.embedding_length"] = JsonSerializer.SerializeToElement(c.Embedding, OllamaJsonContext.Default.Int32),
            [$"{arch}.block_count"] = JsonSerializer.SerializeToElement(c.Layers, OllamaJsonContext.Default.Int32),
            [$"{arch}.attention.head_count"] = JsonSerializer.SerializeToElement(c.Heads, OllamaJsonContext.Default.Int32),
            [$"{arch}.attention.head_count_kv"] = JsonSerializer.SerializeToElement(c.KvHeads, OllamaJsonContext.Default.Int32),
            [$"{arch}.feed_forward_length"] = JsonSerializer.SerializeToElement(c.FeedForward, OllamaJsonContext.Default.Int32),
            [$"{arch}.vocab_size"] = JsonSerializer.SerializeToElement(c.Vocab, OllamaJsonContext.Default.Int32),
        };
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        // The server's sampling defaults in Modelfile PARAMETER syntax: what a request without options gets.
        string parameters = string.Join('\n',
            $"temperature {d.Temperature.ToString(inv)}", $"top_p {d.TopP.ToString(inv)}", $"top_k {d.TopK.ToString(inv)}",
            $"min_p {d.MinP.ToString(inv)}", $"repeat_penalty {d.RepetitionPenalty.ToString(inv)}", $"num_ctx {engine.ContextLength}",
            $"num_predict {o.DefaultMaxTokens}");
        string modelfile = $"# served by BitNet.Server\nFROM {host.ModelPath}\n" + string.Join('\n', parameters.Split('\n').Select(p => "PARAMETER " + p)) + "\n";
        // No Go template exists here: the chat format is built in; its name says which one (see GET /v1/models).
        string template = $"{{{{/* BitNet.Server chat format: {format.Name} */}}}}";
        return new OllamaShowResponse("", modelfile, parameters, template, OllamaModels.Details(host), info,
            ["completion", "embedding"], OllamaJson.Timestamp(OllamaModels.ModifiedAt(host)));
    }

    /// <summary>
    /// POST /api/pull: the served model is already here, so a pull of its name reports it present (the manifest, its one
    /// blob complete, success); any other name is a 404, since this server serves one model chosen at start-up.
    /// </summary>
    private static async Task Pull(HttpContext http, GenerationService service, IOptions<ServerOptions> options)
    {
        service.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, http.RequestAborted);
        var root = OllamaRequestParser.RequireObject(body.RootElement);
        string? name = OllamaRequestParser.String(root, "model") ?? OllamaRequestParser.String(root, "name");
        var host = service.Host;
        if (string.IsNullOrWhiteSpace(name)) throw Contracts.ApiException.BadRequest("model is required", "model");
        if (!OllamaModels.Matches(host, name))
            throw new Contracts.ApiException(404, "not_found_error",
                $"pull model manifest: model \"{name}\" is not available; this server serves \"{OllamaModels.Name(host)}\" only", "model", "model_not_found");
        bool stream = OllamaRequestParser.Bool(root, "stream") ?? true;
        var ndjson = new NdjsonWriter(http.Response);
        if (!stream)
        {
            await ndjson.WriteSingleAsync(new OllamaPullStatus("success"), http.RequestAborted);
            return;
        }
        string digest = "sha256:" + OllamaModels.Digest(host);
        long size = host.Engine!.Model.File.Length;
        var ct = http.RequestAborted;
        await ndjson.WriteLineAsync(new OllamaPullStatus("pulling manifest"), ct);
        await ndjson.WriteLineAsync(new OllamaPullStatus($"pulling {digest[7..19]}", digest, size, size), ct);
        await ndjson.WriteLineAsync(new OllamaPullStatus("success"), ct);
    }
}
