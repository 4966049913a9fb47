using System.Net;
using BitNet.Server.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BitNet.Server.Tests.Browser;

/// <summary>
/// The real server (Program, the bundled model) on a real Kestrel socket at 127.0.0.1 and a free port, because a
/// browser cannot talk to WebApplicationFactory's in-memory TestServer.
/// </summary>
internal sealed class KestrelServer : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _root;
    private readonly WebApplicationFactory<Program> _factory;

    private KestrelServer(WebApplicationFactory<Program> root, WebApplicationFactory<Program> factory, Uri address)
    {
        _root = root;
        _factory = factory;
        Address = address;
    }

    /// <summary>The base address, e.g. http://127.0.0.1:40123/.</summary>
    public Uri Address { get; }

    public ModelHost Host => _factory.Services.GetRequiredService<ModelHost>();

    /// <summary>Starts the server with extra configuration keys and waits until the model is loaded.</summary>
    public static async Task<KestrelServer> StartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var root = new WebApplicationFactory<Program>();
        var factory = root.WithWebHostBuilder(b =>
        {
            b.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            b.UseSetting("Serilog:MinimumLevel:Override:Microsoft.AspNetCore", "Warning");
            b.UseSetting("Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime", "Warning");
            foreach (var (key, value) in settings ?? new Dictionary<string, string>()) b.UseSetting(key, value);
        });
        // Port 0: the OS picks a free port, so parallel test runs never collide.
        factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        factory.StartServer();

        var addresses = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        string? first = addresses?.FirstOrDefault();
        if (first is null)
        {
            await factory.DisposeAsync();
            await root.DisposeAsync();
            throw new InvalidOperationException("Kestrel started but reported no listening address");
        }

        var server = new KestrelServer(root, factory, new Uri(first.TrimEnd('/') + "/"));
        await server.Host.Loaded.WaitAsync(TimeSpan.FromSeconds(60));
        if (server.Host.State != ModelState.Ready)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"the bundled model did not load: {server.Host.Error}");
        }
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _root.DisposeAsync();
    }
}
