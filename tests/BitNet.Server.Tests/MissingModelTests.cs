using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>An `hf:` model that cannot be downloaded: the server still starts, says why on /health and answers 503 (not 500).</summary>
public sealed class MissingModelTests(UnreachableHubServer server) : IClassFixture<UnreachableHubServer>
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Health_is_503_with_the_reason()
    {
        using var response = await _client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("error", body.GetProperty("status").GetString());
        string message = body.GetProperty("error").GetProperty("message").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(message));
    }

    [Fact]
    public async Task Api_calls_are_503_unavailable()
    {
        using var chat = await _client.PostAsync(Api.Chat, Api.ChatBody(maxTokens: 2));
        var error = await Api.AssertErrorAsync(chat, HttpStatusCode.ServiceUnavailable, "unavailable");
        Assert.Contains("failed to load", error.GetProperty("message").GetString());

        using var stream = await _client.PostAsync(Api.Chat, Api.ChatBody(maxTokens: 2).With("stream", true));
        await Api.AssertErrorAsync(stream, HttpStatusCode.ServiceUnavailable, "unavailable");

        using var completion = await _client.PostAsync(Api.Completions, Api.CompletionBody(maxTokens: 2));
        await Api.AssertErrorAsync(completion, HttpStatusCode.ServiceUnavailable, "unavailable");

        using var models = await _client.GetAsync("/v1/models");
        await Api.AssertErrorAsync(models, HttpStatusCode.ServiceUnavailable, "unavailable");

        using var tokenize = await _client.PostAsync("/tokenize", new JsonObject { ["content"] = "hi" });
        await Api.AssertErrorAsync(tokenize, HttpStatusCode.ServiceUnavailable, "unavailable");
    }
}
