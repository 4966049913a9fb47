using System.Text.Json;

namespace BitNet.Deploy.Tests;

/// <summary>
/// What the deployment files must agree with: the metric names the server exports (Prometheus form, as
/// OpenTelemetry's exporter writes them for the instruments in src/BitNet.Server/Infrastructure/ServerTelemetry.cs;
/// checked against a running server's /metrics), the option names of appsettings.json, and the memory the
/// 2B4T model needs.
/// </summary>
internal static class ServerFacts
{
    public const int ContainerPort = 8080;
    public const string HealthPath = "/health";
    public const string MetricsPath = "/metrics";
    public const string BundledModel = "models/stories3m-b158-i2_s.gguf";
    public const string HubModel2B4T = "hf:microsoft/bitnet-b1.58-2B-4T-gguf";

    public static readonly string[] Histograms =
    [
        "gen_ai_server_request_duration_seconds",
        "gen_ai_server_time_to_first_token_seconds",
        "gen_ai_server_time_per_output_token_seconds",
    ];

    public static readonly string[] CountersAndGauges =
    [
        "gen_ai_server_token_usage_total",
        "bitnet_requests_running",
        "bitnet_requests_waiting",
        "bitnet_kv_cache_usage",
        "bitnet_prefix_cache_hit_ratio",
        "bitnet_requests_total",
        "bitnet_engine_steps_total",
    ];

    /// <summary>Every series name a query may select: counters, gauges and the histograms' _bucket/_sum/_count.</summary>
    public static readonly HashSet<string> SeriesNames =
    [
        .. CountersAndGauges,
        .. Histograms.SelectMany(h => new[] { h + "_bucket", h + "_sum", h + "_count" }),
    ];

    /// <summary>Labels the server's series carry, plus those Prometheus adds (job, instance) or the scrape config sets.</summary>
    public static readonly HashSet<string> Labels =
        ["gen_ai_token_type", "gen_ai_operation_name", "gen_ai_request_model", "outcome", "le", "job", "instance", "service", "otel_scope_name"];

    /// <summary>The official ggml-model-i2_s.gguf of microsoft/bitnet-b1.58-2B-4T-gguf.</summary>
    public const long Model2B4TFileBytes = 1_187_801_280;

    /// <summary>KV bytes per position of one sequence: 30 layers x (K,V) x 640 (5 KV heads x 128) x float32.</summary>
    public const long Kv2B4TBytesPerPosition = 30L * 2 * 640 * sizeof(float);

    /// <summary>Model plus a full KV cache for the configured parallel sequences and context (2B4T's context is 4096; 0 means that).</summary>
    public static long Memory2B4T(int parallel, int contextSize) =>
        Model2B4TFileBytes + parallel * (long)(contextSize == 0 ? 4096 : contextSize) * Kv2B4TBytesPerPosition;

    /// <summary>A floor for the .NET runtime, scratch buffers and HTTP on top of model + KV in a memory limit.</summary>
    public const long RuntimeOverheadBytes = 256L << 20;

    /// <summary>The option names of the "BitNet" section of the root appsettings.json (what BitNet__X may name).</summary>
    public static IReadOnlySet<string> OptionNames { get; } = LoadOptionNames();

    /// <summary>Fails when a BitNet__X variable names an option that does not exist (a silently ignored typo).</summary>
    public static void AssertKnownOption(string variable, string where)
    {
        if (!variable.StartsWith("BitNet__", StringComparison.Ordinal)) return;
        string option = variable["BitNet__".Length..].Split("__")[0];
        Assert.True(OptionNames.Contains(option),
            $"{where}: {variable} sets BitNet:{option}, which is not an option in appsettings.json (known: {string.Join(", ", OptionNames)})");
    }

    private static HashSet<string> LoadOptionNames()
    {
        using var doc = JsonDocument.Parse(TestPaths.ReadText("appsettings.json"));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.GetProperty("BitNet").EnumerateObject()) names.Add(p.Name);
        return names;
    }
}
