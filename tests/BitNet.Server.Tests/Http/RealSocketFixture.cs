using BitNet.Server.Tests.Browser;

namespace BitNet.Server.Tests.Http;

/// <summary>The default server on a real Kestrel socket: connection resets only show up over TCP, not in memory.</summary>
public sealed class RealSocketFixture : IAsyncLifetime
{
    internal KestrelServer Server { get; private set; } = null!;

    public Uri Address => Server.Address;

    public async Task InitializeAsync() => Server = await KestrelServer.StartAsync(new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "2",
        ["BitNet:MaxRequestBodyBytes"] = "1048576",
    });

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
    }
}
