using System.Net;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>Bearer API keys: /v1 and the tokenizer endpoints need one of the configured keys; /health and /metrics stay open.</summary>
public sealed class AuthTests(AuthServer server) : IClassFixture<AuthServer>
{
    private readonly HttpClient _client = server.Client;

    [Theory]
    [InlineData(null)]
    [InlineData("sk-wrong-key")]
    [InlineData("")]
    public async Task Missing_or_wrong_keys_are_401(string? key)
    {
        using var chat = await _client.PostAsync(Api.Chat, Api.ChatBody(maxTokens: 2), apiKey: key);
        await Api.AssertErrorAsync(chat, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
        Assert.Contains(chat.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");

        using var models = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        if (key is not null) models.Headers.Authorization = new("Bearer", key);
        using var modelsResponse = await _client.SendAsync(models);
        await Api.AssertErrorAsync(modelsResponse, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");

        using var tokenize = await _client.PostAsync("/tokenize", new JsonObject { ["content"] = "hi" }, apiKey: key);
        await Api.AssertErrorAsync(tokenize, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
    }

    [Theory]
    [InlineData(AuthServer.Key1)]
    [InlineData(AuthServer.Key2)]
    public async Task Each_configured_key_passes(string key)
    {
        var r = await _client.PostOkAsync(Api.Chat, Api.ChatBody(maxTokens: 2), apiKey: key);
        Assert.Equal("chat.completion", r.GetProperty("object").GetString());

        using var models = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        models.Headers.Authorization = new("Bearer", key);
        using var response = await _client.SendAsync(models);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Health_and_metrics_need_no_key()
    {
        using var health = await _client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var metrics = await _client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }
}
