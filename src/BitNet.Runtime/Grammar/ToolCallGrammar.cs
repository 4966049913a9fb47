namespace BitNet.Runtime.Grammar;

/// <summary>
/// Grammars for chat answers that call tools, as the server's prompt format writes them: each call is a marker
/// (e.g. <c>&lt;tool_call&gt;</c>) followed by <c>{"name": "&lt;tool&gt;", "arguments": {...}}</c>. The marker is
/// what tells a reader (and the streaming parser) that a call starts, before any JSON has been written.
/// </summary>
public sealed partial class JsonGrammar
{
    /// <summary>
    /// An answer made of tool calls, or (with <paramref name="allowText"/>) free text instead:
    /// <code>
    /// answer = ws ( calls | text )                 text only with allowText
    /// calls  = marker ws call ( ws marker ws call )*   the repetition only with parallel
    /// call   = {"name": "&lt;one of tools&gt;", "arguments": &lt;valid under that tool's parameters&gt;}
    /// text   = any text that does not begin with whitespace or with the marker (it may contain it later)
    /// </code>
    /// With <paramref name="allowText"/> (OpenAI tool_choice "auto") the model chooses by its first characters: once
    /// they spell the marker, the rest must be valid calls, with budget steering as for any value. Without it
    /// (tool_choice "required" or a named function) the marker is forced and the answer is calls only. Free text is
    /// complete at every point, so end-of-generation is allowed anywhere in it; a call is complete after its closing
    /// brace. Empty text (end-of-generation first) is a valid answer with allowText.
    /// </summary>
    /// <param name="tools">The tools the model may call (for a named function, just that one).</param>
    /// <param name="marker">ASCII text that opens a call; must not start with whitespace.</param>
    /// <param name="parallel">Allow several calls, one after another, each with its own marker.</param>
    /// <param name="allowText">Allow a plain-text answer instead of calls.</param>
    /// <param name="options">Whitespace and number limits inside the JSON.</param>
    /// <exception cref="SchemaNotSupportedException">A parameter schema uses an unsupported keyword.</exception>
    public static JsonGrammar ForToolCallAnswer(IReadOnlyList<ToolSchema> tools, string marker, bool parallel, bool allowText, GrammarOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tools);
        ArgumentNullException.ThrowIfNull(marker);
        if (tools.Count == 0) throw new ArgumentException("at least one tool is needed", nameof(tools));
        if (marker.Length == 0 || marker.Any(c => c > 0x7E || c < 0x21))
            throw new ArgumentException("the marker must be printable ASCII without whitespace", nameof(marker));
        var effective = options ?? GrammarOptions.Default;
        return Build(options, json =>
        {
            var b = json.Builder;
            int marked = b.Sequence(b.Literal(marker), json.Whitespace, ToolCallObject(json, effective, tools));
            int calls = parallel ? b.Sequence(marked, b.Star(b.Sequence(json.Whitespace, marked))) : marked;
            return allowText ? b.Choice(calls, TextNotStartingWith(b, marker)) : calls;
        });
    }

    /// <summary><c>{"name": "&lt;tool&gt;", "arguments": {...}}</c> for any one of <paramref name="tools"/> (keys in that order).</summary>
    internal static int ToolCallObject(JsonSyntax json, GrammarOptions options, IReadOnlyList<ToolSchema> tools)
    {
        var b = json.Builder;
        var calls = new List<int>(tools.Count);
        foreach (var tool in tools)
        {
            int arguments = SchemaCompiler.Compile(json, options, tool.Parameters);
            calls.Add(b.Sequence(b.Byte((byte)'{'), json.Whitespace,
                json.Member(b.Literal("\"name\""), b.Literal(JsonSyntax.Quote(tool.Name))), json.Whitespace, b.Byte((byte)','), json.Whitespace,
                json.Member(b.Literal("\"arguments\""), arguments), json.Whitespace, b.Byte((byte)'}')));
        }
        return b.Choice(calls);
    }

    /// <summary>
    /// Text (any scalars, tab and line breaks included) whose first character is not whitespace and which does not
    /// begin with <paramref name="marker"/>: either it is empty, or it starts with neither whitespace nor the marker's first
    /// character, or it spells a proper prefix of the marker and then ends or leaves it. The leading whitespace rule
    /// keeps the choice unambiguous: <c>"  &lt;tool_call&gt;"</c> is always a call, never text.
    /// </summary>
    private static int TextNotStartingWith(GrammarBuilder b, string marker)
    {
        int rest = b.Star(TextChar(b, ""));
        var alternatives = new List<int> { b.Empty(), b.Sequence(TextChar(b, " \t\n\r" + marker[0]), rest) };
        for (int k = 1; k < marker.Length; k++)
            alternatives.Add(b.Sequence(b.Literal(marker[..k]), b.Optional(b.Sequence(TextChar(b, marker[k].ToString()), rest))));
        return b.Choice(alternatives);
    }

    /// <summary>One character of free text: tab, LF, CR or any scalar from U+0020, as raw UTF-8, except the ASCII characters in <paramref name="excluded"/>.</summary>
    private static int TextChar(GrammarBuilder b, string excluded)
    {
        var sequences = new List<(byte Low, byte High)[]>();
        int start = 0x20;
        foreach (char c in excluded.Where(c => c >= 0x20).Distinct().Order())
        {
            Utf8Ranges.Append(start, c - 1, sequences);
            start = c + 1;
        }
        Utf8Ranges.Append(start, 0x10FFFF, sequences);
        var alternatives = new List<int>();
        var controls = ByteSet.OfChars(new string("\t\n\r".Where(c => !excluded.Contains(c)).ToArray()));
        if (!controls.IsEmpty) alternatives.Add(b.Terminal(controls));
        foreach (var sequence in sequences)
        {
            var symbols = new int[sequence.Length];
            for (int i = 0; i < sequence.Length; i++) symbols[i] = b.Terminal(ByteSet.Range(sequence[i].Low, sequence[i].High));
            alternatives.Add(b.Sequence(symbols));
        }
        return b.Choice(alternatives);
    }
}
