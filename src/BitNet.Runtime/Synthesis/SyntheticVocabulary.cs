namespace BitNet.Runtime.Synthesis;

/// <summary>
/// A byte-level BPE vocabulary (<c>tokenizer.ggml.model = gpt2</c>) laid out like Llama-3's:
/// ids 0..255 are the GPT-2 byte alphabet in its usual order ("!" first, "Ġ" = space at 220), then merged tokens,
/// then the specials at the end as control tokens (type 3). A vocabulary of at least 1024 gets Llama-3's block of 256
/// specials (so 128256 puts <c>&lt;|begin_of_text|&gt;</c> at 128000, <c>&lt;|end_of_text|&gt;</c> at 128001 and
/// <c>&lt;|eot_id|&gt;</c> at 128009); smaller ones get five, like the reference tiny files.
/// Every merged token is the concatenation of an earlier token and a byte token, with its merge rule in rank order,
/// so the merge table is a valid BPE and a tokenizer really produces the multi-byte tokens.
/// </summary>
internal sealed class SyntheticVocabulary
{
    public const int MinimumSize = 256 + 5;
    public const int TypeNormal = 1;
    public const int TypeControl = 3;
    private const int MaxTokenChars = 16;

    private SyntheticVocabulary(string[] tokens, int[] types, string[] merges, int bos, int eos, int eot)
    {
        Tokens = tokens;
        TokenTypes = types;
        Merges = merges;
        Bos = bos;
        Eos = eos;
        Eot = eot;
    }

    public string[] Tokens { get; }
    public int[] TokenTypes { get; }
    public string[] Merges { get; }
    public int Bos { get; }
    public int Eos { get; }
    public int Eot { get; }

    /// <summary>All zeros, as in the reference files (byte-level BPE ranks by merge order, not by score).</summary>
    public float[] Scores => new float[Tokens.Length];

    public static SyntheticVocabulary Create(int size, ulong seed)
    {
        if (size < MinimumSize) throw new ArgumentOutOfRangeException(nameof(size), size, $"a vocabulary needs at least {MinimumSize} tokens");
        var specials = size >= 1024 ? Llama3Specials() : ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];
        int specialBase = size - specials.Length;
        var tokens = new string[size];
        var types = new int[size];
        var seen = new HashSet<string>(size, StringComparer.Ordinal);
        var alphabet = ByteAlphabet();
        for (int i = 0; i < 256; i++)
        {
            tokens[i] = alphabet[i].ToString();
            seen.Add(tokens[i]);
        }

        var merges = new string[specialBase - 256];
        var wordStarts = new List<int> { SpaceId };
        var rng = new SynthesisRandom(seed, stream: 0x766F636162UL); // "vocab"
        for (int id = 256; id < specialBase; id++)
        {
            for (int attempt = 0; ; attempt++)
            {
                if (attempt == 10_000) throw new InvalidOperationException($"could not find a new token for id {id}");
                // 40% extend a word-start token (Ġ...), otherwise any earlier token; append mostly lowercase letters.
                int left = rng.NextFloat() < 0.4f ? wordStarts[rng.NextInt(wordStarts.Count)] : rng.NextInt(id);
                int right = rng.NextFloat() < 0.85f ? FirstLowercaseId + rng.NextInt(26) : rng.NextInt(256);
                string merged = tokens[left] + tokens[right];
                if (merged.Length > MaxTokenChars || !seen.Add(merged)) continue;
                tokens[id] = merged;
                merges[id - 256] = tokens[left] + " " + tokens[right];
                if (merged[0] == alphabet[SpaceId]) wordStarts.Add(id);
                break;
            }
            types[id] = TypeNormal;
        }
        for (int i = 0; i < 256; i++) types[i] = TypeNormal;
        for (int i = 0; i < specials.Length; i++)
        {
            tokens[specialBase + i] = specials[i];
            types[specialBase + i] = TypeControl;
        }
        int eotOffset = Array.IndexOf(specials, "<|eot_id|>");
        return new SyntheticVocabulary(tokens, types, merges, specialBase, specialBase + 1, specialBase + eotOffset);
    }

    private const int FirstLowercaseId = 'a' - '!';
    private const int SpaceId = 220; // "Ġ"

    /// <summary>GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards.</summary>
    public static char[] ByteAlphabet()
    {
        var chars = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
            if (IsPrintable(b)) chars[n++] = (char)b;
        int shifted = 0;
        for (int b = 0; b < 256; b++)
            if (!IsPrintable(b)) chars[n++] = (char)(256 + shifted++);
        return chars;
    }

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    // Llama-3's 256 added tokens, in order: 128000 begin_of_text, 128001 end_of_text, 128006/7 header ids, 128009 eot_id.
    private static string[] Llama3Specials()
    {
        var s = new string[256];
        int reserved = 0;
        for (int i = 0; i < 256; i++)
        {
            s[i] = i switch
            {
                0 => "<|begin_of_text|>",
                1 => "<|end_of_text|>",
                6 => "<|start_header_id|>",
                7 => "<|end_header_id|>",
                9 => "<|eot_id|>",
                _ => $"<|reserved_special_token_{reserved++}|>",
            };
        }
        return s;
    }
}
