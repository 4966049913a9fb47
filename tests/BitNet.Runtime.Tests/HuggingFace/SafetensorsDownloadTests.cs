using BitNet.Runtime.Download;
using BitNet.Runtime.Model;
using BitNet.Runtime.Tests.Download;

namespace BitNet.Runtime.Tests.HuggingFace;

/// <summary>`hf:owner/repo` for a repository of safetensors (no GGUF): the directory is downloaded and loads as a model.</summary>
public sealed class SafetensorsDownloadTests : IAsyncLifetime
{
    private readonly FakeHub _hub = new();
    private readonly HttpClient _http = new();
    private readonly HfFixtures _fixtures = new();
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "bitnet-dl-tests", Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _hub.DisposeAsync();
        _fixtures.Dispose();
        if (Directory.Exists(_cache)) Directory.Delete(_cache, recursive: true);
    }

    private ModelDownloader Downloader() => new(_http, new ModelDownloadOptions
    {
        HubBaseUrl = _hub.BaseUrl,
        CacheDirectory = _cache,
        ResumeDelay = TimeSpan.Zero,
    });

    private void Publish(string dir)
    {
        foreach (var f in Directory.GetFiles(dir)) _hub.Files[Path.GetFileName(f)] = File.ReadAllBytes(f);
        _hub.Files["README.md"] = "# tiny"u8.ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task SafetensorsRepositoryDownloadsAsALoadableDirectory(int shards)
    {
        Publish(shards == 1 ? HfFixtures.Packed : _fixtures.Variant("sharded", HfFixtures.Packed, shards: shards));
        var reference = ModelReference.Parse("hf:test-org/test-model");
        string dir = await Downloader().EnsureLocalAsync(reference);

        Assert.Equal(Path.Combine(_cache, "test-org", "test-model", "main"), dir);
        foreach (var name in new[] { "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(dir, name)), name);
        Assert.False(File.Exists(Path.Combine(dir, "README.md")));
        Assert.Equal(shards == 1 ? 1 : shards, Directory.GetFiles(dir, "*.safetensors").Length);
        using (var model = BitNetModel.Load(dir))
            Assert.Equal(4, model.Config.Layers);

        // Offline afterwards: the complete cached directory needs no request at all.
        int before = _hub.Requests.Count;
        _hub.TreeStatus = 500;
        Assert.Equal(dir, await Downloader().EnsureLocalAsync(reference));
        Assert.Equal(before, _hub.Requests.Count);
    }

    [Fact]
    public async Task AnIndexNamingAMissingShardIsANotFoundError()
    {
        string dir = _fixtures.Variant("sharded", HfFixtures.Packed, shards: 2);
        Publish(dir);
        _hub.Files.Remove("model-00002-of-00002.safetensors");
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => Downloader().EnsureLocalAsync(ModelReference.Parse("hf:test-org/test-model")));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }
}
