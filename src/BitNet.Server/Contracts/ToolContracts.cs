using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitNet.Server.Contracts;

// Tool calling shapes of chat completions, as the official SDKs read and write them.

/// <summary>A request's tool: <c>{"type":"function","function":{name, description, parameters, strict}}</c>.</summary>
public sealed record ToolDefinitionDto(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("function")] FunctionDefinitionDto Function);

public sealed record FunctionDefinitionDto(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string? Description = null,
    [property: JsonPropertyName("parameters")] JsonElement? Parameters = null,
    [property: JsonPropertyName("strict")] bool? Strict = null);

/// <summary>A call in <c>message.tool_calls</c>: arguments are JSON text, not an object.</summary>
public sealed record ToolCallDto(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("function")] FunctionCallDto Function);

public sealed record FunctionCallDto(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("arguments")] string Arguments);

/// <summary>
/// A streamed piece of a call in <c>delta.tool_calls</c>: the first carries id, type and name (arguments ""), later
/// ones only the index and an arguments fragment; the SDKs concatenate fragments per index.
/// </summary>
public sealed record ToolCallDeltaDto(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id,
    [property: JsonPropertyName("type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Type,
    [property: JsonPropertyName("function")] FunctionDeltaDto Function);

public sealed record FunctionDeltaDto(
    [property: JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name,
    [property: JsonPropertyName("arguments"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Arguments);
