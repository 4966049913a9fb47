namespace BitNet.Runtime.Chat;

/// <summary>
/// The format microsoft/bitnet-b1.58-2B-4T was trained with (content verbatim, no trimming):
/// <code>&lt;|begin_of_text|&gt;System: {sys}&lt;|eot_id|&gt;User: {u1}&lt;|eot_id|&gt;Assistant: {a1}&lt;|eot_id|&gt;User: {u2}&lt;|eot_id|&gt;Assistant: </code>
/// The generation prompt keeps its trailing space, as in the reference. The template embedded in the official GGUF
/// is a placeholder ("...BITNETAssistant...") and is never rendered.
/// </summary>
public sealed class BitNetChatFormat : ChatFormat
{
    /// <summary>The one instance.</summary>
    public static BitNetChatFormat Instance { get; } = new();

    private BitNetChatFormat() { }

    /// <inheritdoc />
    public override string Name => "bitnet-2b4t";

    /// <inheritdoc />
    public override IReadOnlyList<string> StopStrings { get; } = ["<|eot_id|>", "<|end_of_text|>"];

    /// <inheritdoc />
    public override bool IncludesBos => true;

    /// <inheritdoc />
    protected override void Begin(PromptBuilder prompt) => prompt.Template("<|begin_of_text|>");

    /// <inheritdoc />
    protected override void RenderMessage(PromptBuilder prompt, ChatRole role, string content) =>
        prompt.Template(role switch
        {
            ChatRole.System => "System: ",
            ChatRole.User => "User: ",
            _ => "Assistant: ",
        }).Content(content).Template("<|eot_id|>");

    /// <summary>
    /// The format has no tool role of its own: a result is a turn of the same shape with the header "Tool: ",
    /// <c>Tool: {result}&lt;|eot_id|&gt;</c>.
    /// </summary>
    protected override void RenderToolResult(PromptBuilder prompt, string content) =>
        prompt.Template("Tool: ").Content(content).Template("<|eot_id|>");

    /// <inheritdoc />
    protected override void RenderGenerationPrompt(PromptBuilder prompt) => prompt.Template("Assistant: ");
}
