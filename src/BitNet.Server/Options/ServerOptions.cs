using System.ComponentModel.DataAnnotations;

namespace BitNet.Server.Options;

/// <summary>Everything the server is configured with (section "BitNet" of appsettings.json, BITNET__* variables, flags).</summary>
public sealed class ServerOptions
{
    public const string Section = "BitNet";

    /// <summary>Path of a GGUF model; empty serves the bundled model (models/stories3m-b158-i2_s.gguf).</summary>
    public string Model { get; set; } = "";

    /// <summary>The model id clients send and /v1/models lists; default: the file name without extension.</summary>
    public string Alias { get; set; } = "";

    /// <summary>Context length per sequence; 0 = the model's trained context.</summary>
    [Range(0, 1 << 20)]
    public int ContextSize { get; set; }

    /// <summary>Sequences decoded together (KV slots).</summary>
    [Range(1, 256)]
    public int Parallel { get; set; } = 4;

    /// <summary>Kernel threads; 0 = processor count.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>Kernel variant (auto, AVX-512, AVX-VNNI, AVX-512BW, AVX2, AdvSimd+Dp, AdvSimd, scalar); empty = $BITNET_KERNELS, else the best this CPU runs.</summary>
    public string Kernels { get; set; } = "";

    /// <summary>KV cache storage: f16 (default), f32 or q8_0.</summary>
    public string KvCacheType { get; set; } = "f16";

    /// <summary>LM head storage: native (default: the file's exact head) or q8_0 (requantized at load: faster decode, logits within ~0.6).</summary>
    public string Head { get; set; } = "native";

    /// <summary>Tokens per engine step (decode tokens plus prompt chunks).</summary>
    [Range(1, 8192)]
    public int MaxBatchTokens { get; set; } = 256;

    /// <summary>Requests allowed to wait for a free slot; more are answered 429 with Retry-After.</summary>
    [Range(0, 100000)]
    public int MaxQueuedRequests { get; set; } = 64;

    /// <summary>
    /// Read the model file into transparent huge pages (Linux, when it takes at most half of the available memory)
    /// instead of mapping it: batch-1 decode on the 2B4T shape ran 1.2x faster. False: always map the file.
    /// </summary>
    public bool HugePages { get; set; } = true;

    /// <summary>Run the forward pass twice after loading, before /health reports ready, so the first request is not slowed by the JIT.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>Accepted bearer keys. None configured (and no key file) = authentication off.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>A file with one API key per line (blank lines and # comments ignored).</summary>
    public string ApiKeyFile { get; set; } = "";

    /// <summary>Origins allowed to call the API from a browser; empty = no cross-origin access.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    /// <summary>Upper bound on max_tokens a request may ask for.</summary>
    [Range(1, 1 << 20)]
    public int MaxTokensCap { get; set; } = 4096;

    /// <summary>max_tokens when a request does not say (still bounded by the context).</summary>
    [Range(1, 1 << 20)]
    public int DefaultMaxTokens { get; set; } = 512;

    /// <summary>
    /// Refuse (404 model_not_found) a request whose `model` is not the served alias. Off by default: a one-model server
    /// answers whatever name an app hard-codes (gpt-4o-mini, gpt-3.5-turbo) and reports its own id.
    /// </summary>
    public bool StrictModelNames { get; set; }

    /// <summary>Chat format override (bitnet-2b4t, llama3, chatml, falcon3, plain); empty = detect from the model.</summary>
    public string ChatFormat { get; set; } = "";

    /// <summary>Log prompt and completion text (off by default: prompts are private).</summary>
    public bool LogPrompts { get; set; }

    /// <summary>Largest accepted request body.</summary>
    [Range(1024, 1L << 30)]
    public long MaxRequestBodyBytes { get; set; } = 4 << 20;

    /// <summary>Most messages in one chat request.</summary>
    [Range(1, 1 << 20)]
    public int MaxMessages { get; set; } = 1024;

    /// <summary>Server-wide deadline of a request (seconds); a request's own `timeout` may be shorter.</summary>
    [Range(1, 86400)]
    public int RequestTimeoutSeconds { get; set; } = 600;

    /// <summary>On shutdown, how long requests in flight may keep running before they are ended.</summary>
    [Range(0, 3600)]
    public int ShutdownGraceSeconds { get; set; } = 20;

    /// <summary>Seconds a client is told to wait after a 429.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 2;

    /// <summary>
    /// Responses kept in memory for GET /v1/responses/{id} and previous_response_id (request `store`, default true);
    /// past it the oldest is evicted. 0 = store nothing.
    /// </summary>
    [Range(0, 1_000_000)]
    public int ResponseStoreSize { get; set; } = 256;

    /// <summary>Defaults for sampling fields a request leaves out.</summary>
    public SamplingDefaults Sampling { get; set; } = new();

    /// <summary>Where `hf:` model references are downloaded to; empty = $BITNET_CACHE, else ~/.cache/bitnet.</summary>
    public string CacheDirectory { get; set; } = "";

    /// <summary>Base URL of the model hub (tests point it at a local server).</summary>
    public string HubBaseUrl { get; set; } = "https://huggingface.co";

    /// <summary>Access token for gated or private hub repositories (else $HF_TOKEN). Never logged.</summary>
    public string HubToken { get; set; } = "";

    /// <summary>Optional OTLP endpoint for traces and metrics (e.g. http://otel-collector:4317); empty = off.</summary>
    public string OtlpEndpoint { get; set; } = "";
}

public sealed class SamplingDefaults
{
    [Range(0, 2)] public float Temperature { get; set; } = 0.8f;
    [Range(0, 1)] public float TopP { get; set; } = 0.95f;
    [Range(0, 1 << 20)] public int TopK { get; set; } = 40;
    [Range(0, 1)] public float MinP { get; set; } = 0.05f;
    [Range(0.01, 10)] public float RepetitionPenalty { get; set; } = 1.0f;
}
