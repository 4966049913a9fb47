using System.Text.Json;

namespace BitNet.Server.Endpoints.Ollama;

/// <summary>
/// Ollama's streaming format: one JSON object per line (application/x-ndjson), each flushed as it is written so a
/// client sees every token when it is generated.
/// </summary>
public sealed class NdjsonWriter(HttpResponse response)
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();
    private bool _started;

    public async Task WriteLineAsync<T>(T value, CancellationToken ct)
    {
        if (!_started && !response.HasStarted)
        {
            _started = true;
            response.ContentType = "application/x-ndjson";
            response.Headers.CacheControl = "no-cache";
        }
        await JsonSerializer.SerializeAsync(response.Body, value, OllamaJson.Options, ct);
        await response.Body.WriteAsync(NewLine, ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>A non-streamed answer: one JSON object as application/json.</summary>
    public async Task WriteSingleAsync<T>(T value, CancellationToken ct)
    {
        response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(response.Body, value, OllamaJson.Options, ct);
    }
}
