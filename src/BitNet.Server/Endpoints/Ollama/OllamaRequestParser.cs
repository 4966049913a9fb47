using System.Text.Json;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Sampling;
using BitNet.Server.Contracts;
using BitNet.Server.Options;

namespace BitNet.Server.Endpoints.Ollama;

/// <summary>
/// What an Ollama generation request asks for, validated: the settings the engine understands, plus the limits that
/// depend on the prompt's length (num_predict, num_ctx) and are applied once it is tokenized.
/// </summary>
public sealed record OllamaGeneration(
    string Model, bool Stream, SamplingParameters Sampling, IReadOnlyList<string> Stop, JsonGrammar? Grammar,
    int? NumPredict, int? NumCtx);

/// <summary>
/// Reads Ollama request bodies (/api/chat, /api/generate, /api/embed): top-level fields and the `options` object
/// (Modelfile parameter names). Every problem is a 400 with one line naming the field; options this engine has no use
/// for (num_gpu, num_thread, use_mmap, ...) are accepted and ignored, as Ollama ignores those its runner lacks.
/// </summary>
public static class OllamaRequestParser
{
    public const int MaxStops = 16;

    public static JsonElement RequireObject(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object ? root : throw ApiException.BadRequest("the request body must be a JSON object");

    public static OllamaGeneration ParseGeneration(JsonElement root, ServerOptions o)
    {
        string model = String(root, "model") ?? "";
        bool stream = Bool(root, "stream") ?? true;
        KeepAlive(root);
        if (Bool(root, "think") == true || (Present(root, "think", out var think) && think.ValueKind == JsonValueKind.String))
            throw ApiException.BadRequest($"\"{model}\" does not support thinking", "think");

        var d = o.Sampling;
        JsonElement options = default;
        bool hasOptions = Present(root, "options", out options);
        if (hasOptions && options.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("options must be an object", "options");
        float? Opt(string name, float min, float max) => hasOptions ? Float(options, name, min, max) : null;
        int? OptInt(string name, int min, int max) => hasOptions ? Int(options, name, min, max) : null;

        long? seed = hasOptions ? Long(options, "seed") : null;
        int? numPredict = OptInt("num_predict", -2, o.MaxTokensCap);
        if (numPredict == 0) throw ApiException.BadRequest("options.num_predict must be -1 (until the context is full), -2 or at least 1", "options.num_predict");
        var stop = new List<string>();
        if (hasOptions && Present(options, "stop", out var s))
        {
            if (s.ValueKind == JsonValueKind.String) stop.Add(s.GetString()!);
            else if (s.ValueKind == JsonValueKind.Array && s.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                stop.AddRange(s.EnumerateArray().Select(e => e.GetString()!));
            else throw ApiException.BadRequest("options.stop must be a string or an array of strings", "options.stop");
            stop.RemoveAll(string.IsNullOrEmpty);
            if (stop.Count > MaxStops) throw ApiException.BadRequest($"options.stop may hold at most {MaxStops} strings", "options.stop");
            if (stop.Any(x => x.Length > RequestParser.MaxStopLength))
                throw ApiException.BadRequest($"a stop string may be at most {RequestParser.MaxStopLength} characters", "options.stop");
        }

        var sampling = new SamplingParameters
        {
            Temperature = Opt("temperature", 0, 2) ?? d.Temperature,
            TopP = Opt("top_p", 0, 1) ?? d.TopP,
            TopK = OptInt("top_k", 0, 1 << 20) ?? d.TopK,
            MinP = Opt("min_p", 0, 1) ?? d.MinP,
            RepetitionPenalty = Opt("repeat_penalty", 0.01f, 10) ?? d.RepetitionPenalty,
            PresencePenalty = Opt("presence_penalty", -2, 2) ?? 0,
            FrequencyPenalty = Opt("frequency_penalty", -2, 2) ?? 0,
            // Ollama's seed -1 (its default) means a random seed.
            Seed = seed is { } sd && sd >= 0 ? (ulong)sd : null,
            TopLogprobs = -1,
        };
        return new OllamaGeneration(model, stream, sampling, stop, Format(root), numPredict, OptInt("num_ctx", 1, 1 << 24));
    }

    /// <summary>/api/chat's messages: role and content; images are refused (the model reads text), tool calls need the tools feature.</summary>
    public static List<ChatMessage> Messages(JsonElement root, int maxMessages)
    {
        if (!Present(root, "messages", out var messages)) return [];
        if (messages.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest("messages must be an array", "messages");
        if (messages.GetArrayLength() > maxMessages)
            throw ApiException.BadRequest($"messages has {messages.GetArrayLength()} items; at most {maxMessages} are allowed", "messages");
        var list = new List<ChatMessage>();
        int i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            string p = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{p} must be an object", p);
            string role = String(m, "role", $"{p}.role") ?? throw ApiException.BadRequest($"{p}.role is required", $"{p}.role");
            if (!ChatRoles.Names.Contains(role))
                throw ApiException.BadRequest($"{p}.role '{role}' is not one of {string.Join(", ", ChatRoles.Names)}", $"{p}.role");
            RefuseImages(m, p);
            list.Add(new ChatMessage(role, String(m, "content", $"{p}.content") ?? ""));
        }
        return list;
    }

    public static void RefuseImages(JsonElement e, string where)
    {
        if (Present(e, "images", out var images) && (images.ValueKind != JsonValueKind.Array || images.GetArrayLength() > 0))
            throw ApiException.BadRequest($"{(where.Length > 0 ? where + "." : "")}images: this model reads text only", "images");
    }

    /// <summary>`format`: "json" (any JSON value object) or a JSON schema, through the grammar engine; "" means free text.</summary>
    public static JsonGrammar? Format(JsonElement root)
    {
        if (!Present(root, "format", out var format)) return null;
        if (format.ValueKind == JsonValueKind.String)
        {
            return format.GetString() switch
            {
                "" => null,
                "json" => JsonGrammar.AnyJsonObject(),
                var other => throw ApiException.BadRequest($"invalid format '{other}': use \"json\" or a JSON schema object", "format"),
            };
        }
        if (format.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("format must be \"json\" or a JSON schema object", "format");
        try
        {
            return JsonGrammar.FromSchema(format);
        }
        catch (SchemaNotSupportedException e)
        {
            throw ApiException.BadRequest($"format: {e.Message}", "format", "unsupported_schema");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw ApiException.BadRequest($"format: {e.Message}", "format", "invalid_schema");
        }
    }

    /// <summary>keep_alive is accepted (a duration such as "5m", a number of seconds, -1 or 0): the model is never unloaded.</summary>
    public static void KeepAlive(JsonElement root)
    {
        if (!Present(root, "keep_alive", out var k)) return;
        bool ok = k.ValueKind switch
        {
            JsonValueKind.Number => k.TryGetDouble(out double v) && double.IsFinite(v),
            JsonValueKind.String => System.Text.RegularExpressions.Regex.IsMatch(k.GetString()!, @"^-?\d+(\.\d+)?(ns|us|µs|ms|s|m|h)?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))*$"),
            _ => false,
        };
        if (!ok) throw ApiException.BadRequest("keep_alive must be a duration such as \"5m\" or a number of seconds", "keep_alive");
    }

    public static bool Present(JsonElement root, string name, out JsonElement e) =>
        root.TryGetProperty(name, out e) && e.ValueKind != JsonValueKind.Null;

    public static string? String(JsonElement root, string name, string? param = null)
    {
        if (!Present(root, name, out var e)) return null;
        return e.ValueKind == JsonValueKind.String ? e.GetString() : throw ApiException.BadRequest($"{param ?? name} must be a string", param ?? name);
    }

    public static bool? Bool(JsonElement root, string name)
    {
        if (!Present(root, name, out var e)) return null;
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiException.BadRequest($"{name} must be a boolean", name),
        };
    }

    private static int? Int(JsonElement root, string name, int min, int max)
    {
        if (!Present(root, name, out var e)) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || v != Math.Floor(v))
            throw ApiException.BadRequest($"options.{name} must be an integer", $"options.{name}");
        if (v < min || v > max) throw ApiException.BadRequest($"options.{name} = {e.GetRawText()} is out of range [{min}, {max}]", $"options.{name}");
        return (int)v;
    }

    private static long? Long(JsonElement root, string name)
    {
        if (!Present(root, name, out var e)) return null;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long v)
            ? v
            : throw ApiException.BadRequest($"options.{name} must be a 64-bit integer", $"options.{name}");
    }

    private static float? Float(JsonElement root, string name, float min, float max)
    {
        if (!Present(root, name, out var e)) return null;
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double v) || !double.IsFinite(v))
            throw ApiException.BadRequest($"options.{name} must be a finite number", $"options.{name}");
        if (v < min || v > max) throw ApiException.BadRequest($"options.{name} = {e.GetRawText()} is out of range [{min}, {max}]", $"options.{name}");
        return (float)v;
    }
}
