using System.Net;
using System.Text;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests.Http;

/// <summary>
/// Unknown routes and wrong methods answer with an OpenAI-shaped JSON error (the SDKs otherwise report "404 status
/// code (no body)"), and a body sent to any route is read or refused with a status, never answered with a reset.
/// </summary>
public sealed class RouteErrorTests(RealSocketFixture fixture) : IClassFixture<RealSocketFixture>
{
    /// <summary>A fresh client per test: a connection the server closed must not leak into the next test.</summary>
    private HttpClient NewClient() => new() { BaseAddress = fixture.Address, Timeout = TimeSpan.FromSeconds(60) };

    [Theory]
    [InlineData("GET", "/v1/audio/speech")]
    [InlineData("POST", "/v1/audio/speech")]
    [InlineData("POST", "/v1/responses")]
    [InlineData("POST", "/v1/chat/completion")]
    [InlineData("GET", "/v2/models")]
    public async Task An_unknown_route_is_a_json_404(string method, string path)
    {
        using var client = NewClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = new StringContent("{\"model\":\"x\",\"input\":\"hi\"}", Encoding.UTF8, "application/json");
        using var response = await client.SendAsync(request);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "invalid_request_error", "not_found");
        Assert.Contains(path, error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("GET", "/v1/chat/completions")]
    [InlineData("GET", "/v1/completions")]
    [InlineData("POST", "/v1/models")]
    [InlineData("GET", "/v1/embeddings")]
    [InlineData("DELETE", "/health")]
    public async Task A_wrong_method_is_a_json_405_with_allow(string method, string path)
    {
        using var client = NewClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        using var response = await client.SendAsync(request);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed, "invalid_request_error", "method_not_allowed");
        Assert.Contains(method, error.GetProperty("message").GetString());
        Assert.NotEmpty(response.Content.Headers.Allow);
    }

    [Theory]
    [InlineData("/health", HttpStatusCode.MethodNotAllowed)]
    [InlineData("/v1/models", HttpStatusCode.MethodNotAllowed)]
    [InlineData("/v1/audio/speech", HttpStatusCode.NotFound)]
    public async Task A_700_KB_body_on_a_route_that_does_not_read_it_still_gets_its_status(string path, HttpStatusCode status)
    {
        using var client = NewClient();
        for (int i = 0; i < 3; i++) // and the connection stays usable
        {
            using var response = await client.PostAsync(path, new ByteArrayContent(new byte[700 * 1024]));
            Assert.Equal(status, response.StatusCode);
            Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync());
        }
    }

    [Theory]
    [InlineData("POST", "/health", 405, 20)]
    [InlineData("POST", "/v1/audio/speech", 404, 20)]
    [InlineData("GET", "/health", 200, 20)]
    public async Task A_700_KB_body_sent_in_pieces_is_read_before_the_answer(string method, string path, int status, int pauseMs)
    {
        // Raw TCP, the body in 64 KB pieces with pauses, as a slow client sends it: a server that answers and closes
        // before reading it makes these writes fail (broken pipe / reset) and the status is lost.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(fixture.Address.Host, fixture.Address.Port);
        var stream = tcp.GetStream();
        const int length = 700 * 1024;
        string head = $"{method} {path} HTTP/1.1\r\nHost: {fixture.Address.Authority}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var piece = new byte[64 * 1024];
        for (int sent = 0; sent < length; sent += piece.Length)
        {
            await stream.WriteAsync(piece.AsMemory(0, Math.Min(piece.Length, length - sent)));
            await Task.Delay(pauseMs);
        }
        using var reader = new StreamReader(stream, Encoding.ASCII);
        string? statusLine = await reader.ReadLineAsync();
        Assert.Equal($"HTTP/1.1 {status}", statusLine?[..12]);
    }

    [Theory]
    [InlineData("POST", "/v1/chat/completions", 413)]
    [InlineData("POST", "/health", 405)]
    [InlineData("POST", "/v1/audio/speech", 404)]
    public async Task A_body_several_times_over_the_limit_sent_whole_still_gets_its_status(string method, string path, int status)
    {
        // 6 MB against the 1 MiB limit, written in full before reading, as most HTTP libraries do: the server must
        // read and discard what it refuses, or the kernel resets the connection and the status never arrives.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(fixture.Address.Host, fixture.Address.Port);
        var stream = tcp.GetStream();
        const int length = 6 << 20;
        string head = $"{method} {path} HTTP/1.1\r\nHost: {fixture.Address.Authority}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var piece = new byte[64 * 1024];
        Array.Fill(piece, (byte)'a');
        for (int sent = 0; sent < length; sent += piece.Length) await stream.WriteAsync(piece);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        string? statusLine = await reader.ReadLineAsync();
        Assert.Equal($"HTTP/1.1 {status}", statusLine?[..12]);
    }

    [Fact]
    public async Task A_700_KB_body_on_a_get_route_that_ignores_it_is_read()
    {
        using var client = NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health") { Content = new ByteArrayContent(new byte[700 * 1024]) };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_not_a_reset()
    {
        using var client = NewClient();
        var body = Api.ChatBody(new string('a', 1500 * 1024), 4);
        using var response = await client.PostAsync(Api.Chat, body);
        await Api.AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
    }
}
