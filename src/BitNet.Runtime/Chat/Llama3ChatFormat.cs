namespace BitNet.Runtime.Chat;

/// <summary>
/// Llama 3 instruct format:
/// <code>&lt;|begin_of_text|&gt;&lt;|start_header_id|&gt;system&lt;|end_header_id|&gt;\n\n{content}&lt;|eot_id|&gt;...&lt;|start_header_id|&gt;assistant&lt;|end_header_id|&gt;\n\n</code>
/// Content is trimmed of surrounding whitespace, as the official Meta template does (<c>message['content'] | trim</c>).
/// </summary>
public sealed class Llama3ChatFormat : ChatFormat
{
    /// <summary>The one instance.</summary>
    public static Llama3ChatFormat Instance { get; } = new();

    private Llama3ChatFormat() { }

    /// <inheritdoc />
    public override string Name => "llama3";

    /// <inheritdoc />
    public override IReadOnlyList<string> StopStrings { get; } = ["<|eot_id|>", "<|end_of_text|>"];

    /// <inheritdoc />
    public override bool IncludesBos => true;

    /// <inheritdoc />
    protected override void Begin(PromptBuilder prompt) => prompt.Template("<|begin_of_text|>");

    /// <inheritdoc />
    protected override void RenderMessage(PromptBuilder prompt, ChatRole role, string content) =>
        prompt.Template(Header(role)).Content(content.Trim()).Template("<|eot_id|>");

    /// <summary>Llama 3.1's own turn for tool output: <c>&lt;|start_header_id|&gt;ipython&lt;|end_header_id|&gt;\n\n{result}&lt;|eot_id|&gt;</c>.</summary>
    protected override void RenderToolResult(PromptBuilder prompt, string content) =>
        prompt.Template("<|start_header_id|>ipython<|end_header_id|>\n\n").Content(content.Trim()).Template("<|eot_id|>");

    /// <inheritdoc />
    protected override void RenderGenerationPrompt(PromptBuilder prompt) => prompt.Template(Header(ChatRole.Assistant));

    private static string Header(ChatRole role) => role switch
    {
        ChatRole.System => "<|start_header_id|>system<|end_header_id|>\n\n",
        ChatRole.User => "<|start_header_id|>user<|end_header_id|>\n\n",
        _ => "<|start_header_id|>assistant<|end_header_id|>\n\n",
    };
}
