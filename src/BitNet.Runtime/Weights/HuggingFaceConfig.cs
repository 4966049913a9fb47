using System.Text.Json;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Model;

namespace BitNet.Runtime.Weights;

/// <summary>What <c>weight_scale</c> means (docs/bitnet-runtime.md §4, the trap): it differs per transformers class.</summary>
public enum LinearClass
{
    /// <summary>transformers AutoBitLinear (2B4T): the stored value is s, y = (t . x) * s.</summary>
    AutoBitLinear,
    /// <summary>The older BitLinear (and llama.cpp's converter): the stored value is 1/s, y = (t . x) / stored.</summary>
    BitLinear,
}

/// <summary>
/// A Hugging Face <c>config.json</c> of a ternary model, mapped to this runtime's GGUF-style metadata and graph:
/// BitNetForCausalLM (model_type bitnet: the bitnet-b1.58 graph with SubLN) and LlamaForCausalLM with
/// <c>quantization_config.quant_method = bitnet</c> (the llama graph; HF q/k are not permuted, so its rope is NEOX).
/// </summary>
public sealed record HuggingFaceConfig
{
    public required string Architecture { get; init; }
    public required ArchitectureTraits Traits { get; init; }
    public required bool TieWordEmbeddings { get; init; }

    /// <summary>quantization_config.linear_class, or null when the key is absent (then packed weights are refused).</summary>
    public required LinearClass? LinearClass { get; init; }

    /// <summary>quantization_config.quantization_mode ("offline" packed, "online" latent), as written.</summary>
    public required string? QuantizationMode { get; init; }

    public required int? BosTokenId { get; init; }
    public required int[] EosTokenIds { get; init; }

    /// <summary><c>general.*</c> and <c>{arch}.*</c> keys as a GGUF of this model would carry them.</summary>
    public required Dictionary<string, GgufValue> Metadata { get; init; }

