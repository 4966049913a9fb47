namespace BitNet.Runtime.Chat;

/// <summary>
/// One message of a conversation. <paramref name="Role"/> is an OpenAI role name: system, developer (rendered as
/// system), user, assistant or tool; <paramref name="Content"/> is its text.
/// </summary>
public sealed record ChatMessage(string Role, string Content)
{
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
