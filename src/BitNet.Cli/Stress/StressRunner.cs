using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace BitNet.Cli.Stress;

/// <summary>What a stress run does: N streaming clients for a duration, some of them hanging up or cancelling at random.</summary>
public sealed record StressOptions
{
    public int Clients { get; init; } = 8;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    public int MaxTokens { get; init; } = 48;
    /// <summary>Lower bound of a request's max_tokens (drawn uniformly from MinTokens..MaxTokens).</summary>
    public int MinTokens { get; init; } = 4;
    /// <summary>Fraction of requests whose client disconnects after a random number of chunks.</summary>
    public double DisconnectRate { get; init; } = 0.1;
    /// <summary>Fraction of requests cancelled by the client before any token (while queued or in prefill).</summary>
    public double EarlyCancelRate { get; init; } = 0.05;
    /// <summary>Fraction of streams whose client stops reading mid-stream for <see cref="SlowReaderPause"/>, then reads on.</summary>
    public double SlowReaderRate { get; init; }
    public TimeSpan SlowReaderPause { get; init; } = TimeSpan.FromSeconds(1.5);
    /// <summary>Fraction of requests sent with a body of <see cref="OversizeBytes"/> (above the server's limit): a 413 is expected.</summary>
    public double OversizeRate { get; init; }
    public int OversizeBytes { get; init; } = 5 << 20;
    public string Model { get; init; } = "";
    public string? ApiKey { get; init; }
    public int Seed { get; init; } = 1;
}

/// <summary>The figures of a stress run. A "lost token" is a completed stream whose streamed tokens differ from its usage.</summary>
public sealed record StressReport(
    int Started, int Completed, int Disconnected, int Cancelled, int Rejected429, int ClientErrors4xx, int ServerErrors5xx,
    int StreamErrors, int TransportErrors, long LostTokens, long StreamedTokens, double Seconds,
    double TtftP50Ms, double TtftP99Ms, double InterTokenP50Ms, double InterTokenP99Ms)
{
    public double TokensPerSecond => Seconds > 0 ? StreamedTokens / Seconds : 0;

    /// <summary>Streams whose client paused reading mid-stream (they count as completed when all their tokens came).</summary>
    public int SlowReaders { get; init; }

    /// <summary>Oversize bodies answered 413 (any other answer to them is counted as an error).</summary>
    public int Refused413 { get; init; }
}

/// <summary>
/// Drives concurrent streaming chat clients against a running server (loopback only in tests) for a bounded time
/// and reports completions, 429s, errors, lost tokens and latency percentiles. Every request asks for logprobs so
/// that each generated token arrives as exactly one chunk and can be counted against <c>usage.completion_tokens</c>.
/// </summary>
public sealed class StressRunner(HttpClient http, StressOptions options)
{
    private static readonly string[] Prompts =
    [
        "Tell me a story about a dragon.", "Once upon a time there was a cat.", "Write about a girl and her red ball.",
        "What did the little bird see?", "Tell me about the big tree in the park.", "Tom and his dog went to the beach.",
    ];

    private readonly object _lock = new();
    private readonly List<double> _ttft = [], _interToken = [];
    private int _started, _completed, _disconnected, _cancelled, _rejected, _client4xx, _server5xx, _streamErrors, _transport;
    private long _lost, _streamed;
    private int _slow, _refused413;

    public async Task<StressReport> RunAsync(CancellationToken ct = default)
    {
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stop.CancelAfter(options.Duration);
        var clients = Enumerable.Range(0, options.Clients).Select(i => ClientLoopAsync(new Random(options.Seed * 7919 + i), stop.Token));
        await Task.WhenAll(clients);
        double seconds = clock.Elapsed.TotalSeconds;
        lock (_lock)
        {
            return new StressReport(_started, _completed, _disconnected, _cancelled, _rejected, _client4xx, _server5xx, _streamErrors,
                _transport, _lost, _streamed, seconds, Percentile(_ttft, 0.5), Percentile(_ttft, 0.99),
                Percentile(_interToken, 0.5), Percentile(_interToken, 0.99)) { SlowReaders = _slow, Refused413 = _refused413 };
        }
    }

