using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitNet.Server.Contracts;

// Request shapes for the OpenAPI document. Bodies are read by Endpoints/RequestParser (so every problem is a precise
// 400); these types describe what it accepts.

public sealed record ChatCompletionRequest(
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("messages")] IReadOnlyList<ChatRequestMessage> Messages,
    [property: JsonPropertyName("temperature")] float? Temperature = null,
    [property: JsonPropertyName("top_p")] float? TopP = null,
    [property: JsonPropertyName("max_tokens")] int? MaxTokens = null,
    [property: JsonPropertyName("max_completion_tokens")] int? MaxCompletionTokens = null,
    [property: JsonPropertyName("stop")] JsonElement? Stop = null,
    [property: JsonPropertyName("seed")] long? Seed = null,
    [property: JsonPropertyName("n")] int? N = null,
    [property: JsonPropertyName("presence_penalty")] float? PresencePenalty = null,
    [property: JsonPropertyName("frequency_penalty")] float? FrequencyPenalty = null,
    [property: JsonPropertyName("logit_bias")] Dictionary<string, float>? LogitBias = null,
    [property: JsonPropertyName("logprobs")] bool? Logprobs = null,
    [property: JsonPropertyName("top_logprobs")] int? TopLogprobs = null,
    [property: JsonPropertyName("response_format")] ResponseFormat? ResponseFormat = null,
    [property: JsonPropertyName("stream")] bool? Stream = null,
    [property: JsonPropertyName("stream_options")] StreamOptions? StreamOptions = null,
    [property: JsonPropertyName("user")] string? User = null,
    [property: JsonPropertyName("top_k")] int? TopK = null,
    [property: JsonPropertyName("min_p")] float? MinP = null,
    [property: JsonPropertyName("repetition_penalty")] float? RepetitionPenalty = null,
    [property: JsonPropertyName("timeout")] float? Timeout = null,
    [property: JsonPropertyName("tools")] IReadOnlyList<ToolDefinitionDto>? Tools = null,
    [property: JsonPropertyName("tool_choice")] JsonElement? ToolChoice = null,
    [property: JsonPropertyName("parallel_tool_calls")] bool? ParallelToolCalls = null);

/// <summary>content: a string or an array of {"type":"text","text":...} parts (may be null on an assistant turn with tool_calls).</summary>
public sealed record ChatRequestMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] JsonElement Content,
    [property: JsonPropertyName("tool_calls")] IReadOnlyList<ToolCallDto>? ToolCalls = null,
    [property: JsonPropertyName("tool_call_id")] string? ToolCallId = null);

public sealed record ResponseFormat([property: JsonPropertyName("type")] string Type);

public sealed record StreamOptions([property: JsonPropertyName("include_usage")] bool IncludeUsage);

public sealed record CompletionRequest(
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("prompt")] JsonElement Prompt,
    [property: JsonPropertyName("max_tokens")] int? MaxTokens = null,
    [property: JsonPropertyName("temperature")] float? Temperature = null,
    [property: JsonPropertyName("top_p")] float? TopP = null,
    [property: JsonPropertyName("stop")] JsonElement? Stop = null,
    [property: JsonPropertyName("seed")] long? Seed = null,
    [property: JsonPropertyName("n")] int? N = null,
    [property: JsonPropertyName("logprobs")] int? Logprobs = null,
    [property: JsonPropertyName("stream")] bool? Stream = null,
    [property: JsonPropertyName("stream_options")] StreamOptions? StreamOptions = null,
    [property: JsonPropertyName("top_k")] int? TopK = null,
    [property: JsonPropertyName("min_p")] float? MinP = null);
