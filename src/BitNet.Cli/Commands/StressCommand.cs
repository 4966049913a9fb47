using System.CommandLine;
using System.Text.Json;
using BitNet.Cli.Stress;

namespace BitNet.Cli.Commands;

/// <summary>
/// `bitnet stress --url http://127.0.0.1:8080 [--clients 64] [--duration 120] [--max-tokens 48] [--disconnect-rate 0.1] [--json]`:
/// concurrent streaming clients with random hang-ups against a running server; prints completions, 429s, errors,
/// lost tokens, TTFT and inter-token percentiles. Slow readers (--slow-rate) and oversize bodies (--oversize-rate, a 413
/// is expected) are mixed in. Exit code 1 if any 5xx, stream error, transport error or lost token was seen.
/// </summary>
internal static class StressCommand
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "Server base URL (only your own machine or test hosts)", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var clients = new Option<int>("--clients", "-c") { Description = "Concurrent streaming clients", DefaultValueFactory = _ => 8 };
        var duration = new Option<double>("--duration", "-d") { Description = "Seconds to run (then in-flight requests finish)", DefaultValueFactory = _ => 10 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Upper bound of max_tokens per request", DefaultValueFactory = _ => 48 };
        var minTokens = new Option<int>("--min-tokens") { Description = "Lower bound of max_tokens per request (= --max-tokens: every request asks for exactly that many)", DefaultValueFactory = _ => 4 };
        var disconnect = new Option<double>("--disconnect-rate") { Description = "Fraction of clients hanging up mid-stream", DefaultValueFactory = _ => 0.1 };
        var cancel = new Option<double>("--cancel-rate") { Description = "Fraction of requests cancelled before the first token", DefaultValueFactory = _ => 0.05 };
        var slow = new Option<double>("--slow-rate") { Description = "Fraction of clients that stop reading mid-stream for 1.5 s", DefaultValueFactory = _ => 0.05 };
        var oversize = new Option<double>("--oversize-rate") { Description = "Fraction of requests with a 5 MB body (a 413 is expected)", DefaultValueFactory = _ => 0.02 };
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer key, if the server needs one" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var cmd = new Command("stress", "Load a running server with streaming clients and report errors, lost tokens and latency")
            { url, clients, duration, maxTokens, minTokens, disconnect, cancel, slow, oversize, apiKey, json };
        cmd.SetAction(async (r, ct) =>
        {
            try
            {
                var options = new StressOptions
                {
                    Clients = r.GetValue(clients),
                    Duration = TimeSpan.FromSeconds(r.GetValue(duration)),
                    MaxTokens = r.GetValue(maxTokens),
                    MinTokens = r.GetValue(minTokens),
                    DisconnectRate = r.GetValue(disconnect),
                    EarlyCancelRate = r.GetValue(cancel),
                    SlowReaderRate = r.GetValue(slow),
                    OversizeRate = r.GetValue(oversize),
                    ApiKey = r.GetValue(apiKey),
                };
                if (options.Clients is < 1 or > 10000 || options.Duration <= TimeSpan.Zero || options.MaxTokens < 1)
                    throw new CliException("--clients must be 1..10000, --duration > 0, --max-tokens >= 1");
                if (options.MinTokens < 1 || options.MinTokens > options.MaxTokens)
                    throw new CliException($"--min-tokens must be 1..--max-tokens ({options.MaxTokens})");
                var baseUrl = r.GetValue(url)!;
                using var http = new HttpClient { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = Timeout.InfiniteTimeSpan };
                var report = await new StressRunner(http, options).RunAsync(ct);
                if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(report));
                else Print(report, options);
                return report.ServerErrors5xx + report.StreamErrors + report.TransportErrors + report.LostTokens > 0 ? 1 : 0;
            }
            catch (CliException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return cmd;
    }

    private static void Print(StressReport r, StressOptions o)
    {
        Console.WriteLine($"{o.Clients} clients x {o.Duration.TotalSeconds:F0} s ({r.Seconds:F1} s with drain)");
        Console.WriteLine($"requests: {r.Started} started, {r.Completed} completed, {r.Disconnected} hung up mid-stream, {r.Cancelled} cancelled early, {r.SlowReaders} slow readers");
        Console.WriteLine($"refused:  {r.Rejected429} x 429, {r.Refused413} oversize bodies x 413; errors: {r.ClientErrors4xx} 4xx, {r.ServerErrors5xx} 5xx, {r.StreamErrors} stream errors, {r.TransportErrors} transport");
        Console.WriteLine($"tokens:   {r.StreamedTokens} streamed in completed requests ({r.TokensPerSecond:F1} tok/s), {r.LostTokens} lost");
        Console.WriteLine($"latency:  TTFT p50 {r.TtftP50Ms:F1} ms, p99 {r.TtftP99Ms:F1} ms; inter-token p50 {r.InterTokenP50Ms:F1} ms, p99 {r.InterTokenP99Ms:F1} ms");
    }
}
