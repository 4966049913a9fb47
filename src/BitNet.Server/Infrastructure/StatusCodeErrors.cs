using BitNet.Server.Contracts;
using Microsoft.AspNetCore.Diagnostics;

namespace BitNet.Server.Infrastructure;

/// <summary>
/// Responses the framework ends without a body (no route: 404; a route without this method: 405) get an OpenAI-shaped
/// JSON error, so the SDKs report what happened instead of "404 status code (no body)".
/// </summary>
public static class StatusCodeErrors
{
    public static Task WriteAsync(StatusCodeContext status)
    {
        var http = status.HttpContext;
        var request = http.Request;
        string target = $"{request.Method} {request.Path}";
        var error = http.Response.StatusCode switch
        {
            404 => new ApiException(404, "invalid_request_error",
                $"Unknown route: {target}. This server offers POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings, " +
                "GET /v1/models, Ollama's /api (chat, generate, embed, tags, show, ps, version, pull), POST /tokenize, " +
                "POST /detokenize, GET /health and GET /metrics.", null, "not_found"),
            405 => new ApiException(405, "invalid_request_error",
                $"Method not allowed: {target}; use {Allowed(http)}.", null, "method_not_allowed"),
            var code => new ApiException(code, code >= 500 ? "server_error" : "invalid_request_error", $"HTTP {code} for {target}", null, null),
        };
        if (Endpoints.Ollama.OllamaEndpoints.IsOllamaPath(request.Path))
            return Endpoints.Ollama.OllamaErrors.WriteBodyAsync(http, http.Response.StatusCode == 404 ? $"404 page not found: {target}" : error.Message);
        return http.Response.WriteAsJsonAsync(error.ToBody(), JsonDefaults.Options);
    }

    private static string Allowed(HttpContext http)
    {
        string allow = http.Response.Headers.Allow.ToString();
        return allow.Length > 0 ? allow : "another method";
    }
}
