namespace BitNet.Server.Infrastructure;

/// <summary>
/// The API reads JSON whatever Content-Type a client sends (curl's -d defaults to form encoding; llama-server accepts
/// it too), so requests are not refused with a bare 415 before they reach the OpenAI-shaped validation.
/// </summary>
public sealed class JsonContentTypeMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (HttpMethods.IsPost(request.Method)
            && (request.ContentType is null || !request.ContentType.Contains("json", StringComparison.OrdinalIgnoreCase)))
            request.ContentType = "application/json";
        return next(context);
    }
}
