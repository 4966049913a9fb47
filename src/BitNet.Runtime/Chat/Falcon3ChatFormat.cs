namespace BitNet.Runtime.Chat;

/// <summary>
/// Falcon3 / Falcon-E instruct format (tiiuae/Falcon3-*-Instruct and their 1.58-bit versions), as their
/// tokenizer_config.json chat template renders it:
/// <code>&lt;|system|&gt;\n{content}\n&lt;|user|&gt;\n{content}\n&lt;|assistant|&gt;\n{content}&lt;|endoftext|&gt;\n...&lt;|assistant|&gt;\n</code>
/// The template writes no BOS (the tokenizer adds one if the vocabulary asks); an assistant turn ends with the EOS
/// token <c>&lt;|endoftext|&gt;</c>, which is also what ends generation. A tool result is a user turn starting with
/// "Tool: " (the base class's default): <c>&lt;|user|&gt;\nTool: {result}\n</c>.
/// </summary>
public sealed class Falcon3ChatFormat : ChatFormat
{
    /// <summary>The one instance.</summary>
    public static Falcon3ChatFormat Instance { get; } = new();

    private Falcon3ChatFormat() { }

    /// <inheritdoc />
    public override string Name => "falcon3";

    /// <inheritdoc />
    public override IReadOnlyList<string> StopStrings { get; } = ["<|endoftext|>", "<|user|>"];

    /// <inheritdoc />
    public override bool IncludesBos => false;

    /// <inheritdoc />
    protected override void RenderMessage(PromptBuilder prompt, ChatRole role, string content)
    {
        prompt.Template(Header(role)).Content(content);
        prompt.Template(role == ChatRole.Assistant ? "<|endoftext|>\n" : "\n");
    }

    /// <inheritdoc />
    protected override void RenderGenerationPrompt(PromptBuilder prompt) => prompt.Template(Header(ChatRole.Assistant));

    private static string Header(ChatRole role) => role switch
    {
        ChatRole.System => "<|system|>\n",
        ChatRole.User => "<|user|>\n",
        _ => "<|assistant|>\n",
    };
}
