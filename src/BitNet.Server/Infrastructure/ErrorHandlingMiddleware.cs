using System.Text.Json;
using BitNet.Server.Contracts;
using Microsoft.AspNetCore.Http.Features;

namespace BitNet.Server.Infrastructure;

/// <summary>
/// Turns every failure into an OpenAI-shaped error with the right status: ApiException as given, bad bodies as 400,
/// anything unexpected as 500 without internals (the details go to the log, never to the client).
/// </summary>
public sealed class ErrorHandlingMiddleware(RequestDelegate next, ILogger<ErrorHandlingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (ApiException e)
        {
            await WriteAsync(context, e);
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(context, new ApiException(e.StatusCode == 413 ? 413 : 400, "invalid_request_error", e.Message, null,
                e.StatusCode == 413 ? "request_too_large" : "invalid_request_error"));
        }
        catch (JsonException e)
        {
            await WriteAsync(context, ApiException.BadRequest($"invalid JSON: {e.Message}"));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is listening for an answer.
        }
        catch (Exception e)
        {
            logger.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteAsync(context, new ApiException(500, "server_error", "The server had an error while processing your request.", null, "internal_error"));
        }
    }

    private static async Task WriteAsync(HttpContext context, ApiException e)
    {
        if (Endpoints.Ollama.OllamaEndpoints.IsOllamaPath(context.Request.Path))
        {
            await Endpoints.Ollama.OllamaErrors.WriteAsync(context, e);
            return;
        }
        if (context.Response.HasStarted)
        {
            // Mid-stream: the SSE contract sends the error as a data event, then ends the stream.
            if (context.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) == true)
            {
                try
                {
                    await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(e.ToBody(), JsonDefaults.Options) + "\n\n");
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
        await context.Response.WriteAsJsonAsync(e.ToBody(), JsonDefaults.Options);
    }
}
