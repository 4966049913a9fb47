using BitNet.Runtime.Grammar;
using System.Text.Json;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Sampling;
using BitNet.Server.Contracts;
using BitNet.Server.Options;

namespace BitNet.Server.Endpoints;

/// <summary>Fields shared by chat and text completions, validated.</summary>
public sealed record GenerationSettings(
    string? Model, bool Stream, bool IncludeUsage, int? MaxTokens, int N, IReadOnlyList<string> Stop,
    SamplingParameters Sampling, bool Logprobs, int TopLogprobs, double? TimeoutSeconds, JsonGrammar? Grammar = null);

public sealed record ChatRequestData(GenerationSettings Settings, IReadOnlyList<ChatMessage> Messages, ToolSettings? Tools = null);

public sealed record CompletionRequestData(GenerationSettings Settings, string? PromptText, int[]? PromptTokens);

/// <summary>
/// Reads OpenAI request bodies by hand so that every problem becomes a precise 400 naming the field (wrong type,
/// out of range, NaN, too many items) and unknown fields are ignored. Nothing here can produce a 500.
/// </summary>
public static class RequestParser
{
    public const int MaxStopStrings = 4;
    public const int MaxStopLength = 256;
    public const int MaxLogitBias = 1024;

    public static ChatRequestData ParseChat(JsonElement root, ServerOptions options)
    {
        RequireObject(root);
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest("'messages' is required and must be an array", "messages");
        if (messages.GetArrayLength() == 0) throw ApiException.BadRequest("'messages' must not be empty", "messages");
        if (messages.GetArrayLength() > options.MaxMessages)
            throw ApiException.BadRequest($"'messages' has {messages.GetArrayLength()} items; at most {options.MaxMessages} are allowed", "messages");
        var list = new List<ChatMessage>(messages.GetArrayLength());
        int i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            string p = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"'{p}' must be an object", p);
            string role = m.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String
                ? r.GetString()!
                : throw ApiException.BadRequest($"'{p}.role' is required and must be a string", $"{p}.role");
            if (!ChatRoles.Names.Contains(role))
                throw ApiException.BadRequest($"'{p}.role' = '{role}' is not one of {string.Join(", ", ChatRoles.Names)}", $"{p}.role");
            list.Add(ToolRequestParser.WithToolFields(new ChatMessage(role, ReadContent(m, p)), m, p));
        }
        var settings = ReadSettings(root, options, chat: true);
        // Tools: the answer is generated under the tool-call grammar (see ToolRequestParser).
        var tools = ToolRequestParser.Parse(root, list, structuredOutput: settings.Grammar is not null);
        if (tools?.Grammar is { } toolGrammar) settings = settings with { Grammar = toolGrammar };
        return new ChatRequestData(settings, list, tools);
    }

    public static CompletionRequestData ParseCompletion(JsonElement root, ServerOptions options)
    {
        RequireObject(root);
        if (!root.TryGetProperty("prompt", out var prompt))
            throw ApiException.BadRequest("'prompt' is required", "prompt");
        string? text = null;
        int[]? tokens = null;
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                text = prompt.GetString();
                break;
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String:
                text = prompt[0].GetString();
                break;
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number):
                tokens = prompt.EnumerateArray().Select(e => e.TryGetInt32(out int t) && t >= 0
                    ? t : throw ApiException.BadRequest("'prompt' token ids must be non-negative integers", "prompt")).ToArray();
                break;
            case JsonValueKind.Array when prompt.GetArrayLength() > 1:
                throw ApiException.BadRequest("only one prompt per request is supported; send the prompts as separate requests", "prompt");
            default:
                throw ApiException.BadRequest("'prompt' must be a string, an array with one string, or an array of token ids", "prompt");
        }
        return new CompletionRequestData(ReadSettings(root, options, chat: false), text, tokens);
    }

    internal static void RequireObject(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("the request body must be a JSON object");
    }

    private static string ReadContent(JsonElement m, string p)
    {
        if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return "";
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest($"'{p}.content' must be a string or an array of content parts", $"{p}.content");
        var parts = new List<string>();
        int j = 0;
        foreach (var part in c.EnumerateArray())
        {
            string pp = $"{p}.content[{j++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"'{pp}' must be an object with a 'type'", pp);
            if (type.GetString() != "text")
                throw ApiException.BadRequest($"'{pp}.type' = '{type.GetString()}' is not supported; this model reads text only", $"{pp}.type");
            if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"'{pp}.text' must be a string", $"{pp}.text");
            parts.Add(text.GetString()!);
        }
        return ChatMessage.JoinTextParts(parts);
    }

    private static GenerationSettings ReadSettings(JsonElement root, ServerOptions o, bool chat)
    {
        var d = o.Sampling;
        string? model = String(root, "model");
        bool stream = Bool(root, "stream") ?? false;
        bool includeUsage = false;
        if (root.TryGetProperty("stream_options", out var so) && so.ValueKind != JsonValueKind.Null)
        {
            if (so.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'stream_options' must be an object", "stream_options");
            includeUsage = Bool(so, "include_usage", "stream_options.include_usage") ?? false;
        }
        int? maxTokens = Int(root, "max_completion_tokens", 1, o.MaxTokensCap) ?? Int(root, "max_tokens", 1, o.MaxTokensCap);
        int n = Int(root, "n", 1, o.Parallel) ?? 1;
        float temperature = Float(root, "temperature", 0, 2) ?? d.Temperature;
        float topP = Float(root, "top_p", 0, 1) ?? d.TopP;
        int topK = Int(root, "top_k", 0, 1 << 20) ?? d.TopK;
        float minP = Float(root, "min_p", 0, 1) ?? d.MinP;
        float repetition = Float(root, "repetition_penalty", 0.01f, 10) ?? Float(root, "repeat_penalty", 0.01f, 10) ?? d.RepetitionPenalty;
        float presence = Float(root, "presence_penalty", -2, 2) ?? 0;
        float frequency = Float(root, "frequency_penalty", -2, 2) ?? 0;
        long? seed = Long(root, "seed");
        double? timeout = Float(root, "timeout", 0.001f, 86400);

        bool logprobs;
        int topLogprobs;
        if (chat)
        {
            logprobs = Bool(root, "logprobs") ?? false;
            topLogprobs = Int(root, "top_logprobs", 0, SamplingParameters.MaxTopLogprobs) ?? 0;
            if (topLogprobs > 0 && !logprobs) throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
        }
        else
        {
            // Legacy completions: logprobs is an integer 0..5 (the number of alternatives).
            int? lp = Int(root, "logprobs", 0, 5);
            logprobs = lp is not null;
            topLogprobs = lp ?? 0;
        }

        var stop = new List<string>();
        if (root.TryGetProperty("stop", out var s) && s.ValueKind != JsonValueKind.Null)
        {
            if (s.ValueKind == JsonValueKind.String) stop.Add(s.GetString()!);
            else if (s.ValueKind == JsonValueKind.Array)
            {
                if (s.GetArrayLength() > MaxStopStrings) throw ApiException.BadRequest($"'stop' may hold at most {MaxStopStrings} strings", "stop");
                foreach (var e in s.EnumerateArray())
                    stop.Add(e.ValueKind == JsonValueKind.String ? e.GetString()! : throw ApiException.BadRequest("'stop' must contain strings", "stop"));
            }
            else throw ApiException.BadRequest("'stop' must be a string or an array of strings", "stop");
            stop.RemoveAll(string.IsNullOrEmpty);
            if (stop.Any(x => x.Length > MaxStopLength))
                throw ApiException.BadRequest($"a stop string may be at most {MaxStopLength} characters", "stop");
        }

        Dictionary<int, float>? bias = null;
        if (root.TryGetProperty("logit_bias", out var lb) && lb.ValueKind != JsonValueKind.Null)
        {
            if (lb.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("'logit_bias' must be an object mapping token ids to numbers", "logit_bias");
            bias = [];
            foreach (var prop in lb.EnumerateObject())
            {
                if (bias.Count >= MaxLogitBias) throw ApiException.BadRequest($"'logit_bias' may hold at most {MaxLogitBias} entries", "logit_bias");
                if (!int.TryParse(prop.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                    throw ApiException.BadRequest($"'logit_bias' key '{Truncate(prop.Name)}' is not a token id", "logit_bias");
                if (prop.Value.ValueKind != JsonValueKind.Number || !prop.Value.TryGetDouble(out double v) || !double.IsFinite(v) || v < -100 || v > 100)
                    throw ApiException.BadRequest($"'logit_bias[{id}]' must be a number in [-100, 100]", "logit_bias");
                bias[id] = (float)v;
            }
        }

        JsonGrammar? grammar = null;
        if (root.TryGetProperty("response_format", out var rf) && rf.ValueKind != JsonValueKind.Null)
            grammar = ResponseFormat(rf);

        var sampling = new SamplingParameters
        {
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
            MinP = minP,
            RepetitionPenalty = repetition,
            PresencePenalty = presence,
            FrequencyPenalty = frequency,
            LogitBias = bias,
            Seed = seed is { } sd ? unchecked((ulong)sd) : null,
            TopLogprobs = logprobs ? topLogprobs : -1,
        };
        return new GenerationSettings(model, stream, includeUsage, maxTokens, n, stop, sampling, logprobs, topLogprobs, timeout, grammar);
    }

    /// <summary>Compiled schemas by text, shared by every endpoint: SDK helpers send the same schema on each request.</summary>
    internal static readonly JsonGrammarCache Grammars = new(JsonGrammarCache.DefaultCapacity);

    /// <summary>A JSON Schema compiled (or found) in <see cref="Grammars"/>; what it cannot enforce is a 400 naming the keyword.</summary>
    internal static JsonGrammar CompileSchema(JsonElement schema, string where, string param)
    {
        try
        {
            return Grammars.FromSchema(schema);
        }
        catch (SchemaNotSupportedException e)
        {
            throw ApiException.BadRequest($"{where}: {e.Message}", param, "unsupported_schema");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw ApiException.BadRequest($"{where}: {e.Message}", param, "invalid_schema");
        }
    }

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "..." : s;

    private static bool Present(JsonElement root, string name, out JsonElement e) =>
        root.TryGetProperty(name, out e) && e.ValueKind != JsonValueKind.Null;

    internal static string? String(JsonElement root, string name, string? param = null)
    {
        if (!Present(root, name, out var e)) return null;
        return e.ValueKind == JsonValueKind.String ? e.GetString() : throw ApiException.BadRequest($"'{param ?? name}' must be a string", param ?? name);
    }

    internal static bool? Bool(JsonElement root, string name, string? param = null)
    {
        if (!Present(root, name, out var e)) return null;
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadRequest($"'{param ?? name}' must be a boolean", param ?? name),
        };
    }

    internal static int? Int(JsonElement root, string name, int min, int max)
    {
        if (!Present(root, name, out var e)) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || v != Math.Floor(v))
            throw ApiException.BadRequest($"'{name}' must be an integer", name);
        if (v < min || v > max) throw ApiException.BadRequest($"'{name}' = {e.GetRawText()} is out of range [{min}, {max}]", name);
        return (int)v;
    }

    internal static long? Long(JsonElement root, string name)
    {
        if (!Present(root, name, out var e)) return null;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long v)
            ? v
            : throw ApiException.BadRequest($"'{name}' must be a 64-bit integer", name);
    }

    internal static float? Float(JsonElement root, string name, float min, float max)
    {
        if (!Present(root, name, out var e)) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v))
            throw ApiException.BadRequest($"'{name}' must be a finite number", name);
        if (v < min || v > max) throw ApiException.BadRequest($"'{name}' = {e.GetRawText()} is out of range [{min}, {max}]", name);
        return (float)v;
    }

    /// <summary>
    /// `response_format`: text (free), json_object (any JSON object) or json_schema ({name, schema, strict}) compiled into
    /// a grammar; a schema feature the grammar cannot enforce is a 400 naming the keyword and where it is.
    /// </summary>
    private static JsonGrammar? ResponseFormat(JsonElement rf)
    {
        string? type = rf.ValueKind == JsonValueKind.Object ? String(rf, "type", "response_format.type") : null;
        if (type is null) throw ApiException.BadRequest("'response_format' must be an object with a 'type'", "response_format");
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return Grammars.AnyJsonObject();
            case "json_schema":
                if (!rf.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest("'response_format.json_schema' must be an object with a 'schema'", "response_format");
                if (!js.TryGetProperty("schema", out var schema) || schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True))
                    throw ApiException.BadRequest("'response_format.json_schema.schema' must be a JSON Schema object", "response_format");
                return CompileSchema(schema, "response_format.json_schema", "response_format");
            default:
                throw ApiException.BadRequest($"response_format '{type}' is not one of text, json_object, json_schema", "response_format");
        }
    }
}
