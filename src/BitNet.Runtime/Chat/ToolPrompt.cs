using System.Text;
using System.Text.Json;

namespace BitNet.Runtime.Chat;

/// <summary>
/// How tools appear in a prompt, the same for every chat format (the formats only choose the turn a tool result
/// goes in, see <see cref="ChatFormat"/>). The tool list is one instruction line plus one signature line per tool,
/// added to the system turn:
/// <code>
/// Tools: to call one, answer &lt;tool_call&gt;{"name":"&lt;tool&gt;","arguments":{...}}
/// get_weather(city: string, unit?: "c" | "f") - Current weather in a city.
/// </code>
/// Signatures, not raw JSON Schema: a small context cannot afford the schema text, and the grammar enforces the
/// schema while the call is generated anyway. An assistant turn that called tools is rendered exactly as the model
/// is asked to write calls: its content (if any), then <c>&lt;tool_call&gt;{"name":"x","arguments":{...}}</c> per
/// call, one per line, so the history shows the model its own syntax.
/// </summary>
public static class ToolPrompt
{
    /// <summary>The text that opens a tool call in an answer.</summary>
    public const string CallMarker = "<tool_call>";

    private const int MaxTypeDepth = 3;

    /// <summary>The instruction line and one signature line per tool.</summary>
    public static string DescribeTools(IReadOnlyList<ChatTool> tools)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var text = new StringBuilder("Tools: to call one, answer ").Append(CallMarker).Append("{\"name\":\"<tool>\",\"arguments\":{...}}");
        foreach (var tool in tools) text.Append('\n').Append(Signature(tool));
        return text.ToString();
    }

    /// <summary><c>name(a: T, b?: U) - description</c>: optional parameters end in <c>?</c>, the description is one line.</summary>
    public static string Signature(ChatTool tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        var text = new StringBuilder(tool.Name).Append('(');
        AppendMembers(text, tool.Parameters, 0);
        text.Append(')');
        if (!string.IsNullOrWhiteSpace(tool.Description))
            text.Append(" - ").Append(string.Join(' ', tool.Description.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries)).Trim());
        return text.ToString();
    }

    /// <summary>An assistant turn's text: its content, then one marked call per line.</summary>
    public static string AppendCalls(string content, IReadOnlyList<ChatToolCall> calls)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(calls);
        var text = new StringBuilder(content);
        foreach (var call in calls)
        {
            if (text.Length > 0) text.Append('\n');
            text.Append(CallMarker).Append("{\"name\":").Append(Quote(call.Name)).Append(",\"arguments\":")
                .Append(ArgumentsJson(call.Arguments)).Append('}');
        }
        return text.ToString();
    }

    /// <summary>The arguments as given when they are JSON (clients echo what the server produced); otherwise as a JSON string.</summary>
    private static string ArgumentsJson(string arguments)
    {
        string trimmed = arguments.Trim();
        if (trimmed.Length == 0) return "{}";
        try
        {
            using var _ = JsonDocument.Parse(trimmed);
            return trimmed;
        }
        catch (JsonException)
        {
            return Quote(arguments);
        }
    }

    private static string Quote(string text) => "\"" + JsonEncodedText.Encode(text).ToString() + "\"";

    private static void AppendMembers(StringBuilder text, JsonElement schema, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
            return;
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array)
            foreach (var name in r.EnumerateArray())
                if (name.ValueKind == JsonValueKind.String) required.Add(name.GetString()!);
        bool first = true;
        foreach (var property in properties.EnumerateObject())
        {
            if (!first) text.Append(", ");
            first = false;
            text.Append(property.Name).Append(required.Contains(property.Name) ? ": " : "?: ");
            AppendType(text, property.Value, depth + 1);
        }
    }

    /// <summary>A TypeScript-like type: <c>string</c>, <c>"a" | "b"</c>, <c>integer[]</c>, <c>{x: number}</c>, a <c>$ref</c>'s name.</summary>
    private static void AppendType(StringBuilder text, JsonElement schema, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            text.Append(schema.ValueKind == JsonValueKind.False ? "never" : "any");
            return;
        }
        if (schema.TryGetProperty("$ref", out var reference) && reference.ValueKind == JsonValueKind.String)
        {
            string pointer = reference.GetString()!;
            text.Append(pointer == "#" ? "self" : pointer[(pointer.LastIndexOf('/') + 1)..]);
            return;
        }
        if (schema.TryGetProperty("const", out var constant))
        {
            text.Append(constant.GetRawText());
            return;
        }
        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array)
        {
            AppendUnion(text, values.EnumerateArray().Select(v => v.GetRawText()));
            return;
        }
        foreach (string combinator in (ReadOnlySpan<string>)["anyOf", "oneOf", "allOf"])
        {
            if (!schema.TryGetProperty(combinator, out var branches) || branches.ValueKind != JsonValueKind.Array) continue;
            bool firstBranch = true;
            foreach (var branch in branches.EnumerateArray())
            {
                if (!firstBranch) text.Append(combinator == "allOf" ? " & " : " | ");
                firstBranch = false;
                AppendType(text, branch, depth);
            }
            return;
        }
        if (!schema.TryGetProperty("type", out var type))
        {
            text.Append("any");
            return;
        }
        if (type.ValueKind == JsonValueKind.Array)
        {
            AppendUnion(text, type.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString()! : "any"));
            return;
        }
        switch (type.ValueKind == JsonValueKind.String ? type.GetString() : null)
        {
            case "array":
                if (schema.TryGetProperty("items", out var items) && depth < MaxTypeDepth)
                {
                    var inner = new StringBuilder();
                    AppendType(inner, items, depth + 1);
                    bool union = inner.ToString().Contains(" | ", StringComparison.Ordinal);
                    text.Append(union ? "(" : "").Append(inner).Append(union ? ")[]" : "[]");
                }
                else text.Append("array");
                break;
            case "object" when depth < MaxTypeDepth && schema.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object:
                text.Append('{');
                AppendMembers(text, schema, depth);
                text.Append('}');
                break;
            case { } name:
                text.Append(name);
                break;
            default:
                text.Append("any");
                break;
        }
    }

    private static void AppendUnion(StringBuilder text, IEnumerable<string> parts) => text.Append(string.Join(" | ", parts));
}
