using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests.Ollama;

/// <summary>API keys apply to /api as to /v1, and the 401 is in Ollama's shape; so are the embeddings on /v1.</summary>
public sealed class OllamaAuthTests(AuthServer server) : IClassFixture<AuthServer>
{
    [Theory]
    [InlineData(null)]
    [InlineData("sk-wrong-key")]
    public async Task Ollama_endpoints_need_a_key(string? key)
    {
        foreach (var path in new[] { "/api/tags", "/api/version" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (key is not null) request.Headers.Authorization = new("Bearer", key);
            using var response = await server.Client.SendAsync(request);
            string text = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("API key", JsonDocument.Parse(text).RootElement.GetProperty("error").GetString());
        }
        using var chat = await server.Client.PostAsync("/api/chat", new JsonObject { ["model"] = server.ModelId, ["messages"] = new JsonArray() }, apiKey: key);
        Assert.Equal(HttpStatusCode.Unauthorized, chat.StatusCode);
        using var embeddings = await server.Client.PostAsync("/v1/embeddings", new JsonObject { ["input"] = "hi" }, apiKey: key);
        await Api.AssertErrorAsync(embeddings, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task A_configured_key_passes()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/tags");
        request.Headers.Authorization = new("Bearer", AuthServer.Key1);
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var embed = await server.Client.PostOkAsync("/api/embed", new JsonObject { ["model"] = server.ModelId, ["input"] = "hi" }, apiKey: AuthServer.Key2);
        Assert.Equal(1, embed.GetProperty("embeddings").GetArrayLength());
    }
}
