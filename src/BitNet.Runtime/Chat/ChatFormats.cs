namespace BitNet.Runtime.Chat;

/// <summary>The built-in chat formats, by name, and detection from GGUF metadata.</summary>
public static class ChatFormats
{
    private static readonly ChatFormat[] All =
    [
        BitNetChatFormat.Instance,
        Llama3ChatFormat.Instance,
        ChatMlChatFormat.Instance,
        Falcon3ChatFormat.Instance,
        PlainChatFormat.Instance,
    ];

    /// <summary>Names accepted by <see cref="Get"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.ConvertAll(All, f => f.Name);

    /// <summary>The format called <paramref name="name"/> (case-insensitive); ArgumentException listing the valid names otherwise.</summary>
    public static ChatFormat Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var format in All)
            if (format.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) return format;
        throw new ArgumentException($"unknown chat format '{name}'; valid names: {string.Join(", ", Names)}", nameof(name));
    }

    /// <summary>
    /// Picks the format for a model from its GGUF <c>general.architecture</c> and <c>tokenizer.chat_template</c>:
    /// <list type="number">
    /// <item>bitnet-b1.58 / bitnet-25, or a template containing the official file's "BITNETAssistant" placeholder: bitnet-2b4t;</item>
    /// <item>a template using &lt;|start_header_id|&gt;: llama3;</item>
    /// <item>a template using &lt;|im_start|&gt;: chatml;</item>
    /// <item>a template using &lt;|assistant|&gt; and &lt;|user|&gt; (Falcon3, Falcon-E): falcon3;</item>
    /// <item>otherwise plain.</item>
    /// </list>
    /// A format is chosen only if <paramref name="hasToken"/> confirms the special tokens it writes exist in the
    /// vocabulary; otherwise they would be tokenized as text and detection falls through to the next rule.
    /// </summary>
    public static ChatFormat Detect(string? architecture, string? chatTemplate, Func<string, bool> hasToken)
    {
        ArgumentNullException.ThrowIfNull(hasToken);
        bool bitnetArchitecture = architecture is "bitnet-b1.58" or "bitnet-25";
        bool bitnetTemplate = chatTemplate?.Contains("BITNETAssistant", StringComparison.Ordinal) == true;

        if ((bitnetArchitecture || bitnetTemplate) && HasAll(hasToken, "<|begin_of_text|>", "<|eot_id|>"))
            return BitNetChatFormat.Instance;
        if (chatTemplate?.Contains("<|start_header_id|>", StringComparison.Ordinal) == true &&
            HasAll(hasToken, "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"))
            return Llama3ChatFormat.Instance;
        if (chatTemplate?.Contains("<|im_start|>", StringComparison.Ordinal) == true &&
            HasAll(hasToken, "<|im_start|>", "<|im_end|>"))
            return ChatMlChatFormat.Instance;
        if (chatTemplate?.Contains("<|assistant|>", StringComparison.Ordinal) == true &&
            chatTemplate.Contains("<|user|>", StringComparison.Ordinal) &&
            HasAll(hasToken, "<|system|>", "<|user|>", "<|assistant|>"))
            return Falcon3ChatFormat.Instance;
        return PlainChatFormat.Instance;
    }

    private static bool HasAll(Func<string, bool> hasToken, params ReadOnlySpan<string> tokens)
    {
        foreach (string token in tokens)
            if (!hasToken(token)) return false;
        return true;
    }
}
