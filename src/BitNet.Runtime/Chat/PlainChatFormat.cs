namespace BitNet.Runtime.Chat;

/// <summary>
/// A plain-text transcript for base (non-chat) models, which have never seen special turn tokens but have read
/// plenty of dialogue:
/// <code>
/// {system}\n\n
/// User: {u1}\n
/// Assistant: {a1}\n
/// User: {u2}\n
/// Assistant:
/// </code>
/// The generation prompt ends with "Assistant:" and no space, so the model writes " word" tokens as BPE
/// vocabularies prefer; that colon invites a small model to write another, so chat answers never start with closing
/// punctuation (the engine and the CLI mask <see cref="Tokenization.TextTokenizer.AnswerStartExclusions"/> until the
/// first visible character). "\nUser:" is the stop string that ends the turn when the model starts the next line
/// of the transcript by itself. No special segments: the caller adds BOS as for a raw completion.
/// </summary>
public sealed class PlainChatFormat : ChatFormat
{
    /// <summary>The one instance.</summary>
    public static PlainChatFormat Instance { get; } = new();

    private PlainChatFormat() { }

    /// <inheritdoc />
    public override string Name => "plain";

    /// <inheritdoc />
    public override IReadOnlyList<string> StopStrings { get; } = ["\nUser:"];

    /// <inheritdoc />
    public override bool IncludesBos => false;

    /// <inheritdoc />
    protected override void RenderMessage(PromptBuilder prompt, ChatRole role, string content)
    {
        switch (role)
        {
            case ChatRole.System:
                prompt.Content(content).Content("\n\n");
                break;
            case ChatRole.User:
                prompt.Content("User: ").Content(content).Content("\n");
                break;
            default:
                prompt.Content("Assistant: ").Content(content).Content("\n");
                break;
        }
    }

    /// <summary>A transcript line of its own: <c>Tool: {result}\n</c>.</summary>
    protected override void RenderToolResult(PromptBuilder prompt, string content) =>
        prompt.Content("Tool: ").Content(content).Content("\n");

    /// <inheritdoc />
    protected override void RenderGenerationPrompt(PromptBuilder prompt) => prompt.Content("Assistant:");
}
