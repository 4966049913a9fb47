using System.Text;
using System.Text.Json;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Scheduling;
using Microsoft.Extensions.AI;
using RuntimeChat = BitNet.Runtime.Chat;

namespace BitNet.Extensions.AI;

/// <summary>
/// Turns Microsoft.Extensions.AI messages and <see cref="ChatOptions"/> into an engine request: roles onto the model's
/// chat format, options onto <see cref="SamplingParameters"/>, a JSON response format onto the grammar engine. Every
/// mistake is an <see cref="ArgumentException"/> (or <see cref="NotSupportedException"/> for a feature this client
/// lacks) with one line naming the option or message, thrown before anything reaches the engine.
/// </summary>
internal sealed class ChatRequestMapper(InferenceEngine engine, RuntimeChat.ChatFormat format, BitNetChatClientOptions defaults)
{
    /// <summary>Additional property read as min-p (the server's <c>min_p</c>).</summary>
    public const string MinPProperty = "min_p";

    /// <summary>Additional property read as the llama.cpp repetition penalty (the server's <c>repetition_penalty</c>).</summary>
    public const string RepetitionPenaltyProperty = "repetition_penalty";

    public GenerationRequest Map(IEnumerable<ChatMessage> messages, ChatOptions? options, string id, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (options?.Tools is { Count: > 0 })
            throw new NotSupportedException("ChatOptions.Tools: BitNetChatClient does not call tools; send the request without tools");

        var conversation = ToConversation(messages, options?.Instructions);
        var tokenizer = engine.Tokenizer;
        var segments = format.Render(conversation, addGenerationPrompt: true);
        int[] prompt = tokenizer.Encode(segments, addBos: !format.IncludesBos && tokenizer.AddBos);

        int context = engine.ContextLength;
        int room = context - prompt.Length;
        if (room <= 0)
            throw new ArgumentException($"the conversation is {prompt.Length} tokens; the context holds {context}", nameof(messages));
        int maxTokens = options?.MaxOutputTokens switch
        {
            null => Math.Min(defaults.DefaultMaxOutputTokens, room),
            < 1 and var m => throw new ArgumentException($"ChatOptions.MaxOutputTokens must be at least 1, got {m}", nameof(options)),
            > 0 and var m when m > room => throw new ArgumentException(
                $"the conversation is {prompt.Length} tokens and ChatOptions.MaxOutputTokens is {m}: together more than the context of {context} tokens",
                nameof(options)),
            var m => m.Value,
        };

        var (stopStrings, stopTokens) = Stops(options?.StopSequences);
        return new GenerationRequest
        {
            Id = id,
            PromptTokens = prompt,
            MaxTokens = maxTokens,
            Sampling = Sampling(options),
            StopStrings = stopStrings,
            StopTokens = stopTokens,
            ChatAnswer = true,
            Grammar = Grammar(options?.ResponseFormat),
            Cancellation = cancellation,
        };
    }

