using BitNet.Runtime.Download;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Model;

namespace BitNet.Extensions.AI;

/// <summary>How <see cref="BitNetModelHost"/> loads a model and sizes its engine; the defaults suit a desktop app.</summary>
public sealed record BitNetModelHostOptions
{
    /// <summary>The id reported by the clients; null = the model file's name without its extension.</summary>
    public string? ModelId { get; init; }

    /// <summary>Context length per sequence; 0 = the model's trained context.</summary>
    public int ContextLength { get; init; }

    /// <summary>Requests decoded at once (KV slots); more callers wait in the queue. The KV cache is allocated for all of them.</summary>
    public int MaxParallelSequences { get; init; } = 4;

    /// <summary>Tokens per forward pass: one per running sequence, the rest filled with prompt chunks.</summary>
    public int MaxBatchTokens { get; init; } = 256;

    /// <summary>Requests that may wait for a slot; beyond this a call throws <see cref="InvalidOperationException"/>.</summary>
    public int MaxQueuedRequests { get; init; } = 256;

    /// <summary>Worker threads of the forward pass; 0 = one per core.</summary>
    public int Threads { get; init; }

    /// <summary>KV cache element type (F16 halves the memory of F32).</summary>
    public KvCacheType KvCache { get; init; } = KvCacheType.F16;

    /// <summary>Kernel variant name (scalar, AVX2, AdvSimd, AdvSimd+Dp); null = BITNET_KERNELS or the best this CPU runs.</summary>
    public string? Kernels { get; init; }

    /// <summary>LM head format; <see cref="HeadFormat.Q8_0"/> requantizes an F16 head at load (faster, slightly different logits).</summary>
    public HeadFormat Head { get; init; } = HeadFormat.Native;

    /// <summary>Chat format name (bitnet-2b4t, llama3, chatml, falcon3, plain); null = detected from the model's metadata.</summary>
    public string? ChatFormat { get; init; }

    /// <summary>Defaults of the chat client for options a request leaves out.</summary>
    public BitNetChatClientOptions Chat { get; init; } = new();

    /// <summary>Where an <c>hf:owner/repo</c> model is downloaded to and from; null = the defaults (BITNET_CACHE or ~/.cache/bitnet, huggingface.co, HF_TOKEN).</summary>
    public ModelDownloadOptions? Download { get; init; }

    /// <summary>Receives one-line messages about slow one-time work (repacking a Hugging Face directory's weights).</summary>
    public IProgress<string>? LoadProgress { get; init; }
}
