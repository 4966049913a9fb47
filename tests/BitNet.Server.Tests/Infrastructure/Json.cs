using System.Text.Json;
using System.Text.Json.Nodes;

namespace BitNet.Server.Tests.Infrastructure;

/// <summary>Reading OpenAI responses in tests.</summary>
public static class Json
{
    /// <summary>The model's end-of-sequence token (SentencePiece &lt;/s&gt;).</summary>
    public const int EndOfSequence = 2;

    /// <summary>The model's BOS &lt;s&gt;: generated between stories, it ends a completion too.</summary>
    public const int BeginOfSequence = 1;

    /// <summary>A -100 logit bias on both end-of-generation tokens (EOS, BOS) keeps a completion going to max_tokens.</summary>
    public static JsonObject BanEndOfSequence(this JsonObject body)
    {
        body["logit_bias"] = new JsonObject { ["2"] = -100, ["1"] = -100 };
        return body;
    }

    public static JsonObject With(this JsonObject body, string key, JsonNode? value)
    {
        body[key] = value;
        return body;
    }

    public static JsonElement Choice(this JsonElement response, int index = 0) => response.GetProperty("choices")[index];

    /// <summary>choices[i].message.content of a chat completion.</summary>
    public static string Content(this JsonElement response, int index = 0) =>
        response.Choice(index).GetProperty("message").GetProperty("content").GetString()!;

    public static string FinishReason(this JsonElement response, int index = 0) =>
        response.Choice(index).GetProperty("finish_reason").GetString()!;

    public static int Usage(this JsonElement response, string field) => response.GetProperty("usage").GetProperty(field).GetInt32();

    public static int CachedTokens(this JsonElement response) =>
        response.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32();

    public static JsonArray Messages(params (string Role, string Content)[] messages) =>
        new(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray());
}
