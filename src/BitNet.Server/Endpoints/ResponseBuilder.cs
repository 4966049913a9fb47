using System.Text.Json;
using BitNet.Runtime.Scheduling;
using BitNet.Server.Contracts;

namespace BitNet.Server.Endpoints;

/// <summary>
/// The response object of one POST /v1/responses in each state a client sees: in progress (the first stream events),
/// finished (completed, or incomplete when max_output_tokens or the context cut it), failed. The fields that echo the
/// request (instructions, temperature, text format, metadata) are the same in all of them.
/// </summary>
internal sealed class ResponseBuilder(GenerationRun run, ResponsesRequestData data, string messageId)
{
    private static readonly JsonElement[] None = [];

    public ResponsesRequestData Data => data;

    public string MessageId => messageId;

    public ResponseObject InProgress() => Build("in_progress", [], null, null, null);

    /// <summary>A deadline or disconnect that cut the text reads as a limit, as finish_reason "length" does on chat.</summary>
    public static bool IsCut(FinishReason finish) => finish is FinishReason.Length or FinishReason.Cancelled;

    public ResponseObject Finished(string text, FinishReason finish, GenerationUsage usage) =>
        Finished([Message(IsCut(finish) ? "incomplete" : "completed", text)], IsCut(finish), usage);

    /// <summary>The finished response with its output items (a message, or function calls).</summary>
    public ResponseObject Finished(IReadOnlyList<ResponseOutputItem> output, bool cut, GenerationUsage usage)
    {
        var usageDto = new ResponseUsage(usage.PromptTokens, new InputTokensDetails(usage.CachedTokens), usage.CompletionTokens,
            new OutputTokensDetails(0), usage.PromptTokens + usage.CompletionTokens);
        return Build(cut ? "incomplete" : "completed", output, cut ? new IncompleteDetails("max_output_tokens") : null, null, usageDto);
    }

    /// <summary>A function_call output item; <paramref name="arguments"/> is "" in output_item.added.</summary>
    public static ResponseOutputItem FunctionCall(string id, string callId, string name, string arguments, string status) =>
        new("function_call", id, status, CallId: callId, Name: name, Arguments: arguments);

    public ResponseObject Failed(string partialText, string why) =>
        Build("failed", [Message("incomplete", partialText)], null, new ResponseError("server_error", $"generation failed: {why}"), null);

    /// <summary>The assistant message item; <paramref name="text"/> null = no content part yet (output_item.added).</summary>
    public ResponseOutputItem Message(string status, string? text) =>
        new("message", messageId, status, Role: "assistant", Content: text is null ? [] : [TextPart(text)]);

    public static ResponseContentPart TextPart(string text) => new("output_text", text, None, None);

    private ResponseObject Build(string status, IReadOnlyList<ResponseOutputItem> output, IncompleteDetails? incomplete,
        ResponseError? error, ResponseUsage? usage)
    {
        var s = data.Settings;
        return new ResponseObject(run.Id, "response", run.Created, status, error, incomplete, data.Instructions, s.MaxTokens, run.Model,
            output, ParallelToolCalls: data.Tools?.Parallel ?? true, data.PreviousResponseId, data.Store, s.Sampling.Temperature, s.Sampling.TopP,
            data.Text, ToolChoice: data.ToolChoiceEcho, Tools: data.ToolsEcho, Truncation: "disabled", usage, data.Metadata);
    }
}
