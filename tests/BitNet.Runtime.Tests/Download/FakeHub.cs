using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace BitNet.Runtime.Tests.Download;

/// <summary>One request the fake hub received, with the status it answered.</summary>
internal sealed record RecordedRequest(string Path, IReadOnlyDictionary<string, string> Headers, int Status)
{
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 (one request per connection) that speaks the two hub endpoints the
/// downloader uses: <c>GET /api/models/{owner}/{repo}/tree/{rev}[/{folder}]</c> and
/// <c>GET /{owner}/{repo}/resolve/{rev}/{path}</c> with <c>Range: bytes=N-</c>. Knobs make it cut, stall, ignore
/// ranges, corrupt bytes, demand a token or answer an error status.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _cutsLeft, _stallsLeft;

    public FakeHub()
    {
        _listener.Start();
        BaseUrl = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _acceptLoop = AcceptLoopAsync();
    }

    public string BaseUrl { get; }
    public string Owner { get; init; } = "test-org";
    public string Repository { get; init; } = "test-model";
    public string Revision { get; init; } = "main";

    /// <summary>Repository files by path; the tree lists them with their LFS sha256.</summary>
    public Dictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>Cut the next <paramref name="times"/> file bodies after <paramref name="bytes"/> bytes (headers promise the full length).</summary>
    public void CutNextBodies(int bytes, int times = 1) { CutAfterBytes = bytes; _cutsLeft = times; }
    public int CutAfterBytes { get; private set; }

    /// <summary>Send <paramref name="bytes"/> bytes of the next file body, then go silent (until disposed).</summary>
    public void StallNextBody(int bytes) { StallAfterBytes = bytes; _stallsLeft = 1; }
    public int StallAfterBytes { get; private set; }

