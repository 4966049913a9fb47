using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace BitNet.Runtime.Chat;

/// <summary>What <see cref="ToolCallParser"/> found in a piece of answer text.</summary>
public enum ToolCallPartKind
{
    /// <summary>Plain answer text (the answer is not a tool call).</summary>
    Content,
    /// <summary>A call's function name is known; <see cref="ToolCallPart.Text"/> is the name.</summary>
    CallStarted,
    /// <summary>A fragment of a call's arguments JSON; the fragments of one call concatenate to its arguments.</summary>
    Arguments,
}

/// <summary>One item of parsed answer text: content, the start of call <see cref="Index"/>, or a piece of its arguments.</summary>
public readonly record struct ToolCallPart(ToolCallPartKind Kind, int Index, string Text);

/// <summary>A call read from the answer: its function name and arguments JSON; <see cref="Complete"/> once its object closed.</summary>
public sealed class ParsedToolCall(string name)
{
    public string Name { get; } = name;
    public StringBuilder Arguments { get; } = new();
    public bool Complete { get; internal set; }
}

/// <summary>
/// Reads an answer written in the <see cref="ToolPrompt"/> syntax as it streams, text piece by text piece:
/// either plain content, or marked calls (<c>&lt;tool_call&gt;{"name":"x","arguments":{...}}</c>, several one after
/// another). It decides by the first non-blank characters: as long as they could still be the marker they are held
/// back, then released as content or consumed as a call. Call arguments come out as they arrive, so a streaming
/// response can forward them at once. The grammar (<see cref="Grammar.JsonGrammar.ForToolCallAnswer"/>) guarantees
/// the shape; text that breaks it anyway (a stop string, a cut) ends parsing quietly: nothing here throws.
/// Not thread-safe; one per answer.
/// </summary>
public sealed partial class ToolCallParser
{
    private const int MaxHeadLength = 512;

    private enum Mode { Undecided, Text, Head, Arguments, Tail, Between, Broken }

    private readonly string _marker;
    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _head = new();
    private readonly StringBuilder _fragment = new();
    private readonly List<ParsedToolCall> _calls = [];
    private Mode _mode = Mode.Undecided;
    private int _matched;
    private int _depth;
    private bool _inString, _escaped;

    /// <param name="marker">The text that opens a call (<see cref="ToolPrompt.CallMarker"/>).</param>
    public ToolCallParser(string marker = ToolPrompt.CallMarker)
    {
        ArgumentException.ThrowIfNullOrEmpty(marker);
        _marker = marker;
    }

    /// <summary>The calls read so far, in order.</summary>
    public IReadOnlyList<ParsedToolCall> Calls => _calls;

    /// <summary>The answer is plain content (decided by its first characters).</summary>
    public bool IsContent => _mode == Mode.Text;

    /// <summary>Content released so far (empty when the answer is calls).</summary>
    public StringBuilder Content { get; } = new();

    /// <summary>Parses <paramref name="text"/> and appends what it completes to <paramref name="parts"/>.</summary>
    public void Push(string text, List<ToolCallPart> parts)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(parts);
        for (int i = 0; i < text.Length; i++)
        {
            if (_mode == Mode.Text)
            {
                EmitContent(text[i..], parts);
                break;
            }
            Consume(text[i], parts);
        }
        FlushArguments(parts);
    }

    /// <summary>The answer ended: text still held back (a blank answer, or a prefix of the marker) is content.</summary>
    public void Finish(List<ToolCallPart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        FlushArguments(parts);
        if (_mode != Mode.Undecided) return;
        _mode = Mode.Text;
        EmitContent(_pending.ToString(), parts);
        _pending.Clear();
    }

    private void Consume(char c, List<ToolCallPart> parts)
    {
        switch (_mode)
        {
            case Mode.Undecided:
                _pending.Append(c);
                if (_matched == 0 && char.IsWhiteSpace(c)) return;
                if (c == _marker[_matched])
                {
                    if (++_matched < _marker.Length) return;
                    _pending.Clear();
                    StartHead();
                    return;
                }
                _mode = Mode.Text;
                EmitContent(_pending.ToString(), parts);
                _pending.Clear();
                return;
            case Mode.Head:
                if (!char.IsWhiteSpace(c) && HeadPattern().Match(_head.ToString()) is { Success: true } head)
                {
                    string name = Unescape(head.Groups["name"].Value);
                    _calls.Add(new ParsedToolCall(name));
                    parts.Add(new ToolCallPart(ToolCallPartKind.CallStarted, _calls.Count - 1, name));
                    _mode = Mode.Arguments;
                    _depth = 0;
                    _inString = _escaped = false;
                    Consume(c, parts);
                    return;
                }
                _head.Append(c);
                if (_head.Length > MaxHeadLength) _mode = Mode.Broken;
                return;
            case Mode.Arguments:
                _fragment.Append(c);
                _calls[^1].Arguments.Append(c);
                if (_inString)
                {
                    if (_escaped) _escaped = false;
                    else if (c == '\\') _escaped = true;
                    else if (c == '"') _inString = false;
                    return;
                }
                if (c == '"') _inString = true;
                else if (c is '{' or '[') _depth++;
                else if (c is '}' or ']') _depth--;
                else if (_depth == 0 && !char.IsWhiteSpace(c)) _mode = Mode.Broken; // arguments are always an object
                if (_depth == 0 && _mode == Mode.Arguments) _mode = Mode.Tail;
                return;
            case Mode.Tail:
                if (char.IsWhiteSpace(c)) return;
                if (c == '}')
                {
                    FlushArguments(parts);
                    _calls[^1].Complete = true;
                    _mode = Mode.Between;
                    _matched = 0;
                }
                else _mode = Mode.Broken;
                return;
            case Mode.Between:
                if (_matched == 0 && char.IsWhiteSpace(c)) return;
                if (c != _marker[_matched])
                {
                    _mode = Mode.Broken;
                    return;
                }
                if (++_matched == _marker.Length) StartHead();
                return;
        }
    }

    private void StartHead()
    {
        _mode = Mode.Head;
        _head.Clear();
        _matched = 0;
    }

    private void FlushArguments(List<ToolCallPart> parts)
    {
        if (_fragment.Length == 0) return;
        parts.Add(new ToolCallPart(ToolCallPartKind.Arguments, _calls.Count - 1, _fragment.ToString()));
        _fragment.Clear();
    }

    private void EmitContent(string text, List<ToolCallPart> parts)
    {
        if (text.Length == 0) return;
        Content.Append(text);
        // Neighbouring content merges into one part per Push.
        if (parts.Count > 0 && parts[^1].Kind == ToolCallPartKind.Content)
            parts[^1] = parts[^1] with { Text = parts[^1].Text + text };
        else
            parts.Add(new ToolCallPart(ToolCallPartKind.Content, 0, text));
    }

    private static string Unescape(string jsonStringBody)
    {
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes("\"" + jsonStringBody + "\""));
            return reader.Read() ? reader.GetString() ?? jsonStringBody : jsonStringBody;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { return jsonStringBody; }
    }

    /// <summary>Everything of a call object up to its arguments value: <c>{"name": "x", "arguments":</c> with optional whitespace.</summary>
    [GeneratedRegex("""^\s*\{\s*"name"\s*:\s*"(?<name>(?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*$""", RegexOptions.CultureInvariant)]
    private static partial Regex HeadPattern();
}
