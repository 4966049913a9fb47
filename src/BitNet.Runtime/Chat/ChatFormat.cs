namespace BitNet.Runtime.Chat;

/// <summary>
/// Turns a conversation into prompt segments for one model family. Formats are stateless singletons
/// (see <see cref="ChatFormats"/>).
/// </summary>
public abstract class ChatFormat
{
    /// <summary>The name used in configuration and by <see cref="ChatFormats.Get"/>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Text that ends the assistant's turn. Entries that are special tokens of the vocabulary (e.g. "&lt;|eot_id|&gt;")
    /// should also be resolved to token ids and stop generation as tokens; all entries can be fed to a
    /// <see cref="Sampling.StopStringMatcher"/> for models that spell them as text. The model's EOS always stops too.
    /// </summary>
    public abstract IReadOnlyList<string> StopStrings { get; }

    /// <summary>
    /// True when the rendered prompt starts with the BOS token as a special segment: the caller must not add another.
    /// When false the caller adds the model's BOS itself if the vocabulary asks for one (tokenizer.ggml.add_bos_token),
    /// exactly as for a raw completion prompt.
    /// </summary>
    public abstract bool IncludesBos { get; }

    /// <summary>
    /// Renders <paramref name="messages"/> (at least one) and, when <paramref name="addGenerationPrompt"/> is set,
    /// the header that opens the assistant's reply. Throws <see cref="ArgumentException"/> for an empty conversation,
    /// an unknown role or a message without content.
    /// <para>
    /// Tools (every format the same way, see <see cref="ToolPrompt"/>): the list of <paramref name="tools"/> is added
    /// to the first system message after a blank line, or is a system message of its own before the first message;
    /// an assistant message's <see cref="ChatMessage.ToolCalls"/> follow its content as marked calls; a tool message
    /// (a call's result) is written by <see cref="RenderToolResult"/>, which each format places in its own kind of turn.
    /// </para>
    /// </summary>
    public IReadOnlyList<PromptSegment> Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, IReadOnlyList<ChatTool>? tools = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
            throw new ArgumentException("a chat prompt needs at least one message", nameof(messages));

        var prompt = new PromptBuilder();
        Begin(prompt);
        string? toolList = tools is { Count: > 0 } ? ToolPrompt.DescribeTools(tools) : null;
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw new ArgumentException($"message {i} is null", nameof(messages));
            if (message.Content is null)
                throw new ArgumentException($"message {i} has no content", nameof(messages));
            ChatRole role;
            try { role = ChatRoles.Parse(message.Role); }
            catch (ArgumentException e) { throw new ArgumentException($"message {i}: {e.Message}", nameof(messages), e); }
            string content = message.Content;
            if (toolList is not null)
            {
                if (role == ChatRole.System) content = content.Length == 0 ? toolList : content + "\n\n" + toolList;
                else RenderMessage(prompt, ChatRole.System, toolList);
                toolList = null;
            }
            if (role == ChatRole.Tool)
            {
                RenderToolResult(prompt, content);
                continue;
            }
            if (role == ChatRole.Assistant && message.ToolCalls is { Count: > 0 } calls) content = ToolPrompt.AppendCalls(content, calls);
            RenderMessage(prompt, role, content);
        }
        if (addGenerationPrompt) RenderGenerationPrompt(prompt);
        return prompt.Build();
    }

    /// <summary>
    /// Writes a tool's result (a tool message's content, verbatim). Formats with a native tool turn override this;
    /// the default is a user turn that starts with "Tool: ".
    /// </summary>
    protected virtual void RenderToolResult(PromptBuilder prompt, string content) => RenderMessage(prompt, ChatRole.User, "Tool: " + content);

    /// <summary>Writes what precedes the first message (typically the BOS token).</summary>
    protected virtual void Begin(PromptBuilder prompt) { }

    /// <summary>Writes one message; the role is already validated.</summary>
    protected abstract void RenderMessage(PromptBuilder prompt, ChatRole role, string content);

    /// <summary>Writes the header that opens the assistant's reply.</summary>
    protected abstract void RenderGenerationPrompt(PromptBuilder prompt);

    /// <inheritdoc />
    public override string ToString() => Name;
}
