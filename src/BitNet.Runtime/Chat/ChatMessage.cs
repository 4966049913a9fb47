namespace BitNet.Runtime.Chat;

/// <summary>
/// One message of a conversation. <paramref name="Role"/> is an OpenAI role name: system, developer (rendered as
/// system), user, assistant or tool; <paramref name="Content"/> is its text ("" for an assistant turn that only
/// called tools).
/// </summary>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>The tool calls an assistant turn made (rendered after its content, see <see cref="ToolPrompt"/>).</summary>
    public IReadOnlyList<ChatToolCall>? ToolCalls { get; init; }

    /// <summary>For a tool message: the id of the call whose result <see cref="Content"/> is.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>
    /// Joins the text parts of an OpenAI content array (<c>[{type:"text", text}, ...]</c>) into one content string,
    /// separated by newlines: what vLLM and llama.cpp's server do, so prompts match theirs.
    /// </summary>
    public static string JoinTextParts(IEnumerable<string> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return string.Join('\n', parts);
    }
}

/// <summary>A function call made by the assistant: its id (<c>call_...</c>), the function's name and its arguments as JSON text.</summary>
public sealed record ChatToolCall(string Id, string Name, string Arguments);

/// <summary>A function the model may call: its name, an optional description and the JSON Schema of its arguments.</summary>
public sealed record ChatTool(string Name, string? Description, System.Text.Json.JsonElement Parameters);
