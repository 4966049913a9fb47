using BitNet.Server.Contracts;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Endpoints;

/// <summary>POST /tokenize and /detokenize (llama-server's utility endpoints).</summary>
public static class TokenizeEndpoints
{
    public static IEndpointRouteBuilder MapTokenize(this IEndpointRouteBuilder app)
    {
        app.MapPost("/tokenize", async (HttpContext http, GenerationService service, IOptions<ServerOptions> options) =>
        {
            service.RequireReady();
            using var body = await BodyReader.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, http.RequestAborted);
            var root = body.RootElement;
            if (root.ValueKind != System.Text.Json.JsonValueKind.Object || !root.TryGetProperty("content", out var c)
                || c.ValueKind != System.Text.Json.JsonValueKind.String)
                throw ApiException.BadRequest("'content' is required and must be a string", "content");
            bool addSpecial = Flag(root, "add_special"), parseSpecial = Flag(root, "parse_special");
            var tokenizer = service.Host.Tokenizer!;
            return TypedResults.Json(new TokenizeResponse(tokenizer.Encode(c.GetString()!, addSpecial && tokenizer.AddBos, parseSpecial)),
                Infrastructure.JsonDefaults.Options);
        }).WithName("Tokenize").Accepts<TokenizeRequest>("application/json").Produces<TokenizeResponse>();

        app.MapPost("/detokenize", async (HttpContext http, GenerationService service, IOptions<ServerOptions> options) =>
        {
            service.RequireReady();
            using var body = await BodyReader.ReadJsonAsync(http.Request, options.Value.MaxRequestBodyBytes, http.RequestAborted);
            var root = body.RootElement;
            if (root.ValueKind != System.Text.Json.JsonValueKind.Object || !root.TryGetProperty("tokens", out var t)
                || t.ValueKind != System.Text.Json.JsonValueKind.Array)
                throw ApiException.BadRequest("'tokens' is required and must be an array of token ids", "tokens");
            var tokenizer = service.Host.Tokenizer!;
            var ids = new int[t.GetArrayLength()];
            int i = 0;
            foreach (var e in t.EnumerateArray())
            {
                if (e.ValueKind != System.Text.Json.JsonValueKind.Number || !e.TryGetInt32(out int id) || (uint)id >= (uint)tokenizer.VocabSize)
                    throw ApiException.BadRequest($"'tokens[{i}]' is not a token id of this model (0..{tokenizer.VocabSize - 1})", "tokens");
                ids[i++] = id;
            }
            return TypedResults.Json(new DetokenizeResponse(tokenizer.Decode(ids)), Infrastructure.JsonDefaults.Options);
        }).WithName("Detokenize").Accepts<DetokenizeRequest>("application/json").Produces<DetokenizeResponse>();
        return app;
    }

    private static bool Flag(System.Text.Json.JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && (v.ValueKind == System.Text.Json.JsonValueKind.True ||
            (v.ValueKind != System.Text.Json.JsonValueKind.False && v.ValueKind != System.Text.Json.JsonValueKind.Null
                ? throw ApiException.BadRequest($"'{name}' must be a boolean", name) : false));
}
