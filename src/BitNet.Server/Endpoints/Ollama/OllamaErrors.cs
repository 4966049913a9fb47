using BitNet.Server.Contracts;
using Microsoft.AspNetCore.Http.Features;

namespace BitNet.Server.Endpoints.Ollama;

/// <summary>
/// Errors on /api in Ollama's shape, <c>{"error": "message"}</c> with the status (its clients read the string and show
/// it), instead of OpenAI's nested object. Mid-stream, the error is one more NDJSON line, as Ollama sends it.
/// </summary>
public static class OllamaErrors
{
    public static async Task WriteAsync(HttpContext context, ApiException e)
    {
        if (context.Response.HasStarted)
        {
            if (context.Response.ContentType?.StartsWith("application/x-ndjson", StringComparison.Ordinal) == true)
            {
                try
                {
                    await new NdjsonWriter(context.Response).WriteLineAsync(new OllamaError(e.Message), context.RequestAborted);
                }
                catch (Exception) when (context.RequestAborted.IsCancellationRequested)
                {
                }
            }
            return;
        }
        context.Response.Clear();
        context.Response.StatusCode = e.Status;
        if (e.RetryAfterSeconds is { } s) context.Response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await WriteBodyAsync(context, e.Message);
    }

    public static Task WriteBodyAsync(HttpContext context, string message) =>
        context.Response.WriteAsJsonAsync(new OllamaError(message), OllamaJson.Options);
}
