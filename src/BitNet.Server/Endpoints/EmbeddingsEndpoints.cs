using System.Runtime.InteropServices;
using System.Text.Json;
using BitNet.Server.Contracts;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints;

/// <summary>
/// POST /v1/embeddings (OpenAI compatible): `input` is a string, an array of strings, an array of token ids or an array
/// of such arrays; `encoding_format` float or base64 (little-endian float32); `dimensions` only as the model's own width.
/// </summary>
public static class EmbeddingsEndpoints
{
    public static RouteGroupBuilder MapEmbeddings(this RouteGroupBuilder v1)
    {
        v1.MapPost("/embeddings", Handle)
            .WithName("CreateEmbedding")
            .WithSummary("Creates embedding vectors: the L2-normalized mean of the final hidden states (OpenAI compatible).")
            .Produces(200, contentType: "application/json")
            .Produces<OpenAIErrorBody>(400).Produces<OpenAIErrorBody>(401).Produces<OpenAIErrorBody>(429).Produces<OpenAIErrorBody>(503);
        return v1;
    }

    private static async Task Handle(HttpContext http, GenerationService generation, EmbeddingService embeddings, IOptions<ServerOptions> options)
    {
        var engine = generation.RequireReady();
        using var body = await BodyReader.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, http.RequestAborted);
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("the request body must be a JSON object");
        string? model = root.TryGetProperty("model", out var m) && m.ValueKind != JsonValueKind.Null
            ? (m.ValueKind == JsonValueKind.String ? m.GetString() : throw ApiException.BadRequest("'model' must be a string", "model"))
            : null;
        generation.CheckRequestedModel(model);

        bool base64 = false;
        if (root.TryGetProperty("encoding_format", out var ef) && ef.ValueKind != JsonValueKind.Null)
        {
            base64 = (ef.ValueKind == JsonValueKind.String ? ef.GetString() : null) switch
            {
                "float" => false,
                "base64" => true,
                _ => throw ApiException.BadRequest("'encoding_format' must be \"float\" or \"base64\"", "encoding_format"),
            };
        }
        int width = engine.Model.Config.Embedding;
        if (root.TryGetProperty("dimensions", out var dim) && dim.ValueKind != JsonValueKind.Null)
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int d) || d < 1)
                throw ApiException.BadRequest("'dimensions' must be a positive integer", "dimensions");
            // Mean-pooled hidden states are not trained to be truncated (no Matryoshka training): only the full width.
            if (d != width)
                throw ApiException.BadRequest($"'dimensions' = {d} is not supported: this model's embeddings have {width} dimensions", "dimensions");
        }

        var inputs = ReadInput(root, embeddings);
        var batch = await embeddings.EmbedAsync(inputs, "input", truncate: false, http.RequestAborted);

        http.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(http.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteString("object", "list");
        writer.WriteStartArray("data");
        for (int i = 0; i < batch.Vectors.Length; i++)
        {
            writer.WriteStartObject();
            writer.WriteString("object", "embedding");
            writer.WriteNumber("index", i);
            if (base64)
            {
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("base64 embeddings are written on little-endian hosts only");
                writer.WriteBase64String("embedding", MemoryMarshal.AsBytes(batch.Vectors[i].AsSpan()));
            }
            else
            {
                writer.WriteStartArray("embedding");
                foreach (float v in batch.Vectors[i]) writer.WriteNumberValue(v);
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
            if (writer.BytesPending > 64 * 1024) await writer.FlushAsync(http.RequestAborted);
        }
        writer.WriteEndArray();
        writer.WriteString("model", generation.Host.ModelId);
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", batch.PromptTokens);
        writer.WriteNumber("total_tokens", batch.PromptTokens);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(http.RequestAborted);
    }

    /// <summary>The four shapes of `input`, each item as tokens.</summary>
    private static List<int[]> ReadInput(JsonElement root, EmbeddingService embeddings)
    {
        if (!root.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("'input' is required: a string, an array of strings, an array of token ids or an array of arrays of token ids", "input");
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                return [Text(input.GetString()!, "input", embeddings)];
            case JsonValueKind.Array when input.GetArrayLength() == 0:
                throw ApiException.BadRequest("'input' must not be an empty array", "input");
            case JsonValueKind.Array when input.GetArrayLength() > EmbeddingService.MaxInputs:
                throw ApiException.BadRequest($"'input' has {input.GetArrayLength()} items; at most {EmbeddingService.MaxInputs} are allowed", "input");
            case JsonValueKind.Array when input[0].ValueKind == JsonValueKind.Number:
                return [TokenIds(input, "input")];
            case JsonValueKind.Array:
                var list = new List<int[]>(input.GetArrayLength());
                int i = 0;
                foreach (var item in input.EnumerateArray())
                {
                    list.Add(item.ValueKind switch
                    {
                        JsonValueKind.String => Text(item.GetString()!, $"input[{i}]", embeddings),
                        JsonValueKind.Array => TokenIds(item, $"input[{i}]"),
                        _ => throw ApiException.BadRequest($"'input[{i}]' must be a string or an array of token ids", "input"),
                    });
                    i++;
                }
                return list;
            default:
                throw ApiException.BadRequest("'input' must be a string, an array of strings, an array of token ids or an array of arrays of token ids", "input");
        }
    }

    /// <summary>An empty text would embed only the BOS token: OpenAI refuses it, and so does this server.</summary>
    private static int[] Text(string text, string where, EmbeddingService embeddings) =>
        text.Length > 0 ? embeddings.Tokenize(text) : throw ApiException.BadRequest($"'{where}' must not be an empty string", "input");

    private static int[] TokenIds(JsonElement array, string where)
    {
        var ids = new int[array.GetArrayLength()];
        int i = 0;
        foreach (var e in array.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id) || id < 0)
                throw ApiException.BadRequest($"'{where}[{i}]' must be a non-negative integer token id", "input");
            ids[i++] = id;
        }
        return ids;
    }
}