    public static HuggingFaceConfig Load(string path)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            try
            {
                return Parse(doc.RootElement);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
        }
    }

    internal static HuggingFaceConfig Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("config is not a JSON object");
        string modelType = Json.String(root, "model_type") ?? throw new InvalidDataException("'model_type' is missing");
        string[] architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : "").ToArray()
            : [];
        var quant = root.TryGetProperty("quantization_config", out var q) && q.ValueKind == JsonValueKind.Object ? q : (JsonElement?)null;
        string? quantMethod = quant is { } qm ? Json.String(qm, "quant_method") : null;

        string arch;
        ArchitectureTraits traits;
        if (modelType == "bitnet" || architectures.Contains("BitNetForCausalLM"))
        {
            arch = "bitnet-b1.58";
            traits = ArchitectureTraits.Find(arch)!;
        }
        else if (modelType == "llama" || architectures.Contains("LlamaForCausalLM"))
        {
            if (quantMethod != "bitnet")
                throw new InvalidDataException($"a Llama model with quantization_config.quant_method = '{quantMethod ?? "(none)"}' is an " +
                    "ordinary model; BitNet.Server runs only ternary ones (quant_method 'bitnet')");
            arch = "llama";
            // HF keeps q/k in rotate_half order (j pairs with j + d/2): NEOX, not the NORM pairing a llama GGUF's
            // permuted q/k need. Its float weights under quant_method bitnet are latent weights to ternarize.
            traits = ArchitectureTraits.Find(arch)! with { Rope = RopeStyle.Neox, LatentFloatWeights = true };
        }
        else
        {
            throw new InvalidDataException($"model_type '{modelType}' ({string.Join(", ", architectures)}) is not supported " +
                "(BitNetForCausalLM, or LlamaForCausalLM with quant_method bitnet)");
        }
        if (quantMethod is not null and not "bitnet")
            throw new InvalidDataException($"quantization_config.quant_method = '{quantMethod}' is not 'bitnet'");
        if (Json.Bool(root, "attention_bias") == true || Json.Bool(root, "mlp_bias") == true)
            throw new InvalidDataException("attention_bias / mlp_bias are not supported (no BitNet or Falcon3 model uses them)");
        if (root.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind != JsonValueKind.Null)
            throw new InvalidDataException("'rope_scaling' is not supported; only plain RoPE with rope_theta is");

        LinearClass? linearClass = null;
        string? mode = null;
        if (quant is { } qc)
        {
            linearClass = Json.String(qc, "linear_class") switch
            {
                null => null,
                "autobitlinear" => Weights.LinearClass.AutoBitLinear,
                "bitlinear" => Weights.LinearClass.BitLinear,
                var other => throw new InvalidDataException(
                    $"quantization_config.linear_class = '{other}' is not 'autobitlinear' or 'bitlinear'"),
            };
            mode = Json.String(qc, "quantization_mode");
        }

        int hidden = Json.RequiredInt(root, "hidden_size", 1, 1 << 16);
        int heads = Json.RequiredInt(root, "num_attention_heads", 1, 1024);
        var md = new Dictionary<string, GgufValue>(StringComparer.Ordinal)
        {
            ["general.architecture"] = new(GgufValueType.String, arch),
            [$"{arch}.embedding_length"] = U32(hidden),
            [$"{arch}.block_count"] = U32(Json.RequiredInt(root, "num_hidden_layers", 1, 1024)),
            [$"{arch}.attention.head_count"] = U32(heads),
            [$"{arch}.attention.head_count_kv"] = U32(Json.Int(root, "num_key_value_heads", 1, 1024) ?? heads),
            [$"{arch}.feed_forward_length"] = U32(Json.RequiredInt(root, "intermediate_size", 1, 1 << 20)),
            [$"{arch}.context_length"] = U32(Json.Int(root, "max_position_embeddings", 1, 1 << 24) ?? 2048),
            [$"{arch}.attention.layer_norm_rms_epsilon"] = new(GgufValueType.Float32, (float)(Json.Double(root, "rms_norm_eps") ?? 1e-6)),
            [$"{arch}.rope.freq_base"] = new(GgufValueType.Float32, (float)(Json.Double(root, "rope_theta") ?? 10000)),
        };
        if (Json.Int(root, "vocab_size", 1, 1 << 22) is { } vocab) md[$"{arch}.vocab_size"] = U32(vocab);
        if (Json.Int(root, "head_dim", 1, 4096) is { } headDim)
        {
            md[$"{arch}.attention.key_length"] = U32(headDim);
            md[$"{arch}.attention.value_length"] = U32(headDim);
        }
        if (Json.String(root, "hidden_act") is { } act)
        {
            string value = act switch
            {
                "relu2" => "relu2",
                "silu" or "swish" => "silu",
                _ => throw new InvalidDataException($"hidden_act '{act}' is not supported (relu2, silu)"),
            };
            if (arch == "llama" && value != "silu") throw new InvalidDataException($"hidden_act '{act}' in a Llama model is not supported");
            if (arch != "llama") md[$"{arch}.hidden_activation"] = new(GgufValueType.String, value);
        }
        if (Json.String(root, "_name_or_path") is { Length: > 0 } name) md["general.name"] = new(GgufValueType.String, name);

        return new HuggingFaceConfig
        {
            Architecture = arch,
            Traits = traits,
            // transformers' PretrainedConfig default is true; LlamaConfig's is false.
            TieWordEmbeddings = Json.Bool(root, "tie_word_embeddings") ?? arch != "llama",
            LinearClass = linearClass,
            QuantizationMode = mode,
            BosTokenId = Json.Int(root, "bos_token_id", 0, int.MaxValue),
            EosTokenIds = Json.Ids(root, "eos_token_id"),
            Metadata = md,
        };
    }

    private static GgufValue U32(int v) => new(GgufValueType.UInt32, (uint)v);
}

/// <summary>Typed reads of optional JSON properties that name the key when the value has the wrong kind.</summary>
internal static class Json
{
    public static string? String(JsonElement o, string key) => o.TryGetProperty(key, out var v) ? v.ValueKind switch
    {
        JsonValueKind.String => v.GetString(),
        JsonValueKind.Null => null,
        _ => throw new InvalidDataException($"'{key}' is {v.ValueKind}, expected a string"),
    } : null;

    public static bool? Bool(JsonElement o, string key) => o.TryGetProperty(key, out var v) ? v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        _ => throw new InvalidDataException($"'{key}' is {v.ValueKind}, expected true or false"),
    } : null;

    public static double? Double(JsonElement o, string key)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
            throw new InvalidDataException($"'{key}' = {v.GetRawText()} is not a number");
        return d;
    }

    public static int? Int(JsonElement o, string key, long min, long max)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n) || n < min || n > max)
            throw new InvalidDataException($"'{key}' = {v.GetRawText()} is not an integer in {min}..{max}");
        return (int)n;
    }

    public static int RequiredInt(JsonElement o, string key, long min, long max) =>
        Int(o, key, min, max) ?? throw new InvalidDataException($"'{key}' is missing");

    /// <summary>A token id or a list of them (generation_config's eos_token_id may be either).</summary>
    public static int[] Ids(JsonElement o, string key)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return [];
        if (v.ValueKind == JsonValueKind.Array)
            return v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i) && i >= 0
                ? i : throw new InvalidDataException($"'{key}' has an invalid id {e.GetRawText()}")).ToArray();
        return [Int(o, key, 0, int.MaxValue)!.Value];
    }

    public static JsonDocument ParseFile(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e);
        }
    }
}