    public bool IgnoreRange { get; set; }
    public bool CorruptBody { get; set; }
    public bool SendSha256ETag { get; set; }
    public int? TreeStatus { get; set; }
    public int? FileStatus { get; set; }
    public string? RequiredToken { get; set; }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_requests) return [.. _requests]; }
    }

    public List<RecordedRequest> FileRequests => Requests.Where(r => r.Path.Contains("/resolve/", StringComparison.Ordinal)).ToList();

    public static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>A port on which nothing listens (bound then released).</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _acceptLoop; } catch (Exception) { /* the listener was stopped */ }
        Task[] open;
        lock (_connections) open = [.. _connections];
        try { await Task.WhenAll(open); } catch (Exception) { /* connections torn down on purpose */ }
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var task = Task.Run(() => ServeAsync(client));
            lock (_connections) _connections.Add(task);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            try
            {
                var (path, headers) = await ReadRequestAsync(stream);
                await RouteAsync(stream, path, headers);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
            {
                // The client went away (cancellation tests) or the hub is shutting down.
            }
        }
    }

    private static async Task<(string Path, Dictionary<string, string> Headers)> ReadRequestAsync(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 4 || !(bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("client closed before the end of the headers");
            bytes.Add(one[0]);
        }
        var lines = Encoding.ASCII.GetString(bytes.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var requestLine = lines[0].Split(' ');
        if (requestLine[0] != "GET") throw new IOException($"unexpected method {requestLine[0]}");
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':');
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }
        return (requestLine[1], headers);
    }

    private async Task RouteAsync(NetworkStream stream, string path, Dictionary<string, string> headers)
    {
        string repoPrefix = $"/{Owner}/{Repository}";
        string treePrefix = $"/api/models{repoPrefix}/tree/{Uri.EscapeDataString(Revision)}";
        string resolvePrefix = $"{repoPrefix}/resolve/{Uri.EscapeDataString(Revision)}/";
        if (RequiredToken is not null && (!headers.TryGetValue("authorization", out var auth) || auth != $"Bearer {RequiredToken}"))
        {
            await RespondAsync(stream, path, headers, 401, "Unauthorized", Encoding.UTF8.GetBytes("{\"error\":\"Invalid credentials\"}"));
            return;
        }
        if (path == treePrefix || path.StartsWith(treePrefix + "/", StringComparison.Ordinal))
        {
            if (TreeStatus is int treeStatus)
            {
                await RespondAsync(stream, path, headers, treeStatus, "Tree Status", ReadOnlyMemory<byte>.Empty);
                return;
            }
            string folder = Uri.UnescapeDataString(path.Length > treePrefix.Length ? path[(treePrefix.Length + 1)..] : "");
            await RespondAsync(stream, path, headers, 200, "OK", TreeJson(folder), "Content-Type: application/json\r\n");
            return;
        }
        if (path.StartsWith(resolvePrefix, StringComparison.Ordinal))
        {
            string file = Uri.UnescapeDataString(path[resolvePrefix.Length..]);
            if (FileStatus is int fileStatus || !Files.TryGetValue(file, out var content))
            {
                await RespondAsync(stream, path, headers, FileStatus ?? 404, "Not Found", Encoding.UTF8.GetBytes("Entry not found"));
                return;
            }
            await ServeFileAsync(stream, path, headers, content);
            return;
        }
        await RespondAsync(stream, path, headers, 404, "Not Found", Encoding.UTF8.GetBytes("Repository not found"));
    }

    private async Task ServeFileAsync(NetworkStream stream, string path, Dictionary<string, string> headers, byte[] content)
    {
        var body = content;
        if (CorruptBody)
        {
            body = (byte[])content.Clone();
            body[body.Length / 2] ^= 0xFF;
        }
        string extra = SendSha256ETag ? $"ETag: \"{Sha256Hex(content)}\"\r\n" : "";
        long from = 0;
        if (!IgnoreRange && headers.TryGetValue("range", out var range) && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            from = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
        if (from >= body.Length)
        {
            await RespondAsync(stream, path, headers, 416, "Range Not Satisfiable", ReadOnlyMemory<byte>.Empty, extra + $"Content-Range: bytes */{body.Length}\r\n");
            return;
        }
        int status = from > 0 ? 206 : 200;
        if (from > 0) extra += $"Content-Range: bytes {from}-{body.Length - 1}/{body.Length}\r\n";
        var slice = body.AsMemory((int)from);
        int limit = slice.Length;
        bool stall = false;
        if (Interlocked.Decrement(ref _cutsLeft) >= 0) limit = Math.Min(limit, CutAfterBytes);
        else if (Interlocked.Decrement(ref _stallsLeft) >= 0) { limit = Math.Min(limit, StallAfterBytes); stall = true; }
        await RespondAsync(stream, path, headers, status, status == 206 ? "Partial Content" : "OK", slice[..limit], extra,
            contentLength: slice.Length);
        if (stall) await Task.Delay(Timeout.Infinite, _stop.Token);
        // Returning closes the socket: with limit < Content-Length the client sees the body end early.
    }

    private async Task RespondAsync(NetworkStream stream, string path, Dictionary<string, string> headers, int status,
        string reason, ReadOnlyMemory<byte> body, string extraHeaders = "", long? contentLength = null)
    {
        lock (_requests) _requests.Add(new RecordedRequest(path, headers, status));
        string head = $"HTTP/1.1 {status} {reason}\r\nContent-Length: {contentLength ?? body.Length}\r\nConnection: close\r\n{extraHeaders}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        await stream.FlushAsync();
    }

    // The hub's shape: directories and files of one folder; LFS files carry {oid: sha256, size}.
    private byte[] TreeJson(string folder)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            var directories = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var (path, content) in Files.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                string prefix = folder.Length == 0 ? "" : folder + "/";
                if (!path.StartsWith(prefix, StringComparison.Ordinal)) continue;
                string rest = path[prefix.Length..];
                if (rest.Contains('/')) { directories.Add(prefix + rest[..rest.IndexOf('/')]); continue; }
                json.WriteStartObject();
                json.WriteString("type", "file");
                json.WriteString("oid", Convert.ToHexStringLower(SHA1.HashData(content)));
                json.WriteNumber("size", content.Length);
                json.WriteString("path", path);
                if (path.EndsWith(".gguf", StringComparison.Ordinal))
                {
                    json.WriteStartObject("lfs");
                    json.WriteString("oid", Sha256Hex(content));
                    json.WriteNumber("size", content.Length);
                    json.WriteNumber("pointerSize", 134);
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            foreach (var dir in directories)
            {
                json.WriteStartObject();
                json.WriteString("type", "directory");
                json.WriteString("oid", "0000000000000000000000000000000000000000");
                json.WriteNumber("size", 0);
                json.WriteString("path", dir);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return buffer.ToArray();
    }
}
