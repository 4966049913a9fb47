using System.Net;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests.Ollama;

/// <summary>One allowed browser origin (a web UI served elsewhere).</summary>
public sealed class CorsServer : ServerFixture
{
    public const string Origin = "http://webui.example:3000";

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "2",
        ["BitNet:CorsOrigins:0"] = Origin,
    };
}

/// <summary>The CORS allow-list of /v1 applies to /api and /v1/embeddings: the allowed origin passes, others get no grant.</summary>
public sealed class OllamaCorsTests(CorsServer server) : IClassFixture<CorsServer>
{
    [Theory]
    [InlineData("/api/chat")]
    [InlineData("/api/embed")]
    [InlineData("/v1/embeddings")]
    public async Task A_preflight_from_the_allowed_origin_is_granted(string path)
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, path);
        preflight.Headers.Add("Origin", CorsServer.Origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type,authorization");
        using var response = await server.Client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(CorsServer.Origin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
    }

    [Fact]
    public async Task Only_the_allowed_origin_is_granted_on_a_request()
    {
        using var allowed = new HttpRequestMessage(HttpMethod.Get, "/api/tags");
        allowed.Headers.Add("Origin", CorsServer.Origin);
        using var ok = await server.Client.SendAsync(allowed);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(CorsServer.Origin, Assert.Single(ok.Headers.GetValues("Access-Control-Allow-Origin")));

        using var other = new HttpRequestMessage(HttpMethod.Get, "/api/tags");
        other.Headers.Add("Origin", "http://elsewhere.example");
        using var refused = await server.Client.SendAsync(other);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
