namespace BitNet.Runtime.Weights;

/// <summary>Hugging Face (transformers Llama/BitNet) tensor names to GGUF names, as llama.cpp's converter maps them.</summary>
public static class HuggingFaceTensorNames
{
    private static readonly (string Hf, string Gguf)[] LayerParts =
    [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("self_attn.attn_sub_norm", "attn_sub_norm"),
        ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
        ("mlp.ffn_sub_norm", "ffn_sub_norm"),
    ];

    private static readonly HashSet<string> Projections = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"];

    /// <summary>The GGUF name of an HF tensor, or null when it has no place in the graph.</summary>
    public static string? ToGguf(string hf)
    {
        switch (hf)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        const string layers = "model.layers.";
        if (!hf.StartsWith(layers, StringComparison.Ordinal) || !hf.EndsWith(".weight", StringComparison.Ordinal)) return null;
        int dot = hf.IndexOf('.', layers.Length);
        if (dot < 0 || !int.TryParse(hf.AsSpan(layers.Length, dot - layers.Length), out int layer) || layer < 0) return null;
        string part = hf[(dot + 1)..^".weight".Length];
        foreach (var (h, g) in LayerParts)
            if (h == part) return $"blk.{layer}.{g}.weight";
        return null;
    }

    /// <summary>The HF name of a GGUF tensor name (for messages), or the name itself.</summary>
    public static string ToHf(string gguf)
    {
        switch (gguf)
        {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
        }
        var parts = gguf.Split('.');
        if (parts.Length == 4 && parts[0] == "blk")
            foreach (var (h, g) in LayerParts)
                if (g == parts[2]) return $"model.layers.{parts[1]}.{h}.{parts[3]}";
        return gguf;
    }

    /// <summary>Whether a GGUF tensor name is one of a layer's seven BitLinear projections.</summary>
    public static bool IsProjection(string gguf)
    {
        var parts = gguf.Split('.');
        return parts.Length == 4 && parts[0] == "blk" && Projections.Contains(parts[2]);
    }
}
