using System.Text.Json;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Sampling;
using BitNet.Server.Contracts;
using BitNet.Server.Options;

namespace BitNet.Server.Endpoints;

/// <summary>A validated POST /v1/responses body.</summary>
/// <param name="Settings">Sampling, limit and grammar, as the other generation endpoints take them.</param>
/// <param name="Input">This turn's input items as messages (a string input is one user message).</param>
/// <param name="Instructions">The system message of this turn only (not carried to a follow-up).</param>
/// <param name="Store">Keep the response for GET and previous_response_id (default true, as OpenAI).</param>
/// <param name="PreviousResponseId">The stored response this one continues, or null.</param>
/// <param name="Text">The <c>text</c> configuration echoed in the response.</param>
/// <param name="Metadata">Echoed as given (an object), or an empty object.</param>
public sealed record ResponsesRequestData(
    GenerationSettings Settings, IReadOnlyList<ChatMessage> Input, string? Instructions, bool Store,
    string? PreviousResponseId, JsonElement Text, JsonElement Metadata)
{
    /// <summary>The function tools (flat Responses form), or null when the request has none.</summary>
    public ToolSettings? Tools { get; init; }

    /// <summary>The <c>tools</c> echoed in the response (as given).</summary>
    public IReadOnlyList<JsonElement> ToolsEcho { get; init; } = [];

    /// <summary>The <c>tool_choice</c> echoed in the response (as given, or "auto").</summary>
    public JsonElement ToolChoiceEcho { get; init; } = ResponsesRequestParser.AutoChoice;
}

/// <summary>
/// Reads Responses API bodies: <c>input</c> (a string or message items with string or input_text/output_text content),
/// <c>instructions</c>, <c>max_output_tokens</c>, <c>temperature</c>, <c>top_p</c>, <c>text.format</c> (text,
/// json_object, json_schema), <c>stream</c>, <c>store</c>, <c>previous_response_id</c>, <c>metadata</c>, plus the
/// extras the chat endpoint takes (seed, top_k, min_p, penalties). Every problem is a 400 naming the field.
/// </summary>
public static class ResponsesRequestParser
{
    private static readonly JsonElement TextFormatText = JsonDocument.Parse("""{"format":{"type":"text"}}""").RootElement.Clone();
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();
    internal static readonly JsonElement AutoChoice = JsonDocument.Parse("\"auto\"").RootElement.Clone();