    private async Task ClientLoopAsync(Random rng, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await OneRequestAsync(rng, stop);
        }
    }

    private async Task OneRequestAsync(Random rng, CancellationToken stop)
    {
        Interlocked.Increment(ref _started);
        int disconnectAfter = rng.NextDouble() < options.DisconnectRate ? rng.Next(1, Math.Max(2, options.MaxTokens / 2)) : -1;
        bool cancelEarly = disconnectAfter < 0 && rng.NextDouble() < options.EarlyCancelRate;
        if (!cancelEarly && disconnectAfter < 0 && rng.NextDouble() < options.OversizeRate)
        {
            await OversizeRequestAsync();
            return;
        }
        int pauseAfter = disconnectAfter < 0 && !cancelEarly && rng.NextDouble() < options.SlowReaderRate ? rng.Next(1, Math.Max(2, options.MaxTokens / 2)) : -1;
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["model"] = options.Model.Length > 0 ? options.Model : null,
                ["messages"] = new[] { new { role = "user", content = Prompts[rng.Next(Prompts.Length)] } },
                ["max_tokens"] = rng.Next(Math.Min(options.MinTokens, options.MaxTokens), options.MaxTokens + 1),
                ["temperature"] = 0.8,
                ["seed"] = rng.Next(),
                ["stream"] = true,
                ["stream_options"] = new { include_usage = true },
                ["logprobs"] = true,
            }), Encoding.UTF8, "application/json"),
        };
        if (options.ApiKey is { } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);

        // The request's own token: cancelled by a random hang-up, never by the end of the run (accepted work finishes).
        using var hangUp = new CancellationTokenSource();
        if (cancelEarly) hangUp.CancelAfter(TimeSpan.FromMilliseconds(rng.Next(1, 50)));
        var sw = Stopwatch.StartNew();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, hangUp.Token);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Interlocked.Increment(ref _rejected);
                var retry = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(retry.TotalMilliseconds, 500)), stop).ContinueWith(_ => { });
                return;
            }
            if ((int)response.StatusCode >= 500) { Interlocked.Increment(ref _server5xx); return; }
            if (!response.IsSuccessStatusCode) { Interlocked.Increment(ref _client4xx); return; }

            await using var body = await response.Content.ReadAsStreamAsync(hangUp.Token);
            using var reader = new StreamReader(body, Encoding.UTF8);
            int tokens = 0;
            int? usageTokens = null;
            double last = 0;
            var gaps = new List<double>();
            double ttft = -1;
            bool done = false;
            while (await reader.ReadLineAsync(hangUp.Token) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                var data = line.AsSpan(6);
                if (data.SequenceEqual("[DONE]")) { done = true; break; }
                using var doc = JsonDocument.Parse(data.ToString());
                var root = doc.RootElement;
                if (root.TryGetProperty("error", out _)) { Interlocked.Increment(ref _streamErrors); return; }
                if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                    usageTokens = usage.GetProperty("completion_tokens").GetInt32();
                foreach (var choice in root.GetProperty("choices").EnumerateArray())
                {
                    if (!choice.TryGetProperty("logprobs", out var lp) || lp.ValueKind != JsonValueKind.Object) continue;
                    int n = lp.GetProperty("content").GetArrayLength();
                    if (n == 0) continue;
                    double now = sw.Elapsed.TotalMilliseconds;
                    if (ttft < 0) ttft = now;
                    else gaps.Add(now - last);
                    last = now;
                    tokens += n;
                    if (pauseAfter > 0 && tokens >= pauseAfter)
                    {
                        // A slow reader: stops reading mid-stream (the server's writes back up), then reads on to the end.
                        pauseAfter = -1;
                        Interlocked.Increment(ref _slow);
                        await Task.Delay(options.SlowReaderPause, CancellationToken.None);
                        last = sw.Elapsed.TotalMilliseconds; // the pause is the client's, not an inter-token gap
                    }
                    if (disconnectAfter > 0 && tokens >= disconnectAfter)
                    {
                        Interlocked.Increment(ref _disconnected);
                        return; // disposing the response hangs up mid-stream
                    }
                }
            }
            if (!done || usageTokens is null) { Interlocked.Increment(ref _streamErrors); return; }
            Interlocked.Increment(ref _completed);
            Interlocked.Add(ref _streamed, tokens);
            Interlocked.Add(ref _lost, Math.Abs(usageTokens.Value - tokens));
            lock (_lock)
            {
                if (ttft >= 0) _ttft.Add(ttft);
                _interToken.AddRange(gaps);
            }
        }
        catch (Exception e) when (hangUp.IsCancellationRequested && e is OperationCanceledException or IOException or HttpRequestException)
        {
            // Our own hang-up: depending on where it lands, the client reports it as a cancellation or an aborted read.
            Interlocked.Increment(ref _cancelled);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            Interlocked.Increment(ref _transport);
        }
    }

    /// <summary>A body over the server's limit: it must be answered 413 (with the body read, not a reset).</summary>
    private async Task OversizeRequestAsync()
    {
        var body = new byte[options.OversizeBytes];
        Array.Fill(body, (byte)' ');
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (options.ApiKey is { } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        try
        {
            using var response = await http.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.RequestEntityTooLarge) Interlocked.Increment(ref _refused413);
            else if ((int)response.StatusCode >= 500) Interlocked.Increment(ref _server5xx);
            else Interlocked.Increment(ref _client4xx);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            Interlocked.Increment(ref _transport);
        }
    }

    private static double Percentile(List<double> xs, double p)
    {
        if (xs.Count == 0) return 0;
        var s = xs.Order().ToArray();
        return s[Math.Min(s.Length - 1, (int)Math.Ceiling(p * s.Length) - 1)];
    }
}
