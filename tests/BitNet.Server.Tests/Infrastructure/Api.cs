using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BitNet.Server.Tests.Infrastructure;

/// <summary>Small helpers for raw HTTP calls against the OpenAI surface.</summary>
public static class Api
{
    public const string Chat = "/v1/chat/completions";
    public const string Completions = "/v1/completions";

    /// <summary>A chat body with one user message, greedy decoding and a short answer; callers add or override fields.</summary>
    public static JsonObject ChatBody(string user = "Tell me a story about a cat.", int maxTokens = 16) => new()
    {
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = user }),
        ["max_tokens"] = maxTokens,
        ["temperature"] = 0,
    };

    public static JsonObject CompletionBody(string prompt = "Once upon a time", int maxTokens = 16) => new()
    {
        ["prompt"] = prompt,
        ["max_tokens"] = maxTokens,
        ["temperature"] = 0,
    };

    public static Task<HttpResponseMessage> PostAsync(this HttpClient client, string path, JsonNode body, string? apiKey = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken ct = default) =>
        client.PostRawAsync(path, body.ToJsonString(), apiKey, completion, ct);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string body, string? apiKey = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken ct = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client.SendAsync(request, completion, ct);
    }

    /// <summary>Posts and returns the parsed body, failing with the server's answer unless it is 200 JSON.</summary>
    public static async Task<JsonElement> PostOkAsync(this HttpClient client, string path, JsonNode body, string? apiKey = null)
    {
        using var response = await client.PostAsync(path, body, apiKey);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Posts a streaming request and returns the whole SSE body, failing unless it is 200 text/event-stream.</summary>
    public static async Task<string> PostStreamAsync(this HttpClient client, string path, JsonNode body)
    {
        using var response = await client.PostAsync(path, body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}: {text}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return text;
    }

    /// <summary>Asserts an OpenAI-shaped error with the given status and type; returns the "error" object.</summary>
    public static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type, string? code = null)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").Clone();
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.NotEmpty(error.GetProperty("message").GetString()!);
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.True(error.TryGetProperty("param", out _), "the error has no 'param' key");
        var codeElement = error.GetProperty("code");
        Assert.True(codeElement.ValueKind is JsonValueKind.String or JsonValueKind.Null, "'code' must be a string or null");
        if (code is not null) Assert.Equal(code, codeElement.GetString());
        return error;
    }
}
