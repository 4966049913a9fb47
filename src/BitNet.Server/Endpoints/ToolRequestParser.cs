using System.Text.Json;
using System.Text.RegularExpressions;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Grammar;
using BitNet.Server.Contracts;

namespace BitNet.Server.Endpoints;

/// <summary>OpenAI tool_choice values.</summary>
public enum ToolChoice
{
    /// <summary>The model answers with text; tools are not shown to it.</summary>
    None,
    /// <summary>The model chooses between text and calls.</summary>
    Auto,
    /// <summary>The model must call one or more tools.</summary>
    Required,
    /// <summary>The model must call the one named function.</summary>
    Function,
}

/// <summary>
/// The tools of a chat request, validated: what the prompt lists (<see cref="PromptTools"/>, empty for none) and the
/// grammar the answer is generated under (null for none).
/// </summary>
public sealed record ToolSettings(IReadOnlyList<ChatTool> Tools, ToolChoice Choice, string? FunctionName, bool Parallel, JsonGrammar? Grammar)
{
    /// <summary>Whether the answer may contain calls (tool_choice other than none).</summary>
    public bool Active => Choice != ToolChoice.None;

    /// <summary>The tools rendered into the prompt: all of them unless tool_choice is none.</summary>
    public IReadOnlyList<ChatTool> PromptTools => Active ? Tools : [];
}

/// <summary>
/// Reads <c>tools</c>, <c>tool_choice</c>, <c>parallel_tool_calls</c> and the tool fields of messages
/// (<c>tool_calls</c> on assistant messages, <c>tool_call_id</c> on tool messages). Every problem is a 400 naming the
/// field; a parameter schema the grammar cannot enforce is a 400 naming the keyword.
/// </summary>
public static partial class ToolRequestParser
{
    /// <summary>OpenAI's limit on tools per request.</summary>
    public const int MaxTools = 128;

