using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitNet.Server.Endpoints.Ollama;

// Ollama's wire shapes (docs/api.md of ollama/ollama): snake_case keys, durations in nanoseconds, timestamps RFC 3339.
// Optional keys are left out when null, as Ollama's Go structs do with omitempty.

public sealed record OllamaModelDetails(
    [property: JsonPropertyName("parent_model")] string ParentModel,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("family")] string Family,
    [property: JsonPropertyName("families")] string[] Families,
    [property: JsonPropertyName("parameter_size")] string ParameterSize,
    [property: JsonPropertyName("quantization_level")] string QuantizationLevel);

public sealed record OllamaTag(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("modified_at")] string ModifiedAt,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("details")] OllamaModelDetails Details);

public sealed record OllamaTagList([property: JsonPropertyName("models")] OllamaTag[] Models);

public sealed record OllamaRunningModel(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("details")] OllamaModelDetails Details,
    [property: JsonPropertyName("expires_at")] string ExpiresAt,
    [property: JsonPropertyName("size_vram")] long SizeVram,
    [property: JsonPropertyName("context_length")] int ContextLength);

public sealed record OllamaRunningList([property: JsonPropertyName("models")] OllamaRunningModel[] Models);

public sealed record OllamaVersion([property: JsonPropertyName("version")] string Version);

public sealed record OllamaShowResponse(
    [property: JsonPropertyName("license")] string License,
    [property: JsonPropertyName("modelfile")] string Modelfile,
    [property: JsonPropertyName("parameters")] string Parameters,
    [property: JsonPropertyName("template")] string Template,
    [property: JsonPropertyName("details")] OllamaModelDetails Details,
    [property: JsonPropertyName("model_info")] Dictionary<string, JsonElement> ModelInfo,
    [property: JsonPropertyName("capabilities")] string[] Capabilities,
    [property: JsonPropertyName("modified_at")] string ModifiedAt);

public sealed record OllamaPullStatus(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("digest")] string? Digest = null,
    [property: JsonPropertyName("total")] long? Total = null,
    [property: JsonPropertyName("completed")] long? Completed = null);

public sealed record OllamaMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content);

/// <summary>One line of /api/chat: a piece of the answer (done false) or the last line with the statistics.</summary>
public sealed record OllamaChatChunk(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("created_at")] string CreatedAt,
    [property: JsonPropertyName("message")] OllamaMessage Message,
    [property: JsonPropertyName("done")] bool Done)
{
    [JsonPropertyName("done_reason")] public string? DoneReason { get; init; }
    [JsonPropertyName("total_duration")] public long? TotalDuration { get; init; }
    [JsonPropertyName("load_duration")] public long? LoadDuration { get; init; }
    [JsonPropertyName("prompt_eval_count")] public int? PromptEvalCount { get; init; }
    [JsonPropertyName("prompt_eval_duration")] public long? PromptEvalDuration { get; init; }
    [JsonPropertyName("eval_count")] public int? EvalCount { get; init; }
    [JsonPropertyName("eval_duration")] public long? EvalDuration { get; init; }
}

/// <summary>One line of /api/generate.</summary>
public sealed record OllamaGenerateChunk(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("created_at")] string CreatedAt,
    [property: JsonPropertyName("response")] string Response,
    [property: JsonPropertyName("done")] bool Done)
{
    [JsonPropertyName("done_reason")] public string? DoneReason { get; init; }
    [JsonPropertyName("total_duration")] public long? TotalDuration { get; init; }
    [JsonPropertyName("load_duration")] public long? LoadDuration { get; init; }
    [JsonPropertyName("prompt_eval_count")] public int? PromptEvalCount { get; init; }
    [JsonPropertyName("prompt_eval_duration")] public long? PromptEvalDuration { get; init; }
    [JsonPropertyName("eval_count")] public int? EvalCount { get; init; }
    [JsonPropertyName("eval_duration")] public long? EvalDuration { get; init; }
}

public sealed record OllamaEmbedResponse(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("embeddings")] float[][] Embeddings,
    [property: JsonPropertyName("total_duration")] long TotalDuration,
    [property: JsonPropertyName("load_duration")] long LoadDuration,
    [property: JsonPropertyName("prompt_eval_count")] int PromptEvalCount);

public sealed record OllamaLegacyEmbedding([property: JsonPropertyName("embedding")] float[] Embedding);

/// <summary>Ollama's error body: <c>{"error": "message"}</c>.</summary>
public sealed record OllamaError([property: JsonPropertyName("error")] string Error);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OllamaTagList))]
[JsonSerializable(typeof(OllamaRunningList))]
[JsonSerializable(typeof(OllamaVersion))]
[JsonSerializable(typeof(OllamaShowResponse))]
[JsonSerializable(typeof(OllamaPullStatus))]
[JsonSerializable(typeof(OllamaChatChunk))]
[JsonSerializable(typeof(OllamaGenerateChunk))]
[JsonSerializable(typeof(OllamaEmbedResponse))]
[JsonSerializable(typeof(OllamaLegacyEmbedding))]
[JsonSerializable(typeof(OllamaError))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class OllamaJsonContext : JsonSerializerContext;

public static class OllamaJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = OllamaJsonContext.Default,
    };

    /// <summary>Ollama's timestamp format: RFC 3339 with fractional seconds, UTC.</summary>
    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static long Nanoseconds(TimeSpan t) => t.Ticks * 100;
}
