using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace BitNet.Runtime.Download;

/// <summary>
/// Turns a <see cref="ModelReference"/> into a local GGUF path (or, for a repository of safetensors, a local Hugging Face
/// model directory), downloading from a Hugging Face hub into the cache when
/// needed: resumable (<c>Range</c>), verified (sha256 against the hub's LFS oid or a sha256 ETag), atomic (the file
/// appears under its name only once verified), and offline-first (a cached file needs no network).
/// </summary>
public sealed class ModelDownloader
{
    private const int BufferSize = 1 << 18;
    private const int MaxRestarts = 2;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(100);

    private readonly HttpClient _http;
    private readonly ModelDownloadOptions _options;
    private readonly ModelCache _cache;
    private readonly string _hub;
    private readonly string? _token;

    /// <summary>Validates the options; no I/O happens until <see cref="EnsureLocalAsync"/>.</summary>
    public ModelDownloader(HttpClient http, ModelDownloadOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        if (!Uri.TryCreate(options.HubBaseUrl, UriKind.Absolute, out var hub) || hub.Scheme is not ("http" or "https"))
            throw new ArgumentException($"hub URL '{options.HubBaseUrl}' is not an absolute http(s) URL", nameof(options));
        if (string.IsNullOrWhiteSpace(options.CacheDirectory))
            throw new ArgumentException("the model cache directory is empty", nameof(options));
        if (options.MaxResumeAttempts < 0)
            throw new ArgumentException($"MaxResumeAttempts is {options.MaxResumeAttempts}; it must be >= 0", nameof(options));
        if (options.StallTimeout <= TimeSpan.Zero || options.ResumeDelay < TimeSpan.Zero)
            throw new ArgumentException("StallTimeout must be positive and ResumeDelay not negative", nameof(options));
        _http = http;
        _options = options;
        _cache = new ModelCache(options.CacheDirectory);
        _hub = options.HubBaseUrl.TrimEnd('/');
        _token = options.ResolveToken();
    }