    /// <summary>
    /// The tools of <paramref name="root"/>, or null when it has none. <paramref name="messages"/> are the parsed
    /// messages (tool results must answer an earlier call); <paramref name="structuredOutput"/> says whether
    /// response_format asked for JSON, which cannot share the answer's grammar with tool calls.
    /// </summary>
    /// <remarks>
    /// <paramref name="flat"/> reads the Responses API's forms: <c>{"type":"function","name":..,"parameters":..}</c>
    /// tools and a <c>{"type":"function","name":..}</c> tool_choice (chat nests both under <c>function</c>).
    /// </remarks>
    public static ToolSettings? Parse(JsonElement root, IReadOnlyList<ChatMessage> messages, bool structuredOutput, bool flat = false)
    {
        CheckToolResults(messages);
        var tools = ReadTools(root, flat);
        bool? parallel = null;
        if (root.TryGetProperty("parallel_tool_calls", out var pe) && pe.ValueKind != JsonValueKind.Null)
            parallel = pe.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw ApiException.BadRequest("'parallel_tool_calls' must be a boolean", "parallel_tool_calls"),
            };
        var (choice, function) = ReadToolChoice(root, tools, flat);
        if (tools.Count == 0) return null;
        string formatParam = flat ? "text.format" : "response_format";
        if (choice != ToolChoice.None && structuredOutput)
            throw ApiException.BadRequest($"'{formatParam}' json_object or json_schema cannot be combined with 'tools' unless tool_choice is \"none\"", formatParam);
        bool parallelCalls = parallel ?? true;
        JsonGrammar? grammar = choice == ToolChoice.None ? null : Compile(tools, choice, function, parallelCalls, flat ? "" : ".function");
        return new ToolSettings(tools, choice, function, parallelCalls, grammar);
    }

    /// <summary>The message with its tool fields: <c>tool_calls</c> (assistant) and <c>tool_call_id</c> (tool).</summary>
    public static ChatMessage WithToolFields(ChatMessage message, JsonElement m, string p)
    {
        var role = ChatRoles.Parse(message.Role);
        if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind != JsonValueKind.Null)
        {
            if (role != ChatRole.Assistant) throw ApiException.BadRequest($"'{p}.tool_calls' is only allowed on assistant messages", $"{p}.tool_calls");
            if (tc.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{p}.tool_calls' must be an array", $"{p}.tool_calls");
            var calls = new List<ChatToolCall>(tc.GetArrayLength());
            int j = 0;
            foreach (var call in tc.EnumerateArray())
            {
                string cp = $"{p}.tool_calls[{j++}]";
                if (call.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{cp}' must be an object", cp);
                string id = RequiredString(call, "id", cp);
                string? type = OptionalString(call, "type", cp);
                if (type is not null && type != "function") throw ApiException.BadRequest($"'{cp}.type' = '{type}' is not supported; only 'function'", $"{cp}.type");
                if (!call.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest($"'{cp}.function' is required and must be an object", $"{cp}.function");
                string name = RequiredString(f, "name", $"{cp}.function");
                // OpenAI sends arguments as JSON text; some clients send the object itself.
                string arguments = f.TryGetProperty("arguments", out var a) ? a.ValueKind switch
                {
                    JsonValueKind.String => a.GetString()!,
                    JsonValueKind.Object => a.GetRawText(),
                    JsonValueKind.Null => "{}",
                    _ => throw ApiException.BadRequest($"'{cp}.function.arguments' must be a string of JSON", $"{cp}.function.arguments"),
                } : "{}";
                calls.Add(new ChatToolCall(id, name, arguments));
            }
            message = message with { ToolCalls = calls };
        }
        if (role == ChatRole.Tool)
        {
            if (!m.TryGetProperty("tool_call_id", out var idElement) || idElement.ValueKind != JsonValueKind.String || idElement.GetString()!.Length == 0)
                throw ApiException.BadRequest($"'{p}.tool_call_id' is required for role 'tool' and must be a string", $"{p}.tool_call_id");
            message = message with { ToolCallId = idElement.GetString() };
        }
        return message;
    }

    /// <summary>Each tool message must answer a call an earlier assistant message made (as OpenAI checks).</summary>
    /// <remarks><paramref name="items"/> and <paramref name="offset"/> name the offending item (index minus offset).</remarks>
    public static void CheckToolResults(IReadOnlyList<ChatMessage> messages, string items = "messages", int offset = 0, string idField = "tool_call_id")
    {
        var calls = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].ToolCalls is { } made) foreach (var call in made) calls.Add(call.Id);
            if (messages[i].ToolCallId is { } id && !calls.Contains(id))
                throw ApiException.BadRequest(
                    $"'{items}[{i - offset}].{idField}' = '{Truncate(id)}' does not answer a tool call of an earlier assistant message", $"{items}[{i - offset}].{idField}");
        }
    }

    private static List<ChatTool> ReadTools(JsonElement root, bool flat)
    {
        var tools = new List<ChatTool>();
        if (!root.TryGetProperty("tools", out var t) || t.ValueKind == JsonValueKind.Null) return tools;
        if (t.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("'tools' must be an array of tool objects", "tools");
        if (t.GetArrayLength() > MaxTools) throw ApiException.BadRequest($"'tools' has {t.GetArrayLength()} items; at most {MaxTools} are allowed", "tools");
        var names = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        foreach (var tool in t.EnumerateArray())
        {
            string p = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{p}' must be an object", p);
            string type = RequiredString(tool, "type", p);
            if (type != "function") throw ApiException.BadRequest($"'{p}.type' = '{Truncate(type)}' is not supported; only 'function' tools are", $"{p}.type");
            JsonElement f = tool;
            if (!flat && (!tool.TryGetProperty("function", out f) || f.ValueKind != JsonValueKind.Object))
                throw ApiException.BadRequest($"'{p}.function' is required and must be an object", $"{p}.function");
            string fp = flat ? p : $"{p}.function";
            string name = RequiredString(f, "name", fp);
            if (!NamePattern().IsMatch(name))
                throw ApiException.BadRequest($"'{fp}.name' = '{Truncate(name)}' must be 1 to 64 letters, digits, '_' or '-'", $"{fp}.name");
            if (!names.Add(name)) throw ApiException.BadRequest($"'{fp}.name' = '{name}' is a duplicate; tool names must be unique", $"{fp}.name");
            string? description = OptionalString(f, "description", fp);
            if (f.TryGetProperty("strict", out var strict) && strict.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                throw ApiException.BadRequest($"'{fp}.strict' must be a boolean", $"{fp}.strict");
            tools.Add(new ChatTool(name, description, ReadParameters(f, $"{fp}.parameters")));
        }
        return tools;
    }

    /// <summary>The arguments schema: absent means no parameters; otherwise an object schema (as OpenAI requires).</summary>
    private static JsonElement ReadParameters(JsonElement f, string p)
    {
        if (!f.TryGetProperty("parameters", out var schema) || schema.ValueKind == JsonValueKind.Null) return NoParameters;
        if (schema.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{p}' must be a JSON Schema object", p);
        if (!schema.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "object")
            throw ApiException.BadRequest($"'{p}' must be a JSON Schema with \"type\": \"object\"", p);
        return schema.Clone();
    }

    private static readonly JsonElement NoParameters =
        JsonDocument.Parse("""{"type":"object","properties":{},"additionalProperties":false}""").RootElement.Clone();

    private static (ToolChoice, string?) ReadToolChoice(JsonElement root, List<ChatTool> tools, bool flat)
    {
        if (!root.TryGetProperty("tool_choice", out var c) || c.ValueKind == JsonValueKind.Null) return (ToolChoice.Auto, null);
        ToolChoice choice;
        string? function = null;
        if (c.ValueKind == JsonValueKind.String)
        {
            choice = c.GetString() switch
            {
                "none" => ToolChoice.None,
                "auto" => ToolChoice.Auto,
                "required" => ToolChoice.Required,
                var other => throw ApiException.BadRequest($"'tool_choice' = '{Truncate(other!)}' is not one of none, auto, required or a function object", "tool_choice"),
            };
        }
        else if (c.ValueKind == JsonValueKind.Object)
        {
            string? type = OptionalString(c, "type", "tool_choice");
            if (type != "function")
                throw ApiException.BadRequest(flat
                    ? "'tool_choice' as an object must be {\"type\": \"function\", \"name\": ...}"
                    : "'tool_choice' as an object must be {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
            JsonElement f = c;
            if (!flat && (!c.TryGetProperty("function", out f) || f.ValueKind != JsonValueKind.Object))
                throw ApiException.BadRequest("'tool_choice.function' is required and must be an object with a 'name'", "tool_choice.function");
            function = RequiredString(f, "name", flat ? "tool_choice" : "tool_choice.function");
            choice = ToolChoice.Function;
        }
        else throw ApiException.BadRequest("'tool_choice' must be a string or an object", "tool_choice");

        if (tools.Count == 0 && choice is ToolChoice.Required or ToolChoice.Function)
            throw ApiException.BadRequest("'tool_choice' is only allowed when 'tools' are specified", "tool_choice");
        if (function is not null && !tools.Any(t => t.Name == function))
        {
            string np = flat ? "tool_choice.name" : "tool_choice.function.name";
            throw ApiException.BadRequest($"'{np}' = '{Truncate(function)}' is not one of the tools", np);
        }
        return (choice, function);
    }

    private static JsonGrammar Compile(List<ChatTool> tools, ToolChoice choice, string? function, bool parallel, string nest)
    {
        var callable = tools.Where(t => function is null || t.Name == function).Select(t => new ToolSchema(t.Name, t.Parameters)).ToList();
        try
        {
            return JsonGrammar.ForToolCallAnswer(callable, ToolPrompt.CallMarker, parallel, allowText: choice == ToolChoice.Auto, CallOptions);
        }
        catch (Exception e) when (e is SchemaNotSupportedException or ArgumentException or InvalidOperationException or FormatException)
        {
            // Name the tool: compile each schema alone (only on this error path).
            for (int i = 0; i < tools.Count; i++)
            {
                try { JsonGrammar.FromSchema(tools[i].Parameters); }
                catch (SchemaNotSupportedException inner)
                {
                    throw ApiException.BadRequest($"tools[{i}]{nest}.parameters: {inner.Message}", $"tools[{i}]{nest}.parameters", "unsupported_schema");
                }
                catch (Exception inner) when (inner is ArgumentException or InvalidOperationException or FormatException)
                {
                    throw ApiException.BadRequest($"tools[{i}]{nest}.parameters: {inner.Message}", $"tools[{i}]{nest}.parameters", "invalid_schema");
                }
            }
            throw ApiException.BadRequest($"tools: {e.Message}", "tools", e is SchemaNotSupportedException ? "unsupported_schema" : "invalid_schema");
        }
    }

    /// <summary>
    /// One whitespace byte at most between JSON tokens of a call (the default allows six): small models otherwise spend
    /// a third of a call on newlines, which a 512-token context cannot afford. One still lets an answer start with a
    /// SentencePiece word's space.
    /// </summary>
    private static readonly GrammarOptions CallOptions = new() { MaxWhitespace = 1 };

    private static string RequiredString(JsonElement o, string name, string parent) =>
        o.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String
            ? e.GetString()!
            : throw ApiException.BadRequest($"'{parent}.{name}' is required and must be a string", $"{parent}.{name}");

    private static string? OptionalString(JsonElement o, string name, string parent)
    {
        if (!o.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null) return null;
        return e.ValueKind == JsonValueKind.String ? e.GetString() : throw ApiException.BadRequest($"'{parent}.{name}' must be a string", $"{parent}.{name}");
    }

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "..." : s;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
