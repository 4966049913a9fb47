using System.Text.Json.Serialization;

namespace BitNet.Server.Contracts;

// Response shapes of the OpenAI API as the official SDKs parse them. Null members are written as null where the
// SDKs expect the key (logprobs, finish_reason in chunks, usage in chunks).

public sealed record ChatCompletionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("system_fingerprint")] string SystemFingerprint,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage")] Usage Usage,
    [property: JsonPropertyName("timings")] Timings Timings);

public sealed record ChatChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ChatMessageDto Message,
    [property: JsonPropertyName("logprobs")] ChatLogprobs? Logprobs,
    [property: JsonPropertyName("finish_reason")] string FinishReason);

/// <summary>content is null (and written as null) when the answer is tool calls.</summary>
public sealed record ChatMessageDto(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string? Content,
    [property: JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCallDto>? ToolCalls = null);

public sealed record ChatCompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("system_fingerprint")] string SystemFingerprint,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonPropertyName("usage")] Usage? Usage,
    [property: JsonPropertyName("timings"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Timings? Timings = null);

public sealed record ChatChunkChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("delta")] ChatDelta Delta,
    [property: JsonPropertyName("logprobs")] ChatLogprobs? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

public sealed record ChatDelta(
    [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role = null,
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content = null,
    [property: JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCallDeltaDto>? ToolCalls = null);

public sealed record ChatLogprobs([property: JsonPropertyName("content")] IReadOnlyList<TokenLogprobDto> Content);

public sealed record TokenLogprobDto(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("logprob")] float Logprob,
    [property: JsonPropertyName("bytes")] int[] Bytes,
    [property: JsonPropertyName("top_logprobs")] IReadOnlyList<TopLogprobDto> TopLogprobs);

public sealed record TopLogprobDto(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("logprob")] float Logprob,
    [property: JsonPropertyName("bytes")] int[] Bytes);

public sealed record CompletionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("system_fingerprint")] string SystemFingerprint,
    [property: JsonPropertyName("choices")] IReadOnlyList<CompletionChoice> Choices,
    [property: JsonPropertyName("usage")] Usage? Usage,
    [property: JsonPropertyName("timings"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Timings? Timings = null);

public sealed record CompletionChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("logprobs")] CompletionLogprobs? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

/// <summary>The legacy completions logprobs shape.</summary>
public sealed record CompletionLogprobs(
    [property: JsonPropertyName("tokens")] IReadOnlyList<string> Tokens,
    [property: JsonPropertyName("token_logprobs")] IReadOnlyList<float> TokenLogprobs,
    [property: JsonPropertyName("top_logprobs")] IReadOnlyList<Dictionary<string, float>> TopLogprobs,
    [property: JsonPropertyName("text_offset")] IReadOnlyList<int> TextOffset);

public sealed record Usage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens,
    [property: JsonPropertyName("prompt_tokens_details")] PromptTokensDetails PromptTokensDetails,
    [property: JsonPropertyName("completion_tokens_details")] CompletionTokensDetails CompletionTokensDetails);

public sealed record PromptTokensDetails([property: JsonPropertyName("cached_tokens")] int CachedTokens);

public sealed record CompletionTokensDetails([property: JsonPropertyName("reasoning_tokens")] int ReasoningTokens);

/// <summary>llama.cpp-style timings for humans and the demo page.</summary>
public sealed record Timings(
    [property: JsonPropertyName("prompt_n")] int PromptN,
    [property: JsonPropertyName("prompt_ms")] double PromptMs,
    [property: JsonPropertyName("prompt_per_second")] double PromptPerSecond,
    [property: JsonPropertyName("predicted_n")] int PredictedN,
    [property: JsonPropertyName("predicted_ms")] double PredictedMs,
    [property: JsonPropertyName("predicted_per_second")] double PredictedPerSecond,
    [property: JsonPropertyName("cache_n")] int CacheN,
    [property: JsonPropertyName("queue_ms")] double QueueMs,
    [property: JsonPropertyName("ttft_ms")] double TimeToFirstTokenMs,
    [property: JsonPropertyName("cpu_s")] double CpuSeconds,
    [property: JsonPropertyName("cpu_s_per_token")] double CpuSecondsPerToken);

public sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelCard> Data);

public sealed record ModelCard(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy,
    [property: JsonPropertyName("meta"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ModelMeta? Meta = null);

public sealed record ModelMeta(
    [property: JsonPropertyName("architecture")] string Architecture,
    [property: JsonPropertyName("n_ctx")] int ContextLength,
    [property: JsonPropertyName("n_ctx_train")] int TrainedContext,
    [property: JsonPropertyName("n_vocab")] int Vocab,
    [property: JsonPropertyName("n_embd")] int Embedding,
    [property: JsonPropertyName("n_layer")] int Layers,
    [property: JsonPropertyName("chat_format")] string ChatFormat,
    [property: JsonPropertyName("parallel")] int Parallel,
    [property: JsonPropertyName("kernels")] string Kernels,
    [property: JsonPropertyName("size")] long FileSize);

public sealed record TokenizeRequest(
    [property: JsonPropertyName("content")] string Content,
    [property: JsonPropertyName("add_special")] bool AddSpecial = false,
    [property: JsonPropertyName("parse_special")] bool ParseSpecial = false);

public sealed record TokenizeResponse([property: JsonPropertyName("tokens")] int[] Tokens);

public sealed record DetokenizeRequest([property: JsonPropertyName("tokens")] int[] Tokens);

public sealed record DetokenizeResponse([property: JsonPropertyName("content")] string Content);

public sealed record HealthResponse(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("model"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Model = null,
    [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] OpenAIErrorDetail? Error = null);
