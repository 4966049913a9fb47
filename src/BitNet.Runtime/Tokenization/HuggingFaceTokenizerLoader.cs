using System.Text.Json;
using BitNet.Runtime.Gguf;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> (+ <c>tokenizer_config.json</c>) into the <c>tokenizer.ggml.*</c> keys
/// llama.cpp's converter would write for it (convert_hf_to_gguf <c>_set_vocab_gpt2</c>): tokens by id, token types
/// (added special tokens are control, other added tokens user-defined, ids with no token unused), merges, BOS/EOS,
/// add_bos, the pre-tokenizer name, the chat template. One tokenizer path then serves both containers, and
/// <c>bitnet convert</c> writes exactly these keys.
/// </summary>
public static class HuggingFaceTokenizerLoader
{
    private const string Prefix = "tokenizer.ggml.";

    /// <param name="directory">Holds tokenizer.json and optionally tokenizer_config.json.</param>
    /// <param name="vocabSize">config.json's vocab_size (the embedding rows): ids past the last token are unused.</param>
    /// <param name="bosId">config.json's bos_token_id, used when tokenizer_config.json names no BOS.</param>
    /// <param name="eosIds">config/generation_config eos ids: the first is EOS unless tokenizer_config.json names one; the
    /// rest end generation too.</param>
    public static Dictionary<string, GgufValue> ReadMetadata(string directory, int? vocabSize = null, int? bosId = null, IReadOnlyList<int>? eosIds = null)
    {
        string path = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(path)) throw new InvalidDataException($"{directory}: tokenizer.json is missing");
        try
        {
            using var doc = Weights.Json.ParseFile(path);
            string configPath = Path.Combine(directory, "tokenizer_config.json");
            using var config = File.Exists(configPath) ? Weights.Json.ParseFile(configPath) : null;
            return Read(doc.RootElement, config?.RootElement, vocabSize, bosId, eosIds ?? []);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(directory, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>A <see cref="TextTokenizer"/> for a Hugging Face model directory.</summary>
    public static TextTokenizer Load(string directory, int? vocabSize = null, int? bosId = null, IReadOnlyList<int>? eosIds = null) =>
        TextTokenizer.FromGguf(new GgufMetadata(ReadMetadata(directory, vocabSize, bosId, eosIds)));

    private static Dictionary<string, GgufValue> Read(JsonElement root, JsonElement? config, int? vocabSize, int? bosId, IReadOnlyList<int> eosIds)
    {
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("no 'model' object");
        string type = Weights.Json.String(model, "type") ?? "BPE";
        if (type != "BPE") throw new InvalidDataException($"model.type '{type}' is not supported (byte-level BPE only)");
        if (Weights.Json.Bool(model, "byte_fallback") == true)
            throw new InvalidDataException("a SentencePiece-style BPE (byte_fallback) is not supported from tokenizer.json; use a GGUF");
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("model.vocab is missing");

        var byId = new Dictionary<int, string>();
        var special = new HashSet<int>();
        var added = new HashSet<int>();
        foreach (var v in vocab.EnumerateObject())
        {
            if (v.Value.ValueKind != JsonValueKind.Number || !v.Value.TryGetInt32(out int id) || id < 0 || id >= 1 << 22)
                throw new InvalidDataException($"model.vocab '{v.Name}' has an invalid id {v.Value.GetRawText()}");
            if (!byId.TryAdd(id, v.Name)) throw new InvalidDataException($"model.vocab: id {id} is used twice");
        }
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
        {
            foreach (var t in addedTokens.EnumerateArray())
            {
                int id = Weights.Json.Int(t, "id", 0, (1 << 22) - 1) ?? throw new InvalidDataException("an added token has no id");
                string content = Weights.Json.String(t, "content") ?? throw new InvalidDataException($"added token {id} has no content");
                if (byId.TryGetValue(id, out var existing) && existing != content)
                    throw new InvalidDataException($"added token {id} '{content}' collides with vocab token '{existing}'");
                byId[id] = content;
                added.Add(id);
                if (Weights.Json.Bool(t, "special") == true) special.Add(id);
            }
        }

        int count = Math.Max(byId.Keys.Max() + 1, vocabSize ?? 0);
        var tokens = new string[count];
        var types = new int[count];
        for (int id = 0; id < count; id++)
        {
            if (byId.TryGetValue(id, out var tok))
            {
                tokens[id] = tok;
                types[id] = special.Contains(id) ? (int)TokenType.Control : added.Contains(id) ? (int)TokenType.UserDefined : (int)TokenType.Normal;
            }
            else
            {
                tokens[id] = $"[PAD{id}]";
                types[id] = (int)TokenType.Unused;
            }
        }

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m) && m.ValueKind == JsonValueKind.Array)
        {
            foreach (var e in m.EnumerateArray())
            {
                merges.Add(e.ValueKind switch
                {
                    JsonValueKind.String => e.GetString()!,
                    JsonValueKind.Array when e.GetArrayLength() == 2 && e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.String) =>
                        string.Join(' ', e.EnumerateArray().Select(x => x.GetString())),
                    _ => throw new InvalidDataException($"model.merges has an invalid entry {e.GetRawText()}"),
                });
            }
        }

