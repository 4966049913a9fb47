using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitNet.Server.Contracts;

/// <summary>
/// Source-generated System.Text.Json metadata for every contract type: responses and stream chunks are written without
/// reflection (one chunk per streamed token). <see cref="Infrastructure.JsonDefaults.Options"/> resolves types only
/// through this context, so a contract missing here fails its first test instead of quietly falling back.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelCard))]
[JsonSerializable(typeof(TokenizeRequest))]
[JsonSerializable(typeof(TokenizeResponse))]
[JsonSerializable(typeof(DetokenizeRequest))]
[JsonSerializable(typeof(DetokenizeResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(OpenAIErrorBody))]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(ResponseObject))]
[JsonSerializable(typeof(ResponseStreamEvent))]
[JsonSerializable(typeof(ResponseDeleted))]
[JsonSerializable(typeof(CreateResponseRequest))]
public sealed partial class ServerJsonContext : JsonSerializerContext;
