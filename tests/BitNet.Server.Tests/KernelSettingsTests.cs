using System.Net.Http.Json;
using System.Text.Json;
using BitNet.Runtime.Kernels;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>The kernel variant and KV storage are settings: the default is the best variant and F16, both can be forced.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class DefaultKernelsTests(DefaultServer server)
{
    [Fact]
    public async Task The_model_card_names_the_best_variant_and_the_cache_is_f16()
    {
        var card = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/models/{server.ModelId}")).RootElement;
        Assert.Equal(KernelSet.Best.Name, card.GetProperty("meta").GetProperty("kernels").GetString());
        Assert.Equal(KvCacheType.F16, server.Host.Engine!.Options.KvCache);
        Assert.NotEqual("Q8_0 (requantized)", server.Host.Engine.Model.Weights.Head.FormatName); // the exact head by default
    }
}

public sealed class ForcedKernelsTests(ScalarKernelsServer server) : IClassFixture<ScalarKernelsServer>
{
    [Fact]
    public async Task Forced_scalar_kernels_and_an_f32_cache_serve_completions()
    {
        var card = JsonDocument.Parse(await server.Client.GetStringAsync($"/v1/models/{server.ModelId}")).RootElement;
        Assert.Equal("scalar", card.GetProperty("meta").GetProperty("kernels").GetString());
        Assert.Equal(KvCacheType.F32, server.Host.Engine!.Options.KvCache);
        Assert.Same(KernelSet.Scalar, server.Host.Engine.Model.Weights.Kernels);

        using var response = await server.Client.PostAsJsonAsync("/v1/completions",
            new { prompt = "Once upon a time", max_tokens = 16, temperature = 0 });
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("choices")[0].GetProperty("text").GetString()));
    }
}

/// <summary>Runs apart from the parallel classes: in one CI run its in-memory host failed to start while many others started.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Q8KvCacheCollection
{
    public const string Name = "q8_0 kv server";
}

[Collection(Q8KvCacheCollection.Name)]
public sealed class Q8KvCacheTests(Q8KvCacheServer server) : IClassFixture<Q8KvCacheServer>
{
    [Fact]
    public async Task A_q8_0_cache_and_head_take_less_memory_and_serve_completions()
    {
        var engine = server.Host.Engine!;
        Assert.Equal("Q8_0 (requantized)", engine.Model.Weights.Head.FormatName);
        Assert.Equal(KvCacheType.Q8_0, engine.Options.KvCache);
        var c = engine.Model.Config;
        long f16 = Runtime.KvCache.KvCachePool.BytesFor(c, 1, engine.ContextLength, KvCacheType.F16);
        Assert.Equal(Runtime.KvCache.KvCachePool.BytesFor(c, 1, engine.ContextLength, KvCacheType.Q8_0), engine.KvBytesPerSlot);
        Assert.True(engine.KvBytesPerSlot < f16 * 0.6, $"{engine.KvBytesPerSlot} vs F16 {f16}");

        using var response = await server.Client.PostAsJsonAsync("/v1/completions",
            new { prompt = "Once upon a time", max_tokens = 24, temperature = 0 });
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.IsSuccessStatusCode, body.ToString());
        Assert.False(string.IsNullOrWhiteSpace(body.GetProperty("choices")[0].GetProperty("text").GetString()));
    }
}
