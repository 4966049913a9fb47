namespace BitNet.Server.Endpoints.Ollama;

/// <summary>
/// Ollama's API under /api on the same engine as /v1 (Open WebUI, the ollama clients, Home Assistant, Continue). Errors
/// are Ollama's <c>{"error": "..."}</c> with the HTTP status (see <see cref="IsOllamaPath"/>); the API keys and CORS
/// origins of /v1 apply.
/// </summary>
public static class OllamaEndpoints
{
    public static RouteGroupBuilder MapOllama(this RouteGroupBuilder api)
    {
        api.WithTags("Ollama");
        api.MapOllamaModels();
        api.MapOllamaGeneration();
        api.MapOllamaEmbeddings();
        return api;
    }

    /// <summary>Whether a path belongs to the Ollama surface, whose errors take Ollama's shape.</summary>
    public static bool IsOllamaPath(PathString path) => path.StartsWithSegments("/api");
}