    /// <summary>Where a hub reference's file is (or will be) cached; the reference must name a file.</summary>
    public string GetCachePath(ModelReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.IsLocal) return Path.GetFullPath(reference.LocalPath);
        return _cache.FilePath(reference);
    }

    /// <summary>
    /// The local path of the reference's GGUF: a local path as is (it must exist), a cached hub file without network
    /// access, else a fresh or resumed download. Cancelling leaves the <c>.part</c> file for a later resume.
    /// Throws <see cref="ModelDownloadException"/> (not found, needs a token, offline, interrupted, ambiguous) and
    /// <see cref="InvalidDataException"/> (checksum or size mismatch), each with a message that says what to do.
    /// </summary>
    public async Task<string> EnsureLocalAsync(ModelReference reference, IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.IsLocal)
        {
            string full = Path.GetFullPath(reference.LocalPath);
            return File.Exists(full) || Directory.Exists(full)
                ? full
                : throw new FileNotFoundException($"model file {full} does not exist; give an existing GGUF path, a Hugging Face model directory or hf:owner/repo[:file.gguf]", full);
        }

        // Offline first: a complete cached file (or Hugging Face directory) needs no network at all.
        if (reference.FilePath is null && _cache.CachedGgufFiles(reference).Count == 0 && CompleteSafetensorsDirectory(reference) is { } dir)
            return dir;
        var cachedChoice = reference.FilePath is not null ? reference : ChooseCached(reference);
        if (cachedChoice is not null && await TryUseCachedAsync(_cache.FilePath(cachedChoice), null, cancellationToken).ConfigureAwait(false) is { } cached)
            return cached;

        List<HubFile>? rootListing = null;
        if (reference.FilePath is null)
        {
            // A repository with no GGUF but config.json + safetensors (microsoft/bitnet-b1.58-2B-4T): fetch the directory.
            rootListing = await ListFilesAsync(reference, "", cancellationToken).ConfigureAwait(false);
            if (rootListing is not null && IsSafetensorsRepository(rootListing))
                return await DownloadSafetensorsAsync(reference, rootListing, progress, cancellationToken).ConfigureAwait(false);
        }
        var (resolved, entry) = await ResolveFileAsync(reference, rootListing, cancellationToken).ConfigureAwait(false);
        string target = _cache.FilePath(resolved);
        if (await TryUseCachedAsync(target, entry?.Sha256, cancellationToken).ConfigureAwait(false) is { } hit)
            return hit;
        await DownloadAsync(resolved, entry, target, progress, cancellationToken).ConfigureAwait(false);
        return target;
    }

    /// <summary>Files of a Hugging Face model directory besides the weights (those absent from the repo are skipped).</summary>
    private static readonly string[] DirectoryFiles = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"];

    private const string SingleShard = "model.safetensors";
    private const string ShardIndex = "model.safetensors.index.json";

    private static bool IsSafetensorsRepository(List<HubFile> files) =>
        !files.Exists(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
        && files.Exists(f => f.Path == "config.json")
        && files.Exists(f => f.Path is SingleShard or ShardIndex);

    /// <summary>The cached revision directory when it holds config.json and every safetensors file its index names.</summary>
    private string? CompleteSafetensorsDirectory(ModelReference reference)
    {
        string dir = _cache.RevisionDirectory(reference);
        if (!File.Exists(Path.Combine(dir, "config.json"))) return null;
        if (File.Exists(Path.Combine(dir, SingleShard))) return dir;
        string index = Path.Combine(dir, ShardIndex);
        if (!File.Exists(index)) return null;
        try
        {
            return ShardNames(index).All(n => File.Exists(Path.Combine(dir, n))) ? dir : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private async Task<string> DownloadSafetensorsAsync(ModelReference reference, List<HubFile> listing,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        async Task<string> Fetch(string path)
        {
            var file = reference.WithDirectoryFile(path);
            var entry = listing.Find(f => f.Path == path);
            string target = _cache.FilePath(file);
            if (await TryUseCachedAsync(target, entry?.Sha256, cancellationToken).ConfigureAwait(false) is { } hit) return hit;
            await DownloadAsync(file, entry, target, progress, cancellationToken).ConfigureAwait(false);
            return target;
        }

        foreach (var name in DirectoryFiles)
            if (listing.Exists(f => f.Path == name)) await Fetch(name).ConfigureAwait(false);
        if (listing.Exists(f => f.Path == SingleShard))
        {
            await Fetch(SingleShard).ConfigureAwait(false);
        }
        else
        {
            string index = await Fetch(ShardIndex).ConfigureAwait(false);
            foreach (var shard in ShardNames(index))
            {
                if (!listing.Exists(f => f.Path == shard))
                    throw new ModelDownloadException(ModelDownloadFailure.NotFound,
                        $"{reference.RepositoryId}: {ShardIndex} names {shard}, which the repository does not have");
                await Fetch(shard).ConfigureAwait(false);
            }
        }
        return _cache.RevisionDirectory(reference);
    }

    /// <summary>The distinct shard file names of a model.safetensors.index.json, each a plain file name.</summary>
    private static List<string> ShardNames(string indexPath)
    {
        using var doc = Weights.Json.ParseFile(indexPath);
        if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map)
            || map.ValueKind != System.Text.Json.JsonValueKind.Object)
            throw new InvalidDataException($"{indexPath}: no 'weight_map' object");
        var names = new List<string>();
        foreach (var p in map.EnumerateObject())
        {
            string? n = p.Value.ValueKind == System.Text.Json.JsonValueKind.String ? p.Value.GetString() : null;
            if (n is null || n.Contains('/') || n.Contains('\\') || n.StartsWith('.') || !n.EndsWith(".safetensors", StringComparison.Ordinal))
                throw new InvalidDataException($"{indexPath}: weight_map '{p.Name}' names '{n}', not a .safetensors file in the repository root");
            if (!names.Contains(n)) names.Add(n);
        }
        return names;
    }

    private ModelReference? ChooseCached(ModelReference reference)
    {
        var files = _cache.CachedGgufFiles(reference);
        if (files.Count == 0) return null;
        try
        {
            return reference.WithFile(HubFileListing.ChooseGguf(files, reference, "the cache"));
        }
        catch (ModelDownloadException)
        {
            return null; // several cached GGUFs: let the hub's list decide (or explain)
        }
    }

    /// <summary>The cached file if present and (when a sha256 is known) intact; a corrupt file is deleted.</summary>
    private async Task<string?> TryUseCachedAsync(string path, string? hubSha256, CancellationToken cancellationToken)
    {
        if (!File.Exists(path)) return null;
        string? sidecar = ModelCache.ReadSidecar(path);
        string? expected = sidecar ?? hubSha256;
        if (expected is null || !_options.VerifyCachedFiles) return path;
        string actual = await ModelCache.HashFileAsync(path, cancellationToken).ConfigureAwait(false);
        if (actual == expected)
        {
            if (sidecar is null) ModelCache.WriteSidecar(path, actual);
            return path;
        }
        ModelCache.DeleteWithSidecar(path);
        return null;
    }

    /// <summary>Lists the hub folder holding the file: picks the GGUF when the reference names none, and learns size and sha256.</summary>
    private async Task<(ModelReference Resolved, HubFile? Entry)> ResolveFileAsync(ModelReference reference, List<HubFile>? rootListing,
        CancellationToken cancellationToken)
    {
        string folder = reference.FilePath is { } file && file.LastIndexOf('/') is int slash and > 0 ? file[..slash] : "";
        var files = rootListing is not null && folder.Length == 0 ? rootListing
            : await ListFilesAsync(reference, folder, cancellationToken).ConfigureAwait(false);
        if (reference.FilePath is null)
        {
            if (files is null)
                throw new ModelDownloadException(ModelDownloadFailure.NotFound,
                    $"repository {reference.RepositoryId} or its revision {reference.Revision} was not found on {_hub}; check the name and revision");
            var paths = files.ConvertAll(f => f.Path);
            string chosen = HubFileListing.ChooseGguf(paths, reference, "the hub");
            return (reference.WithFile(chosen), files.Find(f => f.Path == chosen));
        }
        if (files is null) return (reference, null); // no listing: the download itself says whether the file exists
        var entry = files.Find(f => f.Path == reference.FilePath);
        if (entry is null)
        {
            var ggufs = files.FindAll(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)).ConvertAll(f => f.Path);
            throw new ModelDownloadException(ModelDownloadFailure.NotFound, FileNotFoundMessage(reference) +
                (ggufs.Count == 0 ? "; the folder holds no .gguf file" : $"; GGUF files there: {string.Join(", ", ggufs)}"));
        }
        return (reference, entry);
    }

    /// <summary>The tree API's files under <paramref name="folder"/>, or null when the hub answers 404.</summary>
    private async Task<List<HubFile>?> ListFilesAsync(ModelReference reference, string folder, CancellationToken cancellationToken)
    {
        string url = $"{_hub}/api/models/{reference.Owner}/{reference.Repository}/tree/{Uri.EscapeDataString(reference.Revision!)}"
            + (folder.Length == 0 ? "" : "/" + EscapePath(folder));
        using var request = NewRequest(url);
        HttpResponseMessage response;
        try
        {
            // ResponseContentRead: the body is read here too, so a cut connection lands in this catch.
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
        {
            throw Unreachable(e, reference);
        }
        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            if (!response.IsSuccessStatusCode) throw HttpFailure(response, reference, listing: true);
            byte[] json = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return HubFileListing.Parse(json);
            }
            catch (InvalidDataException e)
            {
                throw new ModelDownloadException(ModelDownloadFailure.HttpError, $"{url}: {e.Message}", e);
            }
        }
    }

    private async Task DownloadAsync(ModelReference reference, HubFile? entry, string target,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        string partPath = target + ModelCache.PartSuffix;
        string url = $"{_hub}/{reference.Owner}/{reference.Repository}/resolve/{Uri.EscapeDataString(reference.Revision!)}/{EscapePath(reference.FilePath!)}";
        string? expectedSha = entry?.Sha256;
        long? total = entry?.Size;
        string actualSha;

        var part = OpenPart(partPath);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            // Resuming: the checksum covers the whole file, so the bytes already on disk go in first.
            await HashExistingAsync(part, hash, cancellationToken).ConfigureAwait(false);
            var reporter = new ProgressReporter(progress, reference.FilePath!);
            int resumes = 0, restarts = 0;
            bool receivedAny = false;
            while (true)
            {
                long have = part.Length;
                if (total is long size && have > size) Restart(part, hash, ref restarts, reference);
                have = part.Length;
                using var request = NewRequest(url);
                if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
                HttpResponseMessage response;
                try
                {
                    response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
                {
                    if (!receivedAny) throw Unreachable(e, reference);
                    await PauseBeforeResumeAsync(e, ++resumes, part.Length, total, partPath, reference, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                using (response)
                {
                    expectedSha ??= Sha256FromHeaders(response);
                    if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                    {
                        // The part already holds everything (verify it) or more than the file (start over).
                        long? length = response.Content.Headers.ContentRange?.Length ?? total;
                        if (length == have) break;
                        Restart(part, hash, ref restarts, reference);
                        continue;
                    }
                    if (response.StatusCode == HttpStatusCode.PartialContent)
                    {
                        var range = response.Content.Headers.ContentRange;
                        if (range?.From != have)
                        {
                            Restart(part, hash, ref restarts, reference);
                            continue;
                        }
                        total ??= range.Length;
                    }
                    else if (response.StatusCode == HttpStatusCode.OK)
                    {
                        if (have > 0) Truncate(part, hash); // the server ignored Range: the body is the whole file
                        total ??= response.Content.Headers.ContentLength;
                    }
                    else
                    {
                        throw HttpFailure(response, reference, listing: false);
                    }

                    var (received, failure) = await CopyBodyAsync(response, part, hash, reporter, total, cancellationToken).ConfigureAwait(false);
                    receivedAny |= received > 0;
                    if (failure is null && total is long expected && part.Length < expected)
                        failure = new IOException($"the connection closed after {part.Length:N0} of {expected:N0} bytes");
                    if (failure is null) break;
                    await PauseBeforeResumeAsync(failure, ++resumes, part.Length, total, partPath, reference, cancellationToken).ConfigureAwait(false);
                }
            }

            await part.FlushAsync(cancellationToken).ConfigureAwait(false);
            long finalLength = part.Length;
            actualSha = Convert.ToHexStringLower(hash.GetHashAndReset());
            reporter.Report(finalLength, total, justReceived: 0, force: true);
            string? problem = total is long want && finalLength != want ? $"size mismatch: expected {want:N0} bytes, got {finalLength:N0}"
                : expectedSha is not null && actualSha != expectedSha ? $"checksum mismatch: expected {expectedSha}, got {actualSha}"
                : null;
            if (problem is not null)
            {
                await part.DisposeAsync().ConfigureAwait(false);
                File.Delete(partPath);
                throw new InvalidDataException($"{problem} for {reference.FilePath} from {reference.RepositoryId}@{reference.Revision}; " +
                    "the download was deleted, run again to fetch it afresh");
            }
        }
        finally
        {
            await part.DisposeAsync().ConfigureAwait(false);
        }

        // Sidecar first, then the atomic rename: a file under its final name is always complete and verified.
        ModelCache.WriteSidecar(target, actualSha);
        File.Move(partPath, target, overwrite: true);
    }

    /// <summary>Streams the body into the part; returns the bytes received and the network failure that cut it, if any.</summary>
    private async Task<(long Received, Exception? Failure)> CopyBodyAsync(HttpResponseMessage response, FileStream part,
        IncrementalHash hash, ProgressReporter reporter, long? total, CancellationToken cancellationToken)
    {
        // HttpClient.Timeout stops at the headers; a stalled body needs its own deadline, renewed per read.
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long received = 0;
        try
        {
            stall.CancelAfter(_options.StallTimeout);
            Stream body;
            try
            {
                body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransferFailure(e, cancellationToken))
            {
                return (0, e);
            }
            await using (body.ConfigureAwait(false))
            {
                while (true)
                {
                    int n;
                    stall.CancelAfter(_options.StallTimeout);
                    try
                    {
                        n = await body.ReadAsync(buffer.AsMemory(0, BufferSize), stall.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (IsTransferFailure(e, cancellationToken))
                    {
                        return (received, e is OperationCanceledException
                            ? new TimeoutException($"no data for {_options.StallTimeout.TotalSeconds:F0} s") : e);
                    }
                    if (n == 0) return (received, null);
                    await part.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    hash.AppendData(buffer, 0, n);
                    received += n;
                    reporter.Report(part.Length, total, justReceived: n, force: false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task PauseBeforeResumeAsync(Exception failure, int attempt, long have, long? total, string partPath,
        ModelReference reference, CancellationToken cancellationToken)
    {
        if (attempt > _options.MaxResumeAttempts)
        {
            string of = total is long t ? $" of {t:N0}" : "";
            throw new ModelDownloadException(ModelDownloadFailure.Interrupted,
                $"download of {reference.FilePath} from {reference.RepositoryId} was interrupted after {have:N0}{of} bytes " +
                $"({failure.Message}); run the same command again to resume from {partPath}", failure);
        }
        await Task.Delay(_options.ResumeDelay, cancellationToken).ConfigureAwait(false);
    }

    private static FileStream OpenPart(string partPath)
    {
        try
        {
            // FileShare.None also locks the part against a second process downloading the same file.
            return new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
        }
        catch (IOException e) when (File.Exists(partPath))
        {
            throw new IOException($"could not open {partPath} ({e.Message}); is another download of this model running?", e);
        }
    }

    private static async Task HashExistingAsync(FileStream part, IncrementalHash hash, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            part.Position = 0;
            int n;
            while ((n = await part.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
                hash.AppendData(buffer, 0, n);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Truncate(FileStream part, IncrementalHash hash)
    {
        part.SetLength(0);
        part.Position = 0;
        hash.GetHashAndReset();
    }

    // A server whose ranges keep disagreeing with the part would loop forever; give up after a couple of fresh starts.
    private void Restart(FileStream part, IncrementalHash hash, ref int restarts, ModelReference reference)
    {
        if (++restarts > MaxRestarts)
            throw new ModelDownloadException(ModelDownloadFailure.HttpError,
                $"{_hub} answers range requests for {reference.FilePath} inconsistently; delete {part.Name} and try again");
        Truncate(part, hash);
    }

    private HttpRequestMessage NewRequest(string url)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("BitNet.Server", "1.0"));
        if (_token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        return request;
    }

    /// <summary>The sha256 a hub reports in <c>X-Linked-ETag</c> (LFS files before the CDN redirect) or <c>ETag</c>; null when not a sha256.</summary>
    private static string? Sha256FromHeaders(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("X-Linked-ETag", out var linked))
        {
            foreach (var value in linked)
                if (HubFileListing.NormalizeSha256(value) is { } sha) return sha;
        }
        return HubFileListing.NormalizeSha256(response.Headers.ETag?.Tag);
    }

    private static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    private string FileNotFoundMessage(ModelReference reference) =>
        $"model file {reference.FilePath} not found in {reference.RepositoryId} at revision {reference.Revision} on {_hub}";

    private ModelDownloadException HttpFailure(HttpResponseMessage response, ModelReference reference, bool listing)
    {
        int code = (int)response.StatusCode;
        string what = listing ? $"the file list of {reference.RepositoryId}" : $"{reference.FilePath} in {reference.RepositoryId}";
        return response.StatusCode switch
        {
            HttpStatusCode.NotFound => new ModelDownloadException(ModelDownloadFailure.NotFound,
                FileNotFoundMessage(reference) + "; check the file name against the repository's files, or pass --model /path/file.gguf"),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden when _token is null => new ModelDownloadException(ModelDownloadFailure.Unauthorized,
                $"{_hub} refused access to {what} (HTTP {code}): the repository is gated or private (or does not exist) and needs a token; " +
                $"create one at {_hub}/settings/tokens, accept the model's license on its page, then set HF_TOKEN or BitNet:HubToken"),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new ModelDownloadException(ModelDownloadFailure.Unauthorized,
                $"{_hub} refused the token for {what} (HTTP {code}): check that HF_TOKEN / BitNet:HubToken is valid and that " +
                "your account accepted the model's license on its page"),
            HttpStatusCode.TooManyRequests => new ModelDownloadException(ModelDownloadFailure.HttpError,
                $"{_hub} is rate-limiting requests for {what} (HTTP 429); wait a few minutes and try again, or set HF_TOKEN"),
            _ => new ModelDownloadException(ModelDownloadFailure.HttpError,
                $"{_hub} answered HTTP {code} {response.ReasonPhrase} for {what}; try again later"),
        };
    }

    private ModelDownloadException Unreachable(Exception e, ModelReference reference)
    {
        string where = reference.FilePath is null
            ? Path.Combine(_cache.RevisionDirectory(reference), ModelReference.PreferredFileName)
            : _cache.FilePath(reference);
        string reason = e is OperationCanceledException ? $"no answer within {_http.Timeout.TotalSeconds:F0} s" : e.Message;
        return new ModelDownloadException(ModelDownloadFailure.Unreachable,
            $"could not reach {_hub}: {reason}; you are offline? download the file elsewhere and pass --model /path/file.gguf, " +
            $"or copy it to {where}", e);
    }

    // Failures of the connection itself (not HTTP statuses, not the caller's cancellation): refused, reset, DNS, timeout.
    private static bool IsNetworkFailure(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException { StatusCode: null } or (IOException and not ModelDownloadException)
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static bool IsTransferFailure(Exception e, CancellationToken cancellationToken) => IsNetworkFailure(e, cancellationToken);

    /// <summary>Throttled progress: at most every 100 ms, plus the final report; speed counts only bytes received now.</summary>
    private sealed class ProgressReporter(IProgress<DownloadProgress>? progress, string fileName)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _last = TimeSpan.MinValue;
        private long _received;

        public void Report(long bytesDone, long? total, long justReceived, bool force)
        {
            _received += justReceived;
            if (progress is null) return;
            var now = _clock.Elapsed;
            if (!force && _last != TimeSpan.MinValue && now - _last < ProgressInterval) return;
            _last = now;
            double speed = now > TimeSpan.Zero ? _received / now.TotalSeconds : 0;
            progress.Report(new DownloadProgress(fileName, bytesDone, total, speed));
        }
    }
}
