using System.Security.Cryptography;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Scheduling;
using BitNet.Server.Contracts;

namespace BitNet.Server.Endpoints;

/// <summary>
/// One choice of a chat answer generated with tools: reads its text as it arrives (<see cref="ToolCallParser"/>),
/// gives each call its id, and says what the response shows: <c>message.tool_calls</c> with <c>content: null</c>
/// and finish_reason "tool_calls", or plain content.
/// </summary>
public sealed class ToolCallAnswer
{
    private readonly ToolCallParser _parser = new();
    private readonly List<ToolCallPart> _parts = [];
    private readonly List<string> _ids = [];

    /// <summary>Tokens generated for this choice (to tell a budget cut from an end-of-generation).</summary>
    public int Tokens { get; set; }

    /// <summary>Parses a text delta; the parts are valid until the next call.</summary>
    public IReadOnlyList<ToolCallPart> Push(string text)
    {
        _parts.Clear();
        _parser.Push(text, _parts);
        NameNewCalls();
        return _parts;
    }

    /// <summary>The text has ended: releases anything held back; the parts are valid until the next call.</summary>
    public IReadOnlyList<ToolCallPart> Finish()
    {
        _parts.Clear();
        _parser.Finish(_parts);
        NameNewCalls();
        return _parts;
    }

    /// <summary>The id of call <paramref name="index"/> (<c>call_</c> and 24 hex digits).</summary>
    public string IdOf(int index) => _ids[index];

    /// <summary>The streamed delta of one parsed part.</summary>
    public ChatDelta Delta(ToolCallPart part) => part.Kind switch
    {
        ToolCallPartKind.Content => new ChatDelta(Content: part.Text),
        ToolCallPartKind.CallStarted => new ChatDelta(ToolCalls: [new ToolCallDeltaDto(part.Index, IdOf(part.Index), "function", new FunctionDeltaDto(part.Text, ""))]),
        _ => new ChatDelta(ToolCalls: [new ToolCallDeltaDto(part.Index, null, null, new FunctionDeltaDto(null, part.Text))]),
    };

    /// <summary>The whole message, after <see cref="Finish"/>.</summary>
    public ChatMessageDto Message()
    {
        if (_parser.Calls.Count == 0) return new ChatMessageDto("assistant", _parser.Content.ToString());
        var calls = new ToolCallDto[_parser.Calls.Count];
        for (int i = 0; i < calls.Length; i++)
            calls[i] = new ToolCallDto(IdOf(i), "function", new FunctionCallDto(_parser.Calls[i].Name, _parser.Calls[i].Arguments.ToString()));
        return new ChatMessageDto("assistant", null, calls);
    }

    /// <summary>
    /// "tool_calls" when every call is complete. Otherwise the engine's reason, except that plain text which used
    /// the whole budget (<paramref name="limitReached"/>) is "length": the grammar lets free text end anywhere, so the
    /// engine sees a complete value there and says stop.
    /// </summary>
    public string FinishReason(FinishReason engine, bool limitReached)
    {
        var calls = _parser.Calls;
        if (calls.Count > 0 && calls.All(c => c.Complete)) return "tool_calls";
        if (engine == Runtime.Scheduling.FinishReason.Stop && limitReached) return "length";
        return GenerationService.FinishReasonText(engine);
    }

    private void NameNewCalls()
    {
        while (_ids.Count < _parser.Calls.Count) _ids.Add("call_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)));
    }
}
