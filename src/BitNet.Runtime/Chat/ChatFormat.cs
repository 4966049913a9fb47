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
    /// an unknown role or a role this format cannot express.
    /// </summary>
    public IReadOnlyList<PromptSegment> Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
            throw new ArgumentException("a chat prompt needs at least one message", nameof(messages));

        var prompt = new PromptBuilder();
        Begin(prompt);
        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw new ArgumentException($"message {i} is null", nameof(messages));
            if (message.Content is null)
                throw new ArgumentException($"message {i} has no content", nameof(messages));
            ChatRole role;
            try { role = ChatRoles.Parse(message.Role); }
            catch (ArgumentException e) { throw new ArgumentException($"message {i}: {e.Message}", nameof(messages), e); }
            if (role == ChatRole.Tool && !SupportsToolRole)
                throw new ArgumentException(
                    $"message {i}: chat format '{Name}' cannot express role '{message.Role}'; " +
                    "it supports system, developer, user and assistant", nameof(messages));
            RenderMessage(prompt, role, message.Content);
        }
        if (addGenerationPrompt) RenderGenerationPrompt(prompt);
        return prompt.Build();
    }

    /// <summary>Whether <see cref="ChatRole.Tool"/> messages can be rendered.</summary>
    protected virtual bool SupportsToolRole => false;

    /// <summary>Writes what precedes the first message (typically the BOS token).</summary>
    protected virtual void Begin(PromptBuilder prompt) { }

    /// <summary>Writes one message; the role is already validated.</summary>
    protected abstract void RenderMessage(PromptBuilder prompt, ChatRole role, string content);

    /// <summary>Writes the header that opens the assistant's reply.</summary>
    protected abstract void RenderGenerationPrompt(PromptBuilder prompt);

    /// <inheritdoc />
    public override string ToString() => Name;
}
