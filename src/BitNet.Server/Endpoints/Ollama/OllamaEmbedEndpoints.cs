using System.Text.Json;
using BitNet.Server.Contracts;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints.Ollama;

/// <summary>
/// POST /api/embed (`input`: a string or an array of strings; `truncate`, default true, keeps the first context-length
/// tokens of a longer input) and the legacy POST /api/embeddings (`prompt` -> `embedding`). The vectors are the same as
/// /v1/embeddings: the L2-normalized mean of the final hidden states.
/// </summary>
public static class OllamaEmbedEndpoints
{
    public static RouteGroupBuilder MapOllamaEmbeddings(this RouteGroupBuilder api)
    {
        api.MapPost("/embed", Embed).WithName("OllamaEmbed");
        api.MapPost("/embeddings", Legacy).WithName("OllamaEmbeddingsLegacy");
        return api;
    }

    private static async Task Embed(HttpContext http, GenerationService service, EmbeddingService embeddings, IOptions<ServerOptions> options)
    {
        var engine = service.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, http.RequestAborted);
        var root = OllamaRequestParser.RequireObject(body.RootElement);
        string? model = OllamaRequestParser.String(root, "model");
        OllamaModels.Require(service.Host, model);
        OllamaRequestParser.KeepAlive(root);
        bool truncate = OllamaRequestParser.Bool(root, "truncate") ?? true;
        if (OllamaRequestParser.Present(root, "dimensions", out var dim))
        {
            int width = engine.Model.Config.Embedding;
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int d) || d != width)
                throw ApiException.BadRequest($"dimensions = {dim.GetRawText()} is not supported: this model's embeddings have {width} dimensions", "dimensions");
        }
        if (!OllamaRequestParser.Present(root, "input", out var input))
            throw ApiException.BadRequest("input is required: a string or an array of strings", "input");
        var texts = input.ValueKind switch
        {
            JsonValueKind.String => new List<string> { input.GetString()! },
            JsonValueKind.Array when input.GetArrayLength() > EmbeddingService.MaxInputs =>
                throw ApiException.BadRequest($"input has {input.GetArrayLength()} items; at most {EmbeddingService.MaxInputs} are allowed", "input"),
            JsonValueKind.Array when input.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                input.EnumerateArray().Select(e => e.GetString()!).ToList(),
            _ => throw ApiException.BadRequest("input must be a string or an array of strings", "input"),
        };
        if (texts.Count == 0)
        {
            await new NdjsonWriter(http.Response).WriteSingleAsync(new OllamaEmbedResponse(model!, [], 0, 0, 0), http.RequestAborted);
            return;
        }
        var batch = await embeddings.EmbedAsync(texts.Select(embeddings.Tokenize).ToList(), "input", truncate, http.RequestAborted);
        await new NdjsonWriter(http.Response).WriteSingleAsync(
            new OllamaEmbedResponse(model!, batch.Vectors, OllamaJson.Nanoseconds(batch.Duration), 0, batch.PromptTokens), http.RequestAborted);
    }

    private static async Task Legacy(HttpContext http, GenerationService service, EmbeddingService embeddings, IOptions<ServerOptions> options)
    {
        service.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, http.RequestAborted);
        var root = OllamaRequestParser.RequireObject(body.RootElement);
        OllamaModels.Require(service.Host, OllamaRequestParser.String(root, "model"));
        OllamaRequestParser.KeepAlive(root);
        string prompt = OllamaRequestParser.String(root, "prompt") ?? "";
        // Ollama answers an empty prompt with an empty embedding.
        if (prompt.Length == 0)
        {
            await new NdjsonWriter(http.Response).WriteSingleAsync(new OllamaLegacyEmbedding([]), http.RequestAborted);
            return;
        }
        var batch = await embeddings.EmbedAsync([embeddings.Tokenize(prompt)], "prompt", truncate: true, http.RequestAborted);
        await new NdjsonWriter(http.Response).WriteSingleAsync(new OllamaLegacyEmbedding(batch.Vectors[0]), http.RequestAborted);
    }
}
