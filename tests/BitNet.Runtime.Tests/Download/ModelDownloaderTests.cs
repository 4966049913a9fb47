using BitNet.Runtime.Download;

namespace BitNet.Runtime.Tests.Download;

/// <summary>The downloader against a real HTTP server on 127.0.0.1 (see <see cref="FakeHub"/>).</summary>
public sealed class ModelDownloaderTests : IAsyncLifetime
{
    private const string ModelFile = "ggml-model-i2_s.gguf";
    private static readonly byte[] Content = MakeContent(300_000, seed: 42);

    private readonly FakeHub _hub = new();
    private readonly HttpClient _http = new();
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "bitnet-dl-tests", Guid.NewGuid().ToString("N"));

    public ModelDownloaderTests() => _hub.Files[ModelFile] = Content;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _hub.DisposeAsync();
        if (Directory.Exists(_cache)) Directory.Delete(_cache, recursive: true);
    }

    private ModelDownloader Downloader(string? hubUrl = null, string? token = null, int maxResumes = 3, TimeSpan? stall = null) =>
        new(_http, new ModelDownloadOptions
        {
            HubBaseUrl = hubUrl ?? _hub.BaseUrl,
            CacheDirectory = _cache,
            Token = token,
            MaxResumeAttempts = maxResumes,
            ResumeDelay = TimeSpan.Zero,
            StallTimeout = stall ?? TimeSpan.FromSeconds(30),
        });

    private static ModelReference Ref(string file = ModelFile) => ModelReference.HuggingFace("test-org", "test-model", file);

    private string CachePath(string file = ModelFile) => Path.Combine(_cache, "test-org", "test-model", "main", file);

    [Fact]
    public async Task FreshDownload_WritesVerifiedFileSidecarAndReportsProgress()
    {
        var reports = new List<DownloadProgress>();
        string path = await Downloader().EnsureLocalAsync(Ref(), new SyncProgress(reports.Add));

        Assert.Equal(CachePath(), path);
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.False(File.Exists(path + ".part"));
        Assert.Equal($"{FakeHub.Sha256Hex(Content)}  {ModelFile}\n", await File.ReadAllTextAsync(path + ".sha256"));
        var files = _hub.FileRequests;
        Assert.Single(files);
        Assert.Null(files[0].Header("Range"));
        Assert.Null(files[0].Header("Authorization"));
        Assert.Contains(_hub.Requests, r => r.Path == "/api/models/test-org/test-model/tree/main");
        Assert.NotEmpty(reports);
        Assert.Equal(new DownloadProgress(ModelFile, Content.Length, Content.Length, reports[^1].BytesPerSecond), reports[^1]);
        Assert.True(reports[^1].BytesPerSecond > 0);
        Assert.Equal(1.0, reports[^1].Fraction);
    }

    [Fact]
    public async Task CutConnection_ResumesAutomaticallyWithRange()
    {
        _hub.CutNextBodies(100_000);
        string path = await Downloader().EnsureLocalAsync(Ref());

        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        var files = _hub.FileRequests;
        Assert.Equal(2, files.Count);
        Assert.Null(files[0].Header("Range"));
        Assert.Equal("bytes=100000-", files[1].Header("Range"));
        Assert.Equal(206, files[1].Status);
    }

    [Fact]
    public async Task CutConnection_KeepsPart_NextCallResumesByteIdentical()
    {
        _hub.CutNextBodies(123_457);
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => Downloader(maxResumes: 0).EnsureLocalAsync(Ref()));
        Assert.Equal(ModelDownloadFailure.Interrupted, e.Failure);
        Assert.Contains("run the same command again to resume", e.Message);
        Assert.Equal(123_457, new FileInfo(CachePath() + ".part").Length);
        Assert.False(File.Exists(CachePath()));

        string path = await Downloader(maxResumes: 0).EnsureLocalAsync(Ref());
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        var files = _hub.FileRequests;
        Assert.Equal(2, files.Count);
        Assert.Equal("bytes=123457-", files[1].Header("Range"));
        Assert.False(File.Exists(path + ".part"));
    }

    [Fact]
    public async Task ResumeAgainstServerIgnoringRange_RestartsFromZero()
    {
        // A stale part with wrong bytes: appending the full body to it would fail the checksum.
        Directory.CreateDirectory(Path.GetDirectoryName(CachePath())!);
        await File.WriteAllBytesAsync(CachePath() + ".part", MakeContent(50_000, seed: 7));
        _hub.IgnoreRange = true;

        string path = await Downloader().EnsureLocalAsync(Ref());

        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        var file = Assert.Single(_hub.FileRequests);
        Assert.Equal("bytes=50000-", file.Header("Range"));
        Assert.Equal(200, file.Status);
    }

    [Fact]
    public async Task CompletePart_416_IsVerifiedAndMovedWithoutRedownload()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CachePath())!);
        await File.WriteAllBytesAsync(CachePath() + ".part", Content);
        _hub.TreeStatus = 404; // no size known up front: the 416 alone says the part is complete

        string path = await Downloader().EnsureLocalAsync(Ref());

        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        var file = Assert.Single(_hub.FileRequests);
        Assert.Equal($"bytes={Content.Length}-", file.Header("Range"));
        Assert.Equal(416, file.Status);
    }

    [Fact]
    public async Task PartLargerThanFile_416_StartsOver()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CachePath())!);
        await File.WriteAllBytesAsync(CachePath() + ".part", MakeContent(Content.Length + 10, seed: 3));
        _hub.TreeStatus = 404;

        string path = await Downloader().EnsureLocalAsync(Ref());

        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        var files = _hub.FileRequests;
        Assert.Equal([416, 200], files.Select(f => f.Status));
        Assert.Null(files[1].Header("Range"));
    }

    [Fact]
    public async Task WrongBytes_ChecksumMismatch_DeletesPartAndThrows()
    {
        _hub.CorruptBody = true;
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Downloader().EnsureLocalAsync(Ref()));

        var corrupt = (byte[])Content.Clone();
        corrupt[corrupt.Length / 2] ^= 0xFF;
        Assert.Contains($"checksum mismatch: expected {FakeHub.Sha256Hex(Content)}, got {FakeHub.Sha256Hex(corrupt)}", e.Message);
        Assert.False(File.Exists(CachePath() + ".part"));
        Assert.False(File.Exists(CachePath()));
    }

    [Fact]
    public async Task WithoutTree_ChecksumComesFromSha256ETag()
    {
        _hub.TreeStatus = 404;
        _hub.SendSha256ETag = true;
        _hub.CorruptBody = true;
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Downloader().EnsureLocalAsync(Ref()));
        Assert.Contains($"checksum mismatch: expected {FakeHub.Sha256Hex(Content)}", e.Message);

        _hub.CorruptBody = false;
        string path = await Downloader().EnsureLocalAsync(Ref());
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task MissingFile_404_SaysWhichFileRepoAndRevision()
    {
        var listed = await Assert.ThrowsAsync<ModelDownloadException>(() => Downloader().EnsureLocalAsync(Ref("missing.gguf")));
        Assert.Equal(ModelDownloadFailure.NotFound, listed.Failure);
        Assert.Contains("model file missing.gguf not found in test-org/test-model at revision main", listed.Message);
        Assert.Contains(ModelFile, listed.Message); // what the folder does hold
        Assert.Empty(_hub.FileRequests);

        _hub.TreeStatus = 404; // no listing: the 404 of the download itself
        var direct = await Assert.ThrowsAsync<ModelDownloadException>(() => Downloader().EnsureLocalAsync(Ref("missing.gguf")));
        Assert.Equal(ModelDownloadFailure.NotFound, direct.Failure);
        Assert.Contains("model file missing.gguf not found in test-org/test-model at revision main", direct.Message);
        Assert.Equal(404, Assert.Single(_hub.FileRequests).Status);
    }

    [Fact]
    public async Task GatedRepo_401_AsksForToken_AndTokenIsSentAsBearer()
    {
        _hub.RequiredToken = "hf_secret";
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => Downloader().EnsureLocalAsync(Ref()));
        Assert.Equal(ModelDownloadFailure.Unauthorized, e.Failure);
        Assert.Contains("HTTP 401", e.Message);
        Assert.Contains("HF_TOKEN", e.Message);
        Assert.Contains("BitNet:HubToken", e.Message);

        var wrong = await Assert.ThrowsAsync<ModelDownloadException>(() => Downloader(token: "hf_wrong").EnsureLocalAsync(Ref()));
        Assert.Equal(ModelDownloadFailure.Unauthorized, wrong.Failure);

        string path = await Downloader(token: "hf_secret").EnsureLocalAsync(Ref());
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Equal("Bearer hf_secret", _hub.FileRequests[^1].Header("Authorization"));
    }

    [Fact]
    public async Task ServerError_IsReportedWithStatus()
    {
        _hub.FileStatus = 503;
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => Downloader().EnsureLocalAsync(Ref()));
        Assert.Equal(ModelDownloadFailure.HttpError, e.Failure);
        Assert.Contains("HTTP 503", e.Message);
    }

    [Fact]
    public async Task NothingListening_ExplainsOfflineOptions()
    {
        string hub = $"http://127.0.0.1:{FakeHub.FreePort()}";
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() => Downloader(hub).EnsureLocalAsync(Ref()));

        Assert.Equal(ModelDownloadFailure.Unreachable, e.Failure);
        Assert.StartsWith($"could not reach {hub}: ", e.Message);
        Assert.Contains("you are offline? download the file elsewhere and pass --model /path/file.gguf", e.Message);
        Assert.Contains($"copy it to {CachePath()}", e.Message);
    }

    [Fact]
    public async Task CachedFile_IsUsedWithoutAnyRequest_EvenOffline()
    {
        string first = await Downloader().EnsureLocalAsync(Ref());
        int requests = _hub.Requests.Count;

        Assert.Equal(first, await Downloader().EnsureLocalAsync(Ref()));
        Assert.Equal(requests, _hub.Requests.Count);

        string offline = $"http://127.0.0.1:{FakeHub.FreePort()}";
        Assert.Equal(first, await Downloader(offline).EnsureLocalAsync(Ref()));
        // Without a file name the cached GGUF is chosen from the cache, still offline.
        Assert.Equal(first, await Downloader(offline).EnsureLocalAsync(ModelReference.Parse("hf:test-org/test-model")));
    }

    [Fact]
    public async Task FileCopiedIntoCacheByHand_IsUsedAsIs()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CachePath())!);
        await File.WriteAllBytesAsync(CachePath(), Content);
        Assert.Equal(CachePath(), await Downloader($"http://127.0.0.1:{FakeHub.FreePort()}").EnsureLocalAsync(Ref()));
    }

    [Fact]
    public async Task CorruptCachedFile_FailsItsSidecar_AndIsDownloadedAgain()
    {
        string path = await Downloader().EnsureLocalAsync(Ref());
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[1000] ^= 1;
        await File.WriteAllBytesAsync(path, bytes);

        Assert.Equal(path, await Downloader().EnsureLocalAsync(Ref()));
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Equal(2, _hub.FileRequests.Count);
    }

    [Fact]
    public async Task NoFileGiven_PicksPreferredGgufFromTree()
    {
        _hub.Files["README.md"] = "# model"u8.ToArray();
        _hub.Files["other-q4.gguf"] = MakeContent(1000, seed: 5);
        _hub.Files["sub/nested.gguf"] = MakeContent(1000, seed: 6);

        string path = await Downloader().EnsureLocalAsync(ModelReference.Parse("hf:test-org/test-model"));

        Assert.Equal(CachePath(), path);
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task NoFileGiven_SeveralGgufsAreListed_ASingleOneIsChosen()
    {
        _hub.Files.Clear();
        _hub.Files["README.md"] = "# model"u8.ToArray();
        _hub.Files["model-q2.gguf"] = Content;
        _hub.Files["model-q8.gguf"] = MakeContent(1000, seed: 8);
        var e = await Assert.ThrowsAsync<ModelDownloadException>(() =>
            Downloader().EnsureLocalAsync(ModelReference.Parse("hf:test-org/test-model@main")));
        Assert.Equal(ModelDownloadFailure.AmbiguousFile, e.Failure);
        Assert.Contains("model-q2.gguf, model-q8.gguf", e.Message);
        Assert.Contains("':file.gguf'", e.Message);
        Assert.Empty(_hub.FileRequests);

        _hub.Files.Remove("model-q8.gguf");
        string path = await Downloader().EnsureLocalAsync(ModelReference.Parse("hf:test-org/test-model"));
        Assert.Equal(CachePath("model-q2.gguf"), path);
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task FileInSubfolderAndOtherRevision_UseTheirOwnCachePaths()
    {
        await using var hub = new FakeHub { Revision = "v1.0" };
        hub.Files["gguf/model.gguf"] = Content;
        string path = await Downloader(hub.BaseUrl).EnsureLocalAsync(ModelReference.Parse("hf://test-org/test-model@v1.0/gguf/model.gguf"));

        Assert.Equal(Path.Combine(_cache, "test-org", "test-model", "v1.0", "gguf", "model.gguf"), path);
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Contains(hub.Requests, r => r.Path == "/api/models/test-org/test-model/tree/v1.0/gguf");
    }

    [Fact]
    public async Task Cancellation_LeavesPartForLaterResume()
    {
        _hub.StallNextBody(64 * 1024);
        using var cts = new CancellationTokenSource();
        // Progress is throttled, so cancel at the first report: some of the 64 KiB are on disk by then.
        var progress = new SyncProgress(p => { if (p.BytesDone > 0) cts.Cancel(); });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Downloader().EnsureLocalAsync(Ref(), progress, cts.Token));
        long kept = new FileInfo(CachePath() + ".part").Length;
        Assert.InRange(kept, 1, 64 * 1024);

        string path = await Downloader().EnsureLocalAsync(Ref());
        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Equal($"bytes={kept}-", _hub.FileRequests[^1].Header("Range"));
    }

    [Fact]
    public async Task StalledTransfer_IsResumedAfterTheStallTimeout()
    {
        _hub.StallNextBody(10_000);
        string path = await Downloader(stall: TimeSpan.FromMilliseconds(300)).EnsureLocalAsync(Ref());

        Assert.Equal(Content, await File.ReadAllBytesAsync(path));
        Assert.Equal("bytes=10000-", _hub.FileRequests[^1].Header("Range"));
    }

    [Fact]
    public async Task LocalReference_ExistingPathIsReturned_MissingPathThrows()
    {
        Directory.CreateDirectory(_cache);
        string file = Path.Combine(_cache, "local.gguf");
        await File.WriteAllBytesAsync(file, [1, 2, 3]);

        Assert.Equal(file, await Downloader().EnsureLocalAsync(ModelReference.Parse(file)));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() =>
            Downloader().EnsureLocalAsync(ModelReference.Parse(Path.Combine(_cache, "nope.gguf"))));
        Assert.Contains("nope.gguf does not exist", e.Message);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public void Options_AreValidatedAtConstruction()
    {
        Assert.Throws<ArgumentException>(() => new ModelDownloader(_http, new ModelDownloadOptions { HubBaseUrl = "ftp://x", CacheDirectory = _cache }));
        Assert.Throws<ArgumentException>(() => new ModelDownloader(_http, new ModelDownloadOptions { HubBaseUrl = "huggingface.co", CacheDirectory = _cache }));
        Assert.Throws<ArgumentException>(() => new ModelDownloader(_http, new ModelDownloadOptions { CacheDirectory = " " }));
    }

    private static byte[] MakeContent(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool, which would race the asserts).</summary>
    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}
