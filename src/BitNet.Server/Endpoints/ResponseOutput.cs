using System.Security.Cryptography;
using System.Text;
using BitNet.Runtime.Chat;
using BitNet.Server.Contracts;

namespace BitNet.Server.Endpoints;

/// <summary>
/// Builds the output items of one response from its text as it arrives, and (streamed) the events that announce
/// them: a message item (output_item.added, content_part.added, output_text.delta, output_text.done,
/// content_part.done, output_item.done) or, with tools, one function_call item per call (output_item.added with
/// arguments "", function_call_arguments.delta, function_call_arguments.done, output_item.done), in output order.
/// Not streamed, the events go nowhere. The calls are read by the chat endpoint's <see cref="ToolCallAnswer"/>.
/// </summary>
internal sealed class ResponseOutput(ResponseBuilder response, ToolCallAnswer? tools, Func<ResponseStreamEvent, Task> send)
{
    private enum Open { Nothing, Message, Call }

    private readonly List<ResponseOutputItem> _items = [];
    private readonly List<ChatToolCall> _calls = [];
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _arguments = new();
    private Open _open;
    private string _callItemId = "", _callName = "";
    private int _callIndex;

    public ToolCallAnswer? Tools => tools;

    /// <summary>The message text so far.</summary>
    public string Text => _text.ToString();

    /// <summary>The finished output items.</summary>
    public IReadOnlyList<ResponseOutputItem> Items => _items;

    /// <summary>The assistant turn a follow-up continues: its text and calls.</summary>
    public ChatMessage Answer() => new("assistant", _text.ToString()) { ToolCalls = _calls.Count > 0 ? [.. _calls] : null };

    /// <summary>Announces the message item before any text (the endpoint without tools does, as OpenAI streams).</summary>
    public async Task OpenMessageAsync()
    {
        if (_open == Open.Message) return;
        await CloseAsync(cut: false);
        _open = Open.Message;
        await send(new("response.output_item.added", 0, OutputIndex: _items.Count, Item: response.Message("in_progress", null)));
        await send(new("response.content_part.added", 0, ItemId: response.MessageId, OutputIndex: _items.Count, ContentIndex: 0,
            Part: ResponseBuilder.TextPart("")));
    }

    /// <summary>A delta of generated text: parsed for calls with tools, else message text.</summary>
    public async Task PushAsync(string delta)
    {
        if (tools is null) await TextAsync(delta);
        else await PartsAsync(tools.Push(delta));
    }

    /// <summary>The text has ended: closes the open item; a response with no item gets an empty message.</summary>
    public async Task FinishAsync(bool cut)
    {
        if (tools is not null) await PartsAsync(tools.Finish());
        if (_items.Count == 0 && _open == Open.Nothing) await OpenMessageAsync();
        await CloseAsync(cut);
    }

    private async Task PartsAsync(IReadOnlyList<ToolCallPart> parts)
    {
        foreach (var part in parts)
        {
            switch (part.Kind)
            {
                case ToolCallPartKind.Content:
                    await TextAsync(part.Text);
                    break;
                case ToolCallPartKind.CallStarted:
                    await CloseAsync(cut: false);
                    _open = Open.Call;
                    _callIndex = part.Index;
                    _callName = part.Text;
                    _callItemId = "fc_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
                    _arguments.Clear();
                    await send(new("response.output_item.added", 0, OutputIndex: _items.Count,
                        Item: ResponseBuilder.FunctionCall(_callItemId, tools!.IdOf(_callIndex), _callName, "", "in_progress")));
                    break;
                default:
                    if (part.Text.Length == 0) break;
                    _arguments.Append(part.Text);
                    await send(new("response.function_call_arguments.delta", 0, ItemId: _callItemId, OutputIndex: _items.Count, Delta: part.Text));
                    break;
            }
        }
    }

    private async Task TextAsync(string delta)
    {
        if (delta.Length == 0) return;
        await OpenMessageAsync();
        _text.Append(delta);
        await send(new("response.output_text.delta", 0, ItemId: response.MessageId, OutputIndex: _items.Count, ContentIndex: 0,
            Delta: delta, Logprobs: []));
    }

    private async Task CloseAsync(bool cut)
    {
        string status = cut ? "incomplete" : "completed";
        int index = _items.Count;
        switch (_open)
        {
            case Open.Message:
                var message = response.Message(status, _text.ToString());
                await send(new("response.output_text.done", 0, ItemId: response.MessageId, OutputIndex: index, ContentIndex: 0,
                    Text: _text.ToString(), Logprobs: []));
                await send(new("response.content_part.done", 0, ItemId: response.MessageId, OutputIndex: index, ContentIndex: 0,
                    Part: message.Content![0]));
                await send(new("response.output_item.done", 0, OutputIndex: index, Item: message));
                _items.Add(message);
                break;
            case Open.Call:
                string arguments = _arguments.ToString();
                string callId = tools!.IdOf(_callIndex);
                var call = ResponseBuilder.FunctionCall(_callItemId, callId, _callName, arguments, status);
                await send(new("response.function_call_arguments.done", 0, ItemId: _callItemId, OutputIndex: index, Arguments: arguments));
                await send(new("response.output_item.done", 0, OutputIndex: index, Item: call));
                _items.Add(call);
                _calls.Add(new ChatToolCall(callId, _callName, arguments));
                break;
        }
        _open = Open.Nothing;
    }
}
