using BitNet.Server.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace BitNet.Server.Tests.Infrastructure;

/// <summary>
/// One in-memory server (WebApplicationFactory over the real Program and the bundled model) per configuration,
/// shared by the tests of a class or collection: loading the model once keeps the suite fast. Derived fixtures only
/// name their settings.
/// </summary>
public abstract class ServerFixture : IAsyncLifetime
{
    private readonly WebApplicationFactory<Program> _root = new();

    protected ServerFixture()
    {
        Factory = _root.WithWebHostBuilder(b =>
        {
            // Quiet logs: the test output should show failures, not every request.
            b.UseSetting("Serilog:MinimumLevel:Default", "Warning");
            b.UseSetting("Serilog:MinimumLevel:Override:Microsoft.AspNetCore", "Warning");
            b.UseSetting("Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime", "Warning");
            foreach (var (key, value) in Settings) b.UseSetting(key, value);
        });
    }

    /// <summary>Configuration keys of this server (e.g. "BitNet:Parallel" = "8").</summary>
    protected abstract IReadOnlyDictionary<string, string> Settings { get; }

    public WebApplicationFactory<Program> Factory { get; }

    /// <summary>The hosted model runtime (its engine, tokenizer and model id).</summary>
    public ModelHost Host => Factory.Services.GetRequiredService<ModelHost>();

    /// <summary>A client of the in-memory server; HttpClient is thread-safe, so tests may share it.</summary>
    public HttpClient Client { get; private set; } = null!;

    public string ModelId => Host.ModelId;

    public async Task InitializeAsync()
    {
        Client = Factory.CreateClient();
        await Host.Loaded.WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
        await _root.DisposeAsync();
    }
}

/// <summary>The bundled model with 8 KV slots and the default queue.</summary>
public sealed class DefaultServer : ServerFixture
{
    public const int Parallel = 8;

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = Parallel.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>The collection of test classes that share <see cref="DefaultServer"/> (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class DefaultServerCollection : ICollectionFixture<DefaultServer>
{
    public const string Name = "default server";
}

/// <summary>Authentication on, with two accepted keys.</summary>
public sealed class AuthServer : ServerFixture
{
    public const string Key1 = "sk-test-first-key", Key2 = "sk-test-second-key";

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "2",
        ["BitNet:ApiKeys:0"] = Key1,
        ["BitNet:ApiKeys:1"] = Key2,
    };
}

/// <summary>One KV slot and no waiting room: a second concurrent request is refused with 429.</summary>
public sealed class SingleSlotServer : ServerFixture
{
    public const int RetryAfterSeconds = 3;

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "1",
        ["BitNet:MaxQueuedRequests"] = "0",
        ["BitNet:RetryAfterSeconds"] = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// An `hf:` model whose hub cannot be reached: the server starts (a download happens after start-up), then says why on
/// /health and answers 503. A local model that cannot be used never gets this far (see StartupTests).
/// </summary>
public sealed class UnreachableHubServer : ServerFixture
{
    public const string Reference = "hf:bitnet-tests/missing-model";

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Model"] = Reference,
        ["BitNet:HubBaseUrl"] = "http://127.0.0.1:1",
        ["BitNet:CacheDirectory"] = Path.Combine(Path.GetTempPath(), "bitnet-tests-unreachable-hub"),
    };
}

/// <summary>BitNet:StrictModelNames on: a model name other than the alias is 404 model_not_found.</summary>
public sealed class StrictModelNamesServer : ServerFixture
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "2",
        ["BitNet:StrictModelNames"] = "true",
    };
}

/// <summary>The scalar kernels and an F32 KV cache, forced by settings.</summary>
public sealed class ScalarKernelsServer : ServerFixture
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "2",
        ["BitNet:Kernels"] = "scalar",
        ["BitNet:KvCacheType"] = "f32",
    };
}

/// <summary>A Q8_0 KV cache, chosen by setting.</summary>
public sealed class Q8KvCacheServer : ServerFixture
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["BitNet:Parallel"] = "2",
        ["BitNet:KvCacheType"] = "Q8_0",
        ["BitNet:Head"] = "q8_0",
    };
}