        var md = new Dictionary<string, GgufValue>(StringComparer.Ordinal)
        {
            [Prefix + "model"] = new(GgufValueType.String, "gpt2"),
            [Prefix + "pre"] = new(GgufValueType.String, PreTokenizerName(root)),
            [Prefix + "tokens"] = new(GgufValueType.Array, tokens, GgufValueType.String),
            [Prefix + "token_type"] = new(GgufValueType.Array, types, GgufValueType.Int32),
            [Prefix + "merges"] = new(GgufValueType.Array, merges.ToArray(), GgufValueType.String),
        };

        var ids = byId.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
        int? TokenId(string key)
        {
            if (config is not { } c || !c.TryGetProperty(key, out var v)) return null;
            string? text = v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Object => Weights.Json.String(v, "content"),
                _ => null,
            };
            if (text is null) return null;
            return ids.TryGetValue(text, out int id) ? id : throw new InvalidDataException($"tokenizer_config.json {key} '{text}' is not a token");
        }
        int? bos = TokenId("bos_token") ?? bosId;
        int? eos = TokenId("eos_token") ?? (eosIds.Count > 0 ? eosIds[0] : null);
        if (bos is { } b) md[Prefix + "bos_token_id"] = new(GgufValueType.UInt32, (uint)b);
        if (eos is { } e2) md[Prefix + "eos_token_id"] = new(GgufValueType.UInt32, (uint)e2);
        // GGUF has two more end-of-generation slots; generation_config's other eos ids go there.
        var extra = eosIds.Where(id => id != eos).Distinct().ToArray();
        if (extra.Length > 0) md[Prefix + "eot_token_id"] = new(GgufValueType.UInt32, (uint)extra[0]);
        if (extra.Length > 1) md[Prefix + "eom_token_id"] = new(GgufValueType.UInt32, (uint)extra[1]);
        foreach (var id in new[] { bos, eos }.Concat(extra.Select(x => (int?)x)))
            if (id is { } i && (i < 0 || i >= count)) throw new InvalidDataException($"special token id {i} is outside the vocabulary of {count}");

        bool? addBos = config is { } cfg ? Weights.Json.Bool(cfg, "add_bos_token") : null;
        md[Prefix + "add_bos_token"] = new(GgufValueType.Bool, addBos ?? PostProcessorAddsBos(root, bos is { } bb ? tokens[bb] : null));
        if (config is { } cfg2 && Weights.Json.Bool(cfg2, "add_eos_token") is { } addEos)
            md[Prefix + "add_eos_token"] = new(GgufValueType.Bool, addEos);
        if (config is { } cfg3 && ChatTemplate(cfg3) is { } template)
            md["tokenizer.chat_template"] = new(GgufValueType.String, template);
        return md;
    }

    /// <summary>The GGUF pre-tokenizer name whose regex this tokenizer.json uses; unknown regexes are refused rather
    /// than silently tokenized differently.</summary>
    private static string PreTokenizerName(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException("no pre_tokenizer: not a byte-level BPE tokenizer");
        var list = Weights.Json.String(pre, "type") == "Sequence" && pre.TryGetProperty("pretokenizers", out var seq) && seq.ValueKind == JsonValueKind.Array
            ? seq.EnumerateArray().ToList()
            : [pre];
        string? regex = null;
        bool byteLevel = false, byteLevelRegex = false, punctuation = false;
        bool? individualDigits = null;
        foreach (var p in list)
        {
            switch (p.ValueKind == JsonValueKind.Object ? Weights.Json.String(p, "type") : null)
            {
                case "Split" when p.TryGetProperty("pattern", out var pat) && pat.ValueKind == JsonValueKind.Object:
                    if (regex is not null) throw new InvalidDataException("more than one Split pre-tokenizer is not supported");
                    regex = Weights.Json.String(pat, "Regex") ?? throw new InvalidDataException("a Split pre-tokenizer without a Regex is not supported");
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    byteLevelRegex = Weights.Json.Bool(p, "use_regex") ?? true;
                    if (Weights.Json.Bool(p, "add_prefix_space") == true)
                        throw new InvalidDataException("ByteLevel add_prefix_space is not supported");
                    break;
                case "Punctuation":
                    // Only before the ByteLevel regex does it change the split the way the combined regexes assume.
                    if (byteLevel) throw new InvalidDataException("a Punctuation pre-tokenizer after ByteLevel is not supported");
                    string behavior = Weights.Json.String(p, "behavior") ?? "Isolated";
                    if (behavior != "Contiguous")
                        throw new InvalidDataException($"Punctuation behavior '{behavior}' is not supported (only Contiguous, as Falcon's tokenizers use)");
                    punctuation = true;
                    break;
                case "Digits":
                    // Digits commutes with the other steps (numbers are neither punctuation nor joined across it).
                    individualDigits = Weights.Json.Bool(p, "individual_digits") ?? false;
                    break;
                default:
                    throw new InvalidDataException($"pre-tokenizer {p.GetRawText()[..Math.Min(80, p.GetRawText().Length)]} is not supported");
            }
        }
        if (!byteLevel) throw new InvalidDataException("the pre-tokenizer has no ByteLevel step: not a byte-level BPE tokenizer");
        if (punctuation || individualDigits is not null)
        {
            if (!punctuation || regex is not null || !byteLevelRegex)
                throw new InvalidDataException("Punctuation and Digits pre-tokenizers are supported only as Punctuation (Contiguous) + ByteLevel (use_regex) + Digits");
            return individualDigits switch
            {
                null => PreTokenizerPatterns.PunctuationGpt2Name,
                true => PreTokenizerPatterns.PunctuationGpt2DigitsName,
                false => PreTokenizerPatterns.PunctuationGpt2DigitRunsName,
            };
        }
        if (regex is null) return byteLevelRegex ? "gpt2" : throw new InvalidDataException("a ByteLevel pre-tokenizer without a regex is not supported");
        if (byteLevelRegex) throw new InvalidDataException("a Split regex followed by the ByteLevel regex is not supported");
        if (regex == Llama3CaseInsensitive || regex == PreTokenizerPatterns.Llama3().ToString()) return "llama-bpe";
        throw new InvalidDataException($"pre-tokenizer regex {regex} is not one this runtime knows (Llama-3's, GPT-2's)");
    }

    /// <summary>The Llama-3 regex as tokenizer.json writes it (a case-insensitive group; same language as ours).</summary>
    private const string Llama3CaseInsensitive =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static bool PostProcessorAddsBos(JsonElement root, string? bosToken)
    {
        if (bosToken is null || !root.TryGetProperty("post_processor", out var pp)) return false;
        return StartsWithBos(pp, bosToken);
    }

    /// <summary>A TemplateProcessing (possibly inside a Sequence) whose single-sequence template starts with BOS.</summary>
    private static bool StartsWithBos(JsonElement p, string bosToken)
    {
        if (p.ValueKind != JsonValueKind.Object) return false;
        if (p.TryGetProperty("processors", out var list) && list.ValueKind == JsonValueKind.Array)
            return list.EnumerateArray().Any(x => StartsWithBos(x, bosToken));
        if (Weights.Json.String(p, "type") != "TemplateProcessing" || !p.TryGetProperty("single", out var single)
            || single.ValueKind != JsonValueKind.Array || single.GetArrayLength() == 0) return false;
        var first = single[0];
        return first.ValueKind == JsonValueKind.Object && first.TryGetProperty("SpecialToken", out var st)
            && st.ValueKind == JsonValueKind.Object && Weights.Json.String(st, "id") == bosToken;
    }

    /// <summary>chat_template is a string, or a list of {name, template} of which "default" is the chat one.</summary>
    private static string? ChatTemplate(JsonElement config)
    {
        if (!config.TryGetProperty("chat_template", out var t)) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        if (t.ValueKind == JsonValueKind.Array)
            foreach (var e in t.EnumerateArray())
                if (e.ValueKind == JsonValueKind.Object && Weights.Json.String(e, "name") == "default") return Weights.Json.String(e, "template");
        return null;
    }
}