    public static ResponsesRequestData Parse(JsonElement root, ServerOptions o)
    {
        RequestParser.RequireObject(root);
        if (!root.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest("'input' is required: a string or an array of input items", "input");
        var messages = ReadInput(input, o);

        string? instructions = RequestParser.String(root, "instructions");

        var d = o.Sampling;
        bool stream = RequestParser.Bool(root, "stream") ?? false;
        bool store = RequestParser.Bool(root, "store") ?? true;
        string? previous = RequestParser.String(root, "previous_response_id");
        int? maxTokens = RequestParser.Int(root, "max_output_tokens", 1, o.MaxTokensCap);
        long? seed = RequestParser.Long(root, "seed");
        var sampling = new SamplingParameters
        {
            Temperature = RequestParser.Float(root, "temperature", 0, 2) ?? d.Temperature,
            TopP = RequestParser.Float(root, "top_p", 0, 1) ?? d.TopP,
            TopK = RequestParser.Int(root, "top_k", 0, 1 << 20) ?? d.TopK,
            MinP = RequestParser.Float(root, "min_p", 0, 1) ?? d.MinP,
            RepetitionPenalty = RequestParser.Float(root, "repetition_penalty", 0.01f, 10) ?? d.RepetitionPenalty,
            PresencePenalty = RequestParser.Float(root, "presence_penalty", -2, 2) ?? 0,
            FrequencyPenalty = RequestParser.Float(root, "frequency_penalty", -2, 2) ?? 0,
            Seed = seed is { } sd ? unchecked((ulong)sd) : null,
        };
        double? timeout = RequestParser.Float(root, "timeout", 0.001f, 86400);

        var (text, grammar) = ReadText(root);
        JsonElement metadata = EmptyObject;
        if (root.TryGetProperty("metadata", out var md) && md.ValueKind != JsonValueKind.Null)
        {
            if (md.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'metadata' must be an object of string values", "metadata");
            metadata = md.Clone();
        }
        // Tools (shared with chat): tool results are checked against the whole conversation by the endpoint, since a
        // previous_response_id may hold the calls they answer.
        var tools = ToolRequestParser.Parse(root, [], structuredOutput: grammar is not null, flat: true);
        if (tools?.Grammar is { } toolGrammar) grammar = toolGrammar;
        var settings = new GenerationSettings(RequestParser.String(root, "model"), stream, IncludeUsage: false, maxTokens, N: 1, Stop: [],
            sampling, Logprobs: false, TopLogprobs: 0, timeout, grammar);
        return new ResponsesRequestData(settings, messages, instructions, store, previous, text, metadata)
        {
            Tools = tools,
            ToolsEcho = tools is null ? [] : [.. root.GetProperty("tools").EnumerateArray().Select(t => t.Clone())],
            ToolChoiceEcho = tools is not null && root.TryGetProperty("tool_choice", out var tc) && tc.ValueKind != JsonValueKind.Null ? tc.Clone() : AutoChoice,
        };
    }

    private static List<ChatMessage> ReadInput(JsonElement input, ServerOptions o)
    {
        if (input.ValueKind == JsonValueKind.String) return [new ChatMessage("user", input.GetString()!)];
        if (input.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("'input' must be a string or an array of input items", "input");
        if (input.GetArrayLength() == 0) throw ApiException.BadRequest("'input' must not be empty", "input");
        if (input.GetArrayLength() > o.MaxMessages)
            throw ApiException.BadRequest($"'input' has {input.GetArrayLength()} items; at most {o.MaxMessages} are allowed", "input");
        var messages = new List<ChatMessage>(input.GetArrayLength());
        int i = 0;
        foreach (var item in input.EnumerateArray())
        {
            string p = $"input[{i++}]";
            if (item.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{p}' must be an object", p);
            string type = RequestParser.String(item, "type", $"{p}.type") ?? "message";
            if (type == "function_call")
            {
                // Calls the model made (sent back as input): consecutive ones are one assistant turn.
                var call = new ChatToolCall(RequiredString(item, "call_id", p), RequiredString(item, "name", p), Arguments(item, p));
                if (messages.Count > 0 && messages[^1].Role == "assistant")
                    messages[^1] = messages[^1] with { ToolCalls = [.. messages[^1].ToolCalls ?? [], call] };
                else messages.Add(new ChatMessage("assistant", "") { ToolCalls = [call] });
                continue;
            }
            if (type == "function_call_output")
            {
                string callId = RequiredString(item, "call_id", p);
                messages.Add(new ChatMessage("tool", Output(item, p)) { ToolCallId = callId });
                continue;
            }
            if (type != "message")
                throw ApiException.BadRequest($"'{p}.type' = '{type}' is not supported; input items are message, function_call, function_call_output", $"{p}.type");
            string role = RequestParser.String(item, "role", $"{p}.role")
                ?? throw ApiException.BadRequest($"'{p}.role' is required", $"{p}.role");
            if (role is not ("user" or "assistant" or "system" or "developer"))
                throw ApiException.BadRequest($"'{p}.role' = '{role}' is not one of user, assistant, system, developer", $"{p}.role");
            messages.Add(new ChatMessage(role, ReadContent(item, p)));
        }
        return messages;
    }

    private static string RequiredString(JsonElement item, string name, string p) =>
        RequestParser.String(item, name, $"{p}.{name}") is { Length: > 0 } v ? v
            : throw ApiException.BadRequest($"'{p}.{name}' is required and must be a string", $"{p}.{name}");

    /// <summary>A call's arguments: JSON text (as OpenAI sends them) or the object itself.</summary>
    private static string Arguments(JsonElement item, string p) =>
        !item.TryGetProperty("arguments", out var a) ? "{}" : a.ValueKind switch
        {
            JsonValueKind.String => a.GetString()!,
            JsonValueKind.Object => a.GetRawText(),
            JsonValueKind.Null => "{}",
            _ => throw ApiException.BadRequest($"'{p}.arguments' must be a string of JSON", $"{p}.arguments"),
        };

    /// <summary>A call's result: a string, or input_text parts.</summary>
    private static string Output(JsonElement item, string p)
    {
        if (!item.TryGetProperty("output", out var o) || o.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
            throw ApiException.BadRequest($"'{p}.output' is required and must be a string", $"{p}.output");
        if (o.ValueKind == JsonValueKind.String) return o.GetString()!;
        var parts = new List<string>();
        int j = 0;
        foreach (var part in o.EnumerateArray())
        {
            string pp = $"{p}.output[{j++}]";
            string? text = part.ValueKind == JsonValueKind.Object && RequestParser.String(part, "type", $"{pp}.type") is "input_text" or "output_text" or "text"
                ? RequestParser.String(part, "text", $"{pp}.text") : null;
            parts.Add(text ?? throw ApiException.BadRequest($"'{pp}' must be an input_text part with a 'text'", pp));
        }
        return ChatMessage.JoinTextParts(parts);
    }

    /// <summary>A string, or parts: input_text (user, system) and output_text (an assistant turn sent back as input).</summary>
    private static string ReadContent(JsonElement item, string p)
    {
        if (!item.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null)
            throw ApiException.BadRequest($"'{p}.content' is required", $"{p}.content");
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{p}.content' must be a string or an array of content parts", $"{p}.content");
        var parts = new List<string>();
        int j = 0;
        foreach (var part in c.EnumerateArray())
        {
            string pp = $"{p}.content[{j++}]";
            string? type = part.ValueKind == JsonValueKind.Object ? RequestParser.String(part, "type", $"{pp}.type") : null;
            if (type is null) throw ApiException.BadRequest($"'{pp}' must be an object with a 'type'", pp);
            if (type is not ("input_text" or "output_text" or "text"))
                throw ApiException.BadRequest($"'{pp}.type' = '{type}' is not supported; this model reads text only (input_text)", $"{pp}.type");
            parts.Add(RequestParser.String(part, "text", $"{pp}.text") ?? throw ApiException.BadRequest($"'{pp}.text' must be a string", $"{pp}.text"));
        }
        return ChatMessage.JoinTextParts(parts);
    }

    /// <summary>
    /// <c>text.format</c>: {type:"text"} (free), {type:"json_object"} or {type:"json_schema", name, schema, strict}
    /// (flat, unlike chat's response_format) compiled through the shared grammar cache.
    /// </summary>
    private static (JsonElement Echo, JsonGrammar? Grammar) ReadText(JsonElement root)
    {
        if (!root.TryGetProperty("text", out var text) || text.ValueKind == JsonValueKind.Null) return (TextFormatText, null);
        if (text.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'text' must be an object with a 'format'", "text");
        if (!text.TryGetProperty("format", out var format) || format.ValueKind == JsonValueKind.Null) return (TextFormatText, null);
        string? type = format.ValueKind == JsonValueKind.Object ? RequestParser.String(format, "type", "text.format.type") : null;
        switch (type)
        {
            case null:
                throw ApiException.BadRequest("'text.format' must be an object with a 'type'", "text.format");
            case "text":
                return (text.Clone(), null);
            case "json_object":
                return (text.Clone(), RequestParser.Grammars.AnyJsonObject());
            case "json_schema":
                if (RequestParser.String(format, "name", "text.format.name") is null)
                    throw ApiException.BadRequest("'text.format.name' is required for json_schema", "text.format.name");
                if (!format.TryGetProperty("schema", out var schema) || schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True))
                    throw ApiException.BadRequest("'text.format.schema' must be a JSON Schema object", "text.format.schema");
                _ = RequestParser.Bool(format, "strict", "text.format.strict");
                return (text.Clone(), RequestParser.CompileSchema(schema, "text.format.schema", "text.format.schema"));
            default:
                throw ApiException.BadRequest($"'text.format.type' = '{type}' is not one of text, json_object, json_schema", "text.format.type");
        }
    }
}
