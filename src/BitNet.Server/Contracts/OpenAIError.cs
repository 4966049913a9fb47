using System.Text.Json.Serialization;

namespace BitNet.Server.Contracts;

/// <summary>OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c> (code is a string).</summary>
public sealed record OpenAIErrorBody([property: JsonPropertyName("error")] OpenAIErrorDetail Error);

public sealed record OpenAIErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);

/// <summary>A request problem with its HTTP status; turned into an OpenAI-shaped error response at the boundary.</summary>
public sealed class ApiException(int status, string type, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    /// <summary>Seconds for a Retry-After header (429), if any.</summary>
    public int? RetryAfterSeconds { get; init; }

    public OpenAIErrorBody ToBody() => new(new OpenAIErrorDetail(Message, Type, Param, Code));

    public static ApiException BadRequest(string message, string? param = null, string code = "invalid_request_error") =>
        new(400, "invalid_request_error", message, param, code);

    /// <summary>OpenAI's wording (clients match its first sentence); <paramref name="input"/> is "messages" or "prompt".</summary>
    public static ApiException ContextLengthExceeded(int context, int prompt, int completion, string input) => new(400, "invalid_request_error",
        $"This model's maximum context length is {context} tokens. However, you requested {prompt + completion} tokens " +
        $"({prompt} in the {input}, {completion} in the completion). Please reduce the length of the {input} or completion.",
        input, "context_length_exceeded");

    public static ApiException ModelNotFound(string model) => new(404, "not_found_error",
        $"The model '{model}' does not exist or you do not have access to it.", "model", "model_not_found");

    public static ApiException Overloaded(int retryAfter) => new(429, "rate_limit_error",
        "The server is busy: too many requests are waiting. Retry after a short delay.", null, "rate_limit_exceeded")
    { RetryAfterSeconds = retryAfter };

    public static ApiException Unavailable(string message) => new(503, "unavailable", message, null, "model_not_ready");
}
