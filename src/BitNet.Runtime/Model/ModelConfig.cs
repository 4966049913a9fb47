using BitNet.Runtime.Gguf;

namespace BitNet.Runtime.Model;

/// <summary>The gated FFN's activation: relu(g)^2 * u (BitNet b1.58 2B4T) or silu(g) * u (1bitLLM `bitnet`).</summary>
public enum FfnActivation
{
    ReluSquared,
    Silu,
}

/// <summary>How RoPE pairs the elements of a head.</summary>
public enum RopeStyle
{
    /// <summary>Element j with j + d/2 (GPT-NeoX; the bitnet* architectures).</summary>
    Neox,
    /// <summary>Adjacent pairs 2i, 2i+1 (llama.cpp's "norm" rope; its converter permutes q/k for it).</summary>
    Norm,
}

/// <summary>
/// What distinguishes the supported graphs, as data: the forward pass reads these facts and has no per-architecture
/// code paths (docs/bitnet-runtime.md §2).
/// </summary>
/// <param name="Name">GGUF `general.architecture`.</param>
/// <param name="SubLayerNorms">SubLN: an RMSNorm before Wo (attn_sub_norm) and before Wdown (ffn_sub_norm).</param>
/// <param name="Activation">The FFN activation unless `{arch}.hidden_activation` says otherwise.</param>
/// <param name="Rope">RoPE pairing.</param>
/// <param name="LatentFloatWeights">Float projection weights that are not ternary-valued are latent weights to
/// ternarize with absmean (BitNet checkpoints); false where such weights mean an ordinary, non-ternary model.</param>
public sealed record ArchitectureTraits(string Name, bool SubLayerNorms, FfnActivation Activation, RopeStyle Rope, bool LatentFloatWeights)
{
    public static readonly IReadOnlyList<ArchitectureTraits> All =
    [
        new("bitnet-b1.58", SubLayerNorms: true, FfnActivation.ReluSquared, RopeStyle.Neox, LatentFloatWeights: true),
        new("bitnet-25", SubLayerNorms: true, FfnActivation.ReluSquared, RopeStyle.Neox, LatentFloatWeights: true),
        new("bitnet", SubLayerNorms: true, FfnActivation.Silu, RopeStyle.Neox, LatentFloatWeights: true),
        // Falcon3-*-1.58bit, Falcon-E, Llama3-8B-1.58: a plain Llama graph whose seven projections are ternary.
        new("llama", SubLayerNorms: false, FfnActivation.Silu, RopeStyle.Norm, LatentFloatWeights: false),
    ];

    public static ArchitectureTraits? Find(string name) => All.FirstOrDefault(a => a.Name == name);
}

/// <summary>Hyper-parameters of a BitNet transformer, read from `{arch}.*` GGUF metadata and validated.</summary>
public sealed record ModelConfig
{
    /// <summary>Architectures this runtime runs (GGUF `general.architecture`).</summary>
    public static readonly IReadOnlyList<string> SupportedArchitectures = ArchitectureTraits.All.Select(a => a.Name).ToArray();

    public required string Architecture { get; init; }
    public required int Embedding { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int FeedForward { get; init; }
    public required int Vocab { get; init; }
    public required int Context { get; init; }
    public required float RmsEps { get; init; }
    public required float RopeTheta { get; init; }
    public required int RopeDim { get; init; }
    public required FfnActivation Activation { get; init; }
    public required ArchitectureTraits Traits { get; init; }

    public bool SubLayerNorms => Traits.SubLayerNorms;
    public RopeStyle Rope => Traits.Rope;

    /// <summary>Width of the concatenated query heads (= attention output width).</summary>
    public int QDim => Heads * HeadDim;

    /// <summary>Width of the key (and value) vector of one token.</summary>
    public int KvDim => KvHeads * HeadDim;

    /// <summary>Reads and validates the configuration; <paramref name="vocabRows"/> is token_embd's row count;
    /// <paramref name="traits"/> overrides the graph the architecture name implies (see IWeightSource.Traits).</summary>
    public static ModelConfig FromGguf(GgufMetadata md, long vocabRows, ArchitectureTraits? traits = null)
    {
        string arch = md.GetStringOrNull("general.architecture")
            ?? throw new InvalidDataException("GGUF metadata has no 'general.architecture': not a model file");
        traits ??= ArchitectureTraits.Find(arch) ?? throw new InvalidDataException(
            $"architecture '{arch}' is not supported (supported: {string.Join(", ", SupportedArchitectures)})");

        int Int(string key, long min, long max, long? fallback = null)
        {
            string full = $"{arch}.{key}";
            long v = fallback is { } f ? md.GetInt(full, f) : md.GetInt(full);
            if (v < min || v > max) throw new InvalidDataException($"metadata '{full}' = {v} is outside {min}..{max}");
            return (int)v;
        }

        int embedding = Int("embedding_length", 1, 1 << 16);
        int heads = Int("attention.head_count", 1, 1024);
        int kvHeads = Int("attention.head_count_kv", 1, 1024, heads);
        if (heads % kvHeads != 0)
            throw new InvalidDataException($"{heads} attention heads are not a multiple of {kvHeads} KV heads");
        int headDim = Int("attention.key_length", 1, 4096, embedding / heads);
        int ropeDim = Int("rope.dimension_count", 2, headDim, headDim);
        if (ropeDim % 2 != 0) throw new InvalidDataException($"{arch}.rope.dimension_count = {ropeDim} is odd");
        double eps = md.GetDouble($"{arch}.attention.layer_norm_rms_epsilon", 1e-5);
        double theta = md.GetDouble($"{arch}.rope.freq_base", 10000);
        if (!(eps > 0 && eps < 1)) throw new InvalidDataException($"{arch}.attention.layer_norm_rms_epsilon = {eps} is not in (0, 1)");
        if (!(theta > 1 && theta < 1e12)) throw new InvalidDataException($"{arch}.rope.freq_base = {theta} is not a sensible RoPE base");
        if (vocabRows < 1 || vocabRows > 1 << 22) throw new InvalidDataException($"vocabulary of {vocabRows} tokens is not sensible");

        var activation = traits.Activation;
        if (md.GetStringOrNull($"{arch}.hidden_activation") is { } act)
        {
            activation = act switch
            {
                "relu2" or "relu_squared" or "relu²" => FfnActivation.ReluSquared,
                "silu" or "swish" => FfnActivation.Silu,
                _ => throw new InvalidDataException($"{arch}.hidden_activation = '{act}' is not supported (relu2, silu)"),
            };
        }

        return new ModelConfig
        {
            Architecture = arch,
            Embedding = embedding,
            Layers = Int("block_count", 1, 1024),
            Heads = heads,
            KvHeads = kvHeads,
            HeadDim = headDim,
            FeedForward = Int("feed_forward_length", 1, 1 << 20),
            Vocab = (int)vocabRows,
            Context = Int("context_length", 1, 1 << 20, 2048),
            RmsEps = (float)eps,
            RopeTheta = (float)theta,
            RopeDim = ropeDim,
            Activation = activation,
            Traits = traits,
        };
    }
}
