using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests.Startup;

/// <summary>
/// The in-memory host binds no address, so it must not probe the configured one: every server fixture of the suite
/// starts while another process (a real server, a parallel test run) listens on appsettings.json's address.
/// </summary>
public sealed class InMemoryHostTests
{
    private sealed class OneSlotServer : ServerFixture
    {
        protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
        {
            ["BitNet:Parallel"] = "1",
        };
    }

    [Fact]
    public async Task An_in_memory_server_starts_while_the_configured_port_is_taken()
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json")),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var configured = new Uri(settings.RootElement.GetProperty("Urls").GetString()!.Split(';')[0]);
        var holder = new TcpListener(IPAddress.Parse(configured.Host), configured.Port);
        try
        {
            holder.Start();
        }
        catch (SocketException)
        {
            holder = null; // someone else holds it already: the same condition
        }
        try
        {
            var server = new OneSlotServer();
            await server.InitializeAsync();
            try
            {
                var health = await server.Client.GetAsync("/health");
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            }
            finally
            {
                await server.DisposeAsync();
            }
        }
        finally
        {
            holder?.Stop();
        }
    }
}
