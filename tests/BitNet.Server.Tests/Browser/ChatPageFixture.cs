namespace BitNet.Server.Tests.Browser;

/// <summary>The default server on a real socket and one headless Chromium, shared by the tests of <see cref="ChatPageTests"/>.</summary>
public sealed class ChatPageFixture : IAsyncLifetime
{
    internal KestrelServer Server { get; private set; } = null!;
    internal Chromium Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Chromium first: when it is missing, that is the failure to report, not anything about the server.
        Browser = await Chromium.LaunchAsync();
        Server = await KestrelServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Server is not null) await Server.DisposeAsync();
        if (Browser is not null) await Browser.DisposeAsync();
    }
}
