using System.Text;
using System.Text.Json;

namespace BitNet.Server.Streaming;

/// <summary>
/// Server-sent events exactly as OpenAI clients parse them: <c>data: {json}\n\n</c> per event, comment lines
/// (<c>: ping</c>) to keep proxies from closing an idle connection during a long prompt, <c>data: [DONE]</c> at the end.
/// </summary>
public sealed class SseWriter(HttpResponse response, JsonSerializerOptions json)
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private static readonly byte[] Ping = ": ping\n\n"u8.ToArray();
    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] EventData = "\ndata: "u8.ToArray();
    private bool _started;

    public bool Started => _started;

    public async Task StartAsync(CancellationToken ct)
    {
        if (_started) return;
        _started = true;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx: do not buffer the stream
        await response.Body.FlushAsync(ct);
    }

    public async Task WriteAsync<T>(T payload, CancellationToken ct)
    {
        await StartAsync(ct);
        var body = response.Body;
        await body.WriteAsync(DataPrefix, ct);
        await JsonSerializer.SerializeAsync(body, payload, json, ct);
        await body.WriteAsync(EventEnd, ct);
        await body.FlushAsync(ct);
    }

    /// <summary>
    /// A named event (<c>event: {name}\ndata: {json}\n\n</c>), as the Responses API streams them; the SDKs read the type
    /// from the data, proxies and EventSource clients from the event line.
    /// </summary>
    public async Task WriteEventAsync<T>(string name, T payload, CancellationToken ct)
    {
        await StartAsync(ct);
        var body = response.Body;
        await body.WriteAsync(EventPrefix, ct);
        await body.WriteAsync(System.Text.Encoding.UTF8.GetBytes(name), ct);
        await body.WriteAsync(EventData, ct);
        await JsonSerializer.SerializeAsync(body, payload, json, ct);
        await body.WriteAsync(EventEnd, ct);
        await body.FlushAsync(ct);
    }

    public async Task PingAsync(CancellationToken ct)
    {
        await StartAsync(ct);
        await response.Body.WriteAsync(Ping, ct);
        await response.Body.FlushAsync(ct);
    }

    public async Task DoneAsync(CancellationToken ct)
    {
        await response.Body.WriteAsync(Done, ct);
        await response.Body.FlushAsync(ct);
    }

    public static string Frame(string json) => new StringBuilder("data: ").Append(json).Append("\n\n").ToString();
}
