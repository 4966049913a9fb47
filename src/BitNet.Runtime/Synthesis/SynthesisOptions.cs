using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Synthesis;

/// <summary>
/// What <see cref="ModelSynthesizer"/> writes: a named shape preset (<c>"tiny"</c> or <c>"2b4t"</c>), optionally
/// overridden dimension by dimension, an architecture string, the ternary weight encoding and a seed.
/// </summary>
public sealed record SynthesisOptions
{
    /// <summary>Architectures the synthesizer writes (GGUF <c>general.architecture</c>).</summary>
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["bitnet-b1.58", "bitnet", "llama"];

    /// <summary>Encodings the ternary projection weights can take (F32/F16 store t*s as floats).</summary>
    public static readonly IReadOnlyList<GgmlType> SupportedWeightTypes =
        [GgmlType.F32, GgmlType.F16, GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.I2_S];

    /// <summary><c>"bitnet-b1.58"</c> (the official 2B4T file's arch) or <c>"bitnet"</c> (llama.cpp; written with relu2).</summary>
    public string Arch { get; init; } = "bitnet-b1.58";

    /// <summary>Preset: <c>"tiny"</c> (see <see cref="SynthesisShape.Tiny"/>) or <c>"2b4t"</c> (<see cref="SynthesisShape.B2B4T"/>).</summary>
    public string Shape { get; init; } = "tiny";

    /// <summary>Overrides of the preset's dimensions (null keeps the preset's value).</summary>
    public int? Embedding { get; init; }
    public int? Layers { get; init; }
    public int? Heads { get; init; }
    public int? KvHeads { get; init; }
    public int? FeedForward { get; init; }
    public int? Vocab { get; init; }
    public int? Context { get; init; }

    /// <summary>Encoding of the seven projection matrices per layer.</summary>
    public GgmlType WeightType { get; init; } = GgmlType.I2_S;

    /// <summary>Encoding of <c>token_embd</c> (also the tied LM head): F32 or F16; null = F16 for 2b4t, F32 for tiny.</summary>
    public GgmlType? EmbeddingType { get; init; }

    /// <summary>
    /// Seeds the weights. Same seed, same options: byte-identical file. The weight values do not depend on the encodings,
    /// and the vocabulary depends only on its size (so files that differ only in seed have the same size).
    /// </summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The preset with the overrides applied, validated; throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public SynthesisShape ResolveShape()
    {
        var preset = Shape.ToLowerInvariant() switch
        {
            "tiny" => SynthesisShape.Tiny,
            "2b4t" => SynthesisShape.B2B4T,
            "falcon3-10b" => SynthesisShape.Falcon3_10B,
            _ => throw new ArgumentException($"shape '{Shape}' is unknown (tiny, 2b4t, falcon3-10b)", nameof(Shape)),
        };
        var shape = preset with
        {
            Embedding = Embedding ?? preset.Embedding,
            Layers = Layers ?? preset.Layers,
            Heads = Heads ?? preset.Heads,
            KvHeads = KvHeads ?? preset.KvHeads,
            FeedForward = FeedForward ?? preset.FeedForward,
            Vocab = Vocab ?? preset.Vocab,
            Context = Context ?? preset.Context,
        };
        Validate(shape);
        return shape;
    }

    /// <summary>The effective <c>token_embd</c> encoding.</summary>
    public GgmlType ResolveEmbeddingType()
    {
        var type = EmbeddingType ?? (Shape.Equals("tiny", StringComparison.OrdinalIgnoreCase) ? GgmlType.F32 : GgmlType.F16);
        if (type is not (GgmlType.F32 or GgmlType.F16))
            throw new ArgumentException($"embedding type {type} is not supported (F32, F16)", nameof(EmbeddingType));
        return type;
    }

    private void Validate(SynthesisShape s)
    {
        if (!SupportedArchitectures.Contains(Arch))
            throw new ArgumentException($"architecture '{Arch}' is not supported ({string.Join(", ", SupportedArchitectures)})", nameof(Arch));
        if (!SupportedWeightTypes.Contains(WeightType))
            throw new ArgumentException($"weight type {WeightType} is not supported ({string.Join(", ", SupportedWeightTypes)})", nameof(WeightType));
        Positive(s.Embedding, nameof(Embedding));
        Positive(s.Layers, nameof(Layers));
        Positive(s.Heads, nameof(Heads));
        Positive(s.KvHeads, nameof(KvHeads));
        Positive(s.FeedForward, nameof(FeedForward));
        Positive(s.Context, nameof(Context));
        if (s.Embedding % s.Heads != 0)
            throw new ArgumentException($"embedding {s.Embedding} is not a multiple of {s.Heads} heads", nameof(Heads));
        if (s.HeadDim % 2 != 0)
            throw new ArgumentException($"head dimension {s.HeadDim} must be even for RoPE", nameof(Heads));
        if (s.Heads % s.KvHeads != 0)
            throw new ArgumentException($"{s.Heads} heads are not a multiple of {s.KvHeads} KV heads", nameof(KvHeads));
        if (s.Vocab < SyntheticVocabulary.MinimumSize || s.Vocab > 1 << 22)
            throw new ArgumentException($"vocabulary {s.Vocab} is outside {SyntheticVocabulary.MinimumSize}..{1 << 22} (256 byte tokens + specials)", nameof(Vocab));
        // Every projection's K (its ne[0]) is either the embedding or the FFN width.
        int block = TensorFormats.Get(WeightType).BlockSize;
        foreach (var (k, name) in new[] { (s.Embedding, nameof(Embedding)), (s.FeedForward, nameof(FeedForward)) })
            if (k % block != 0)
                throw new ArgumentException($"{name} = {k} is not a multiple of the {WeightType} block size {block}", name);
    }

    private static void Positive(int v, string name)
    {
        if (v <= 0) throw new ArgumentException($"{name} = {v} must be positive", name);
    }
}

/// <summary>Resolved hyper-parameters of a synthesized model.</summary>
public sealed record SynthesisShape(
    int Embedding, int Layers, int Heads, int KvHeads, int FeedForward, int Vocab, int Context,
    float RopeTheta, float RmsEpsilon)
{
    /// <summary>microsoft/bitnet-b1.58-2B-4T: hidden 2560, 30 layers, 20/5 heads, FFN 6912, vocab 128256, context 4096.</summary>
    public static readonly SynthesisShape B2B4T = new(2560, 30, 20, 5, 6912, 128256, 4096, 500000f, 1e-5f);

    /// <summary>tiiuae/Falcon3-10B-Instruct-1.58bit (arch llama): hidden 3072, 40 layers, 12/4 heads of 256, FFN 23040, vocab 131072.</summary>
    public static readonly SynthesisShape Falcon3_10B = new(3072, 40, 12, 4, 23040, 131072, 32768, 1000042f, 1e-6f);

    /// <summary>
    /// Small but shaped like 2B4T: GQA 2:1, head_dim 64, an FFN width (768) that is a multiple of 256 but not a power
    /// of two, and a vocabulary that still holds the 256 byte tokens, a few hundred merges and the specials.
    /// </summary>
    public static readonly SynthesisShape Tiny = new(256, 2, 4, 2, 768, 512, 256, 500000f, 1e-5f);

    public int HeadDim => Embedding / Heads;

    public int KvDim => KvHeads * HeadDim;
}
