using BitNet.Runtime.Gguf;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>Small in-memory GGUF vocabularies whose behaviour can be worked out by hand.</summary>
internal static class SyntheticVocabularies
{
    /// <summary>
    /// SentencePiece: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte tokens (ids 3..258), then a few pieces. Anything
    /// else (emoji, most CJK) falls back to byte tokens, which split UTF-8 characters.
    /// </summary>
    public static GgufMetadata SentencePiece(bool addSpacePrefix = true)
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { 2, 3, 3 };
        for (int b = 0; b < 256; b++)
        {
            tokens.Add($"<0x{b:X2}>");
            types.Add(6);
        }
        foreach (string piece in new[] { "▁", "a", "b", "▁a", "▁b", "ab", "▁ab", "你", "好", "你好", "▁你好", "é", "▁hello", "hello", "<|user|>" })
        {
            tokens.Add(piece);
            types.Add(piece == "<|user|>" ? 4 : 1);
        }
        var scores = new float[tokens.Count];
        for (int i = 0; i < scores.Length; i++) scores[i] = -i;
        var values = new Dictionary<string, GgufValue>
        {
            ["tokenizer.ggml.model"] = new(GgufValueType.String, "llama"),
            ["tokenizer.ggml.tokens"] = new(GgufValueType.Array, tokens.ToArray(), GgufValueType.String),
            ["tokenizer.ggml.scores"] = new(GgufValueType.Array, scores, GgufValueType.Float32),
            ["tokenizer.ggml.token_type"] = new(GgufValueType.Array, types.ToArray(), GgufValueType.Int32),
            ["tokenizer.ggml.bos_token_id"] = new(GgufValueType.UInt32, 1u),
            ["tokenizer.ggml.eos_token_id"] = new(GgufValueType.UInt32, 2u),
            ["tokenizer.ggml.add_space_prefix"] = new(GgufValueType.Bool, addSpacePrefix),
        };
        return new GgufMetadata(values);
    }

    /// <summary>Token id of byte <paramref name="b"/> in <see cref="SentencePiece"/>.</summary>
    public static int ByteToken(int b) => 3 + b;

    /// <summary>
    /// Byte-level BPE: the 256 GPT-2 alphabet characters in byte order (id = byte), then
    /// 256 "Ġt", 257 "Ġth", 258 "he", 259 "Ġthe", 260 "12", 261 "123", 262 "1234", 263 "12345", 264 "&lt;|endoftext|&gt;" (control).
    /// Merges: "h e", "Ġ t", "Ġt he", "1 2", "12 3", "123 4", "1234 5" — no merge builds "Ġth".
    /// </summary>
    public static GgufMetadata ByteLevel(string? pre)
    {
        var tokens = new List<string>();
        for (int b = 0; b < 256; b++) tokens.Add(Gpt2Char((byte)b).ToString());
        tokens.AddRange(["Ġt", "Ġth", "he", "Ġthe", "12", "123", "1234", "12345", "<|endoftext|>"]);
        var types = new int[tokens.Count];
        Array.Fill(types, 1);
        types[^1] = 3;
        var values = new Dictionary<string, GgufValue>
        {
            ["tokenizer.ggml.model"] = new(GgufValueType.String, "gpt2"),
            ["tokenizer.ggml.tokens"] = new(GgufValueType.Array, tokens.ToArray(), GgufValueType.String),
            ["tokenizer.ggml.token_type"] = new(GgufValueType.Array, types, GgufValueType.Int32),
            ["tokenizer.ggml.merges"] = new(GgufValueType.Array,
                new[] { "h e", "Ġ t", "Ġt he", "1 2", "12 3", "123 4", "1234 5" }, GgufValueType.String),
            ["tokenizer.ggml.eos_token_id"] = new(GgufValueType.UInt32, 264u),
        };
        if (pre is not null) values["tokenizer.ggml.pre"] = new(GgufValueType.String, pre);
        return new GgufMetadata(values);
    }

    private static char Gpt2Char(byte b)
    {
        // Independent restatement of GPT-2's bytes_to_unicode (printable bytes keep their code, others go to 256+n).
        int shifted = 0;
        for (int i = 0; i < 256; i++)
        {
            bool printable = (i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE;
            if (i == b) return printable ? (char)i : (char)(256 + shifted);
            if (!printable) shifted++;
        }
        throw new InvalidOperationException();
    }
}
