using System.Security.Cryptography;
using System.Text;
using BitNet.Server.Contracts;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Infrastructure;

/// <summary>
/// Bearer API keys for LAN use. Keys come from configuration and/or a key file; with none configured every request
/// passes (any bearer, or none). /health, /metrics, the web page and Swagger are open. Keys are compared in constant
/// time and never logged.
/// </summary>
public sealed class ApiKeyMiddleware
{
    private readonly RequestDelegate _next;
    private readonly byte[][] _keys;

    public ApiKeyMiddleware(RequestDelegate next, IOptions<ServerOptions> options)
    {
        _next = next;
        _keys = LoadKeys(options.Value).Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();
    }

    public bool Enabled => _keys.Length > 0;

    public static List<string> LoadKeys(ServerOptions o)
    {
        var keys = o.ApiKeys.Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => k.Trim()).ToList();
        if (!string.IsNullOrWhiteSpace(o.ApiKeyFile))
        {
            foreach (var line in File.ReadAllLines(o.ApiKeyFile))
            {
                var k = line.Trim();
                if (k.Length > 0 && !k.StartsWith('#')) keys.Add(k);
            }
        }
        return keys;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        if (!Enabled || !Protected(context.Request.Path) || HttpMethods.IsOptions(context.Request.Method) || Authorized(context.Request))
        {
            await _next(context);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        if (Endpoints.Ollama.OllamaEndpoints.IsOllamaPath(context.Request.Path))
        {
            await Endpoints.Ollama.OllamaErrors.WriteBodyAsync(context, "unauthorized: incorrect or missing API key; send 'Authorization: Bearer <key>'");
            return;
        }
        await context.Response.WriteAsJsonAsync(new OpenAIErrorBody(new OpenAIErrorDetail(
            "Incorrect or missing API key. Send 'Authorization: Bearer <key>'.", "authentication_error", null, "invalid_api_key")),
            JsonDefaults.Options);
    }

    private static bool Protected(PathString path) =>
        path.StartsWithSegments("/v1") || path.StartsWithSegments("/tokenize") || path.StartsWithSegments("/detokenize")
        || Endpoints.Ollama.OllamaEndpoints.IsOllamaPath(path);

    private bool Authorized(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        string? presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : null;
        presented ??= request.Headers["x-api-key"].ToString() is { Length: > 0 } x ? x : null;
        if (presented is null) return false;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        bool ok = false;
        foreach (var k in _keys) ok |= CryptographicOperations.FixedTimeEquals(hash, k);
        return ok;
    }
}