    /// <summary>
    /// M.E.AI roles onto the runtime's (system, user, assistant, tool; the chat format decides what it can express).
    /// A message's text is the concatenation of its <see cref="TextContent"/> items, as <see cref="ChatMessage.Text"/>
    /// defines it; reasoning from earlier turns is not replayed.
    /// </summary>
    internal static List<RuntimeChat.ChatMessage> ToConversation(IEnumerable<ChatMessage> messages, string? instructions)
    {
        var conversation = new List<RuntimeChat.ChatMessage>();
        if (!string.IsNullOrEmpty(instructions)) conversation.Add(new("system", instructions));
        int i = 0;
        var text = new StringBuilder();
        foreach (var message in messages)
        {
            if (message is null) throw new ArgumentException($"message {i} is null", nameof(messages));
            string role = message.Role.Value;
            if (!RuntimeChat.ChatRoles.Names.Contains(role, StringComparer.OrdinalIgnoreCase))
                throw new ArgumentException(
                    $"message {i}: role '{role}' is not one of {string.Join(", ", RuntimeChat.ChatRoles.Names)}", nameof(messages));
            text.Clear();
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent t:
                        text.Append(t.Text);
                        break;
                    case TextReasoningContent or UsageContent:
                        break;
                    default:
                        throw new NotSupportedException(
                            $"message {i} holds {content.GetType().Name}; BitNetChatClient reads text only (TextContent)");
                }
            }
            conversation.Add(new(role.ToLowerInvariant(), text.ToString()));
            i++;
        }
        if (conversation.Count == 0) throw new ArgumentException("a chat request needs at least one message", nameof(messages));
        return conversation;
    }

    /// <summary>ChatOptions onto the defaults; out-of-range values name the ChatOptions property.</summary>
    internal SamplingParameters Sampling(ChatOptions? options)
    {
        var d = defaults.DefaultSampling;
        if (options is null) return d;
        if (options.Temperature is > 2f)
            throw new ArgumentException($"ChatOptions.Temperature must be in [0, 2], got {options.Temperature}", nameof(options));
        var sampling = d with
        {
            Temperature = options.Temperature ?? d.Temperature,
            TopP = options.TopP ?? d.TopP,
            TopK = options.TopK ?? d.TopK,
            FrequencyPenalty = options.FrequencyPenalty ?? d.FrequencyPenalty,
            PresencePenalty = options.PresencePenalty ?? d.PresencePenalty,
            Seed = options.Seed is { } seed ? unchecked((ulong)seed) : d.Seed,
            MinP = Extra(options, MinPProperty) ?? d.MinP,
            RepetitionPenalty = Extra(options, RepetitionPenaltyProperty) ?? d.RepetitionPenalty,
        };
        try
        {
            sampling.Validate(engine.Model.Config.Vocab);
        }
        catch (ArgumentException e)
        {
            string where = e.ParamName switch
            {
                nameof(SamplingParameters.MinP) => $"ChatOptions.AdditionalProperties[\"{MinPProperty}\"]: ",
                nameof(SamplingParameters.RepetitionPenalty) => $"ChatOptions.AdditionalProperties[\"{RepetitionPenaltyProperty}\"]: ",
                _ => "ChatOptions.",
            };
            throw new ArgumentException(where + BareMessage(e), nameof(options), e);
        }
        return sampling;
    }

    /// <summary>The message without the " (Parameter 'x')" suffix, for rethrowing under the caller's parameter.</summary>
    internal static string BareMessage(ArgumentException e)
    {
        string suffix = $" (Parameter '{e.ParamName}')";
        return e.ParamName is not null && e.Message.EndsWith(suffix, StringComparison.Ordinal) ? e.Message[..^suffix.Length] : e.Message;
    }

    private static float? Extra(ChatOptions options, string key)
    {
        if (options.AdditionalProperties is not { } extra || !extra.TryGetValue(key, out object? value) || value is null) return null;
        try
        {
            return value is JsonElement { ValueKind: JsonValueKind.Number } json
                ? json.GetSingle()
                : Convert.ToSingle(value, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException or InvalidOperationException)
        {
            throw new ArgumentException($"ChatOptions.AdditionalProperties[\"{key}\"] must be a number, got {value}", nameof(options), e);
        }
    }

    /// <summary>
    /// The caller's stop sequences plus the chat format's end-of-turn markers. A marker that is a special token of the
    /// vocabulary stops as that token: control tokens never appear as text, so as a stop string it could never match.
    /// </summary>
    private (List<string> Strings, List<int> Tokens) Stops(IList<string>? requested)
    {
        var strings = new List<string>();
        if (requested is not null)
            foreach (string stop in requested)
                if (!string.IsNullOrEmpty(stop) && !strings.Contains(stop)) strings.Add(stop);
        var tokenizer = engine.Tokenizer;
        var tokens = new List<int>(tokenizer.EndOfGenerationIds);
        foreach (string marker in format.StopStrings)
        {
            if (tokenizer.TryGetSpecialTokenId(marker, out int special)) { if (!tokens.Contains(special)) tokens.Add(special); }
            else if (!strings.Contains(marker)) strings.Add(marker);
        }
        return (strings, tokens);
    }

    /// <summary>Text: free; Json without a schema: any JSON object; Json with a schema: that schema, compiled.</summary>
    internal static JsonGrammar? Grammar(ChatResponseFormat? responseFormat)
    {
        switch (responseFormat)
        {
            case null or ChatResponseFormatText:
                return null;
            case ChatResponseFormatJson { Schema: null }:
                return JsonGrammar.AnyJsonObject();
            case ChatResponseFormatJson { Schema: { } schema }:
                try
                {
                    return JsonGrammar.FromSchema(schema);
                }
                catch (SchemaNotSupportedException)
                {
                    throw;      // names the keyword and where it is; callers may catch it by type
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
                {
                    throw new ArgumentException($"ChatOptions.ResponseFormat: invalid JSON schema: {(e is ArgumentException a ? BareMessage(a) : e.Message)}",
                        nameof(responseFormat), e);
                }
            default:
                throw new NotSupportedException($"ChatOptions.ResponseFormat {responseFormat.GetType().Name} is not supported; use Text or Json");
        }
    }
}
