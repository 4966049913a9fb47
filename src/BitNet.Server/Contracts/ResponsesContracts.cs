using System.Text.Json;
using System.Text.Json.Serialization;

namespace BitNet.Server.Contracts;

// The Responses API (POST /v1/responses) as the official SDKs parse it. Output items and stream events are one record
// each with the members of every kind they take; absent members are left out (WhenWritingNull), present-but-null ones
// the SDKs expect (error, incomplete_details, previous_response_id) are written as null.

public sealed record ResponseObject(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("error")] ResponseError? Error,
    [property: JsonPropertyName("incomplete_details")] IncompleteDetails? IncompleteDetails,
    [property: JsonPropertyName("instructions")] string? Instructions,
    [property: JsonPropertyName("max_output_tokens")] int? MaxOutputTokens,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("output")] IReadOnlyList<ResponseOutputItem> Output,
    [property: JsonPropertyName("parallel_tool_calls")] bool ParallelToolCalls,
    [property: JsonPropertyName("previous_response_id")] string? PreviousResponseId,
    [property: JsonPropertyName("store")] bool Store,
    [property: JsonPropertyName("temperature")] float Temperature,
    [property: JsonPropertyName("top_p")] float TopP,
    [property: JsonPropertyName("text")] JsonElement Text,
    [property: JsonPropertyName("tool_choice")] JsonElement ToolChoice,
    [property: JsonPropertyName("tools")] IReadOnlyList<JsonElement> Tools,
    [property: JsonPropertyName("truncation")] string Truncation,
    [property: JsonPropertyName("usage")] ResponseUsage? Usage,
    [property: JsonPropertyName("metadata")] JsonElement Metadata);

public sealed record ResponseError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);

public sealed record IncompleteDetails([property: JsonPropertyName("reason")] string Reason);

/// <summary>An output item: <c>message</c> (role, content) or <c>function_call</c> (call_id, name, arguments).</summary>
public sealed record ResponseOutputItem(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role = null,
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ResponseContentPart>? Content = null,
    [property: JsonPropertyName("call_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CallId = null,
    [property: JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name = null,
    [property: JsonPropertyName("arguments"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Arguments = null);

public sealed record ResponseContentPart(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("annotations")] IReadOnlyList<JsonElement> Annotations,
    [property: JsonPropertyName("logprobs")] IReadOnlyList<JsonElement> Logprobs);

public sealed record ResponseUsage(
    [property: JsonPropertyName("input_tokens")] int InputTokens,
    [property: JsonPropertyName("input_tokens_details")] InputTokensDetails InputTokensDetails,
    [property: JsonPropertyName("output_tokens")] int OutputTokens,
    [property: JsonPropertyName("output_tokens_details")] OutputTokensDetails OutputTokensDetails,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);

public sealed record InputTokensDetails([property: JsonPropertyName("cached_tokens")] int CachedTokens);

public sealed record OutputTokensDetails([property: JsonPropertyName("reasoning_tokens")] int ReasoningTokens);

/// <summary>DELETE /v1/responses/{id}.</summary>
public sealed record ResponseDeleted(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("deleted")] bool Deleted);

/// <summary>
/// One server-sent event of a streamed response (<c>event: {type}</c>, <c>data: {this}</c>). Which members are set
/// depends on <see cref="Type"/>: response.* carry <see cref="Response"/>; output_item.* carry the item; content_part.*
/// the part; output_text.delta the delta; output_text.done the text.
/// </summary>
public sealed record ResponseStreamEvent(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("sequence_number")] int SequenceNumber,
    [property: JsonPropertyName("response"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ResponseObject? Response = null,
    [property: JsonPropertyName("output_index"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? OutputIndex = null,
    [property: JsonPropertyName("item_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ItemId = null,
    [property: JsonPropertyName("content_index"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ContentIndex = null,
    [property: JsonPropertyName("item"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ResponseOutputItem? Item = null,
    [property: JsonPropertyName("part"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ResponseContentPart? Part = null,
    [property: JsonPropertyName("delta"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Delta = null,
    [property: JsonPropertyName("text"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text = null,
    [property: JsonPropertyName("arguments"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Arguments = null,
    [property: JsonPropertyName("logprobs"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<JsonElement>? Logprobs = null);

/// <summary>The request shape for the OpenAPI document (the body is read by Endpoints/ResponsesRequestParser).</summary>
public sealed record CreateResponseRequest(
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("input")] JsonElement Input,
    [property: JsonPropertyName("instructions")] string? Instructions = null,
    [property: JsonPropertyName("max_output_tokens")] int? MaxOutputTokens = null,
    [property: JsonPropertyName("temperature")] float? Temperature = null,
    [property: JsonPropertyName("top_p")] float? TopP = null,
    [property: JsonPropertyName("text")] JsonElement? Text = null,
    [property: JsonPropertyName("stream")] bool? Stream = null,
    [property: JsonPropertyName("store")] bool? Store = null,
    [property: JsonPropertyName("previous_response_id")] string? PreviousResponseId = null,
    [property: JsonPropertyName("metadata")] JsonElement? Metadata = null,
    [property: JsonPropertyName("tools")] JsonElement? Tools = null,
    [property: JsonPropertyName("tool_choice")] JsonElement? ToolChoice = null,
    [property: JsonPropertyName("parallel_tool_calls")] bool? ParallelToolCalls = null);
