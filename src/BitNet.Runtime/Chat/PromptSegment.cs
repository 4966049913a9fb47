namespace BitNet.Runtime.Chat;

/// <summary>
/// A piece of a rendered prompt. Template text may contain special tokens (<paramref name="AllowSpecial"/> = true:
/// "&lt;|eot_id|&gt;" becomes token 128009); message content may not (false: the same characters are tokenized as
/// ordinary text), so a user cannot forge turns.
/// <para>
/// Segment boundaries are not token boundaries: a tokenizer must join consecutive text between special tokens
/// before BPE, or "User: " + "Hi" would tokenize as " ", "Hi" instead of " Hi" as the model was trained.
/// </para>
/// </summary>
public readonly record struct PromptSegment(string Text, bool AllowSpecial);

/// <summary>Collects prompt segments, merging neighbours of the same kind and dropping empty text.</summary>
public sealed class PromptBuilder
{
    private readonly List<PromptSegment> _segments = [];

    /// <summary>Appends template text, in which special-token texts are recognized.</summary>
    public PromptBuilder Template(string text) => Add(text, allowSpecial: true);

    /// <summary>Appends message content, which is always ordinary text.</summary>
    public PromptBuilder Content(string text) => Add(text, allowSpecial: false);

    /// <summary>The segments so far.</summary>
    public IReadOnlyList<PromptSegment> Build() => _segments.ToArray();

    private PromptBuilder Add(string text, bool allowSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return this;
        int last = _segments.Count - 1;
        if (last >= 0 && _segments[last].AllowSpecial == allowSpecial)
            _segments[last] = new PromptSegment(_segments[last].Text + text, allowSpecial);
        else
            _segments.Add(new PromptSegment(text, allowSpecial));
        return this;
    }
}
