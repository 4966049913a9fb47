using System.Diagnostics;
using System.Diagnostics.Metrics;
using BitNet.Server.Hosting;

namespace BitNet.Server.Infrastructure;

/// <summary>
/// The server's meters and spans, named after the OpenTelemetry GenAI conventions
/// (gen_ai.server.request.duration, time_to_first_token, time_per_output_token) plus vLLM-style gauges.
/// </summary>
public sealed class ServerTelemetry : IDisposable
{
    public const string MeterName = "BitNet.Server";
    public const string ActivitySourceName = "BitNet.Server";

    public static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    private readonly Meter _meter;

    public ServerTelemetry(IMeterFactory meters, ModelHost host)
    {
        _meter = meters.Create(MeterName);
        RequestDuration = _meter.CreateHistogram<double>("gen_ai.server.request.duration", "s", "Time from request arrival to its last token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });
        TimeToFirstToken = _meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from request arrival to the first generated token",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] });
        TimePerOutputToken = _meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Average time between generated tokens of a request",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0] });
        TokenUsage = _meter.CreateCounter<long>("gen_ai.server.token.usage", "{token}", "Prompt (input) and generated (output) tokens");
        Requests = _meter.CreateCounter<long>("bitnet.requests", "{request}", "Requests by outcome");
        _meter.CreateObservableGauge("bitnet.requests.running", () => host.Engine?.Stats.Running ?? 0, "{request}", "Sequences being decoded");
        _meter.CreateObservableGauge("bitnet.requests.waiting", () => host.Engine?.Stats.Waiting ?? 0, "{request}", "Requests waiting for a KV slot");
        _meter.CreateObservableGauge("bitnet.kv_cache.usage", () => host.Engine?.Stats.KvUsage ?? 0, "1", "Fraction of KV cache positions in use");
        _meter.CreateObservableGauge("bitnet.prefix_cache.hit_ratio", () => host.Engine?.Stats.PrefixHitRatio ?? 0, "1", "Prompt tokens served from cached KV / all prompt tokens");
        _meter.CreateObservableCounter("bitnet.engine.cpu_time", () => host.Engine?.Stats.CpuSeconds ?? 0, "s",
            "Process CPU time of the engine's forward passes (all worker threads)");
        _meter.CreateObservableGauge("bitnet.engine.cpu_seconds_per_token", () => host.Engine?.Stats.CpuSecondsPerGeneratedToken ?? 0, "s",
            "CPU-seconds of forward passes (prompts included) per generated token since start");
        _meter.CreateObservableCounter("bitnet.engine.steps", () => host.Engine?.Stats.Steps ?? 0, "{step}", "Forward passes of the batching engine");
    }

    public Histogram<double> RequestDuration { get; }
    public Histogram<double> TimeToFirstToken { get; }
    public Histogram<double> TimePerOutputToken { get; }
    public Counter<long> TokenUsage { get; }
    public Counter<long> Requests { get; }

    public void Dispose() => _meter.Dispose();
}
