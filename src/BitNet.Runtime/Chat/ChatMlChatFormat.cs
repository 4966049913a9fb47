namespace BitNet.Runtime.Chat;

/// <summary>
/// ChatML (Qwen, many fine-tunes): <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c> per message,
/// generation prompt <c>&lt;|im_start|&gt;assistant\n</c>. ChatML has no BOS of its own.
/// </summary>
public sealed class ChatMlChatFormat : ChatFormat
{
    /// <summary>The one instance.</summary>
    public static ChatMlChatFormat Instance { get; } = new();

    private ChatMlChatFormat() { }

    /// <inheritdoc />
    public override string Name => "chatml";

    /// <inheritdoc />
    public override IReadOnlyList<string> StopStrings { get; } = ["<|im_end|>"];

    /// <inheritdoc />
    public override bool IncludesBos => false;

    /// <inheritdoc />
    protected override void RenderMessage(PromptBuilder prompt, ChatRole role, string content) =>
        prompt.Template(Header(role)).Content(content).Template("<|im_end|>\n");

    /// <summary>ChatML names roles freely: <c>&lt;|im_start|&gt;tool\n{result}&lt;|im_end|&gt;\n</c>.</summary>
    protected override void RenderToolResult(PromptBuilder prompt, string content) =>
        prompt.Template("<|im_start|>tool\n").Content(content).Template("<|im_end|>\n");

    /// <inheritdoc />
    protected override void RenderGenerationPrompt(PromptBuilder prompt) => prompt.Template(Header(ChatRole.Assistant));

    private static string Header(ChatRole role) => role switch
    {
        ChatRole.System => "<|im_start|>system\n",
        ChatRole.User => "<|im_start|>user\n",
        _ => "<|im_start|>assistant\n",
    };
}
