using System.Text;
using System.Text.RegularExpressions;
using BitNet.Runtime.Gguf;

namespace BitNet.Runtime.Tokenization;

/// <summary>How a byte-level vocabulary with Llama-3 pre-tokenization is run (tests pin both against the goldens).</summary>
internal enum ByteLevelEngine
{
    /// <summary>Tiktoken when its ranks are the token ids (checked), the merge list otherwise.</summary>
    Auto,

    /// <summary>Always the GGUF merge list through BpeTokenizer.</summary>
    Merges,
}

/// <summary>Builds a <see cref="TextTokenizer"/> from GGUF <c>tokenizer.ggml.*</c> metadata, as llama.cpp's <c>llama_vocab::load</c> reads it.</summary>
internal static class GgufTokenizerLoader
{
    private const string Prefix = "tokenizer.ggml.";

    public static TextTokenizer Load(GgufMetadata metadata, ByteLevelEngine engine = ByteLevelEngine.Auto)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string model = metadata.GetStringOrNull(Prefix + "model")
            ?? throw new InvalidDataException($"GGUF metadata has no {Prefix}model: the file carries no vocabulary");
        string[] tokens = metadata.GetArrayOrNull<string>(Prefix + "tokens")
            ?? throw new InvalidDataException($"GGUF metadata key '{Prefix}tokens' is missing");
        if (tokens.Length == 0) throw new InvalidDataException($"GGUF metadata key '{Prefix}tokens' is empty");
        var types = ReadTokenTypes(metadata, tokens.Length);
        return model switch
        {
            "gpt2" => LoadByteLevel(metadata, tokens, types, engine),
            "llama" => LoadSentencePiece(metadata, tokens, types),
            _ => throw new NotSupportedException(
                $"{Prefix}model = '{model}' is not supported; expected 'gpt2' (byte-level BPE) or 'llama' (SentencePiece BPE)"),
        };
    }

    private static TextTokenizer LoadByteLevel(GgufMetadata metadata, string[] tokens, TokenType[] types, ByteLevelEngine engine)
    {
        string? pre = metadata.GetStringOrNull(Prefix + "pre");
        bool llama3Vocabulary = Llama3Vocabulary.Matches(tokens);
        // The official 2B4T GGUF has no 'pre' key: its Llama-3 vocabulary still needs the Llama-3 regex.
        bool llama3 = PreTokenizerPatterns.IsLlama3Name(pre) || (pre is null && llama3Vocabulary);
        Regex regex = PreTokenizerPatterns.ForName(pre, llama3Vocabulary);

        var builder = new TokenTable.Builder(tokens.Length);
        for (int id = 0; id < tokens.Length; id++)
        {
            if (IsMarker(types[id])) builder.Bytes.AddRange(Encoding.UTF8.GetBytes(tokens[id]));
            else if (types[id] != TokenType.Unused) ByteLevelAlphabet.Unmap(tokens[id], builder.Bytes);
            builder.EndToken(types[id]);
        }
        var table = builder.Build();

        string[]? merges = metadata.GetArrayOrNull<string>(Prefix + "merges");
        IFragmentEncoder encoder;
        if (llama3 && engine == ByteLevelEngine.Auto && RanksAreTokenIds(tokens, types, table, merges))
        {
            encoder = TiktokenFragmentEncoder.FromRanks(table, id => IsOrdinary(types[id]), regex);
        }
        else
        {
            if (merges is null) throw new InvalidDataException($"GGUF metadata key '{Prefix}merges' is missing (needed by a gpt2 tokenizer)");
            encoder = MergesBpeFragmentEncoder.Create(OrdinaryTokens(tokens, types), merges, regex, ignoreMerges: llama3);
        }

        var extraEog = new List<int> { ReadId(metadata, "eot_token_id", tokens.Length, -1), ReadId(metadata, "eom_token_id", tokens.Length, -1) };
        if (llama3Vocabulary) extraEog.AddRange(Llama3Vocabulary.EndOfGenerationIds);
        return new TextTokenizer(new TokenizerDefinition
        {
            Kind = TokenizerKind.ByteLevelBpe,
            Encoder = encoder,
            Table = table,
            BosId = ReadId(metadata, "bos_token_id", tokens.Length, llama3Vocabulary ? Llama3Vocabulary.BeginOfText : -1),
            EosId = ReadId(metadata, "eos_token_id", tokens.Length, llama3Vocabulary ? Llama3Vocabulary.EndOfText : -1),
            AddBos = metadata.GetBool(Prefix + "add_bos_token", llama3 || llama3Vocabulary),
            ExtraEndOfGenerationIds = extraEog,
        });
    }

    private static TextTokenizer LoadSentencePiece(GgufMetadata metadata, string[] tokens, TokenType[] types)
    {
        float[] scores = ReadScores(metadata, tokens.Length);
        int unknownFallback = types[0] == TokenType.Unknown ? 0 : -1;
        return SentencePieceVocabulary.Build(new SentencePieceVocabulary.Parts
        {
            Tokens = tokens,
            Scores = scores,
            Types = types,
            BosId = ReadId(metadata, "bos_token_id", tokens.Length, tokens.Length > 1 ? 1 : -1),
            EosId = ReadId(metadata, "eos_token_id", tokens.Length, tokens.Length > 2 ? 2 : -1),
            UnknownId = ReadId(metadata, "unknown_token_id", tokens.Length, unknownFallback),
            AddBos = metadata.GetBool(Prefix + "add_bos_token", true),
            AddSpacePrefix = metadata.GetBool(Prefix + "add_space_prefix", true),
            ExtraEndOfGenerationIds = [ReadId(metadata, "eot_token_id", tokens.Length, -1), ReadId(metadata, "eom_token_id", tokens.Length, -1)],
        });
    }

    /// <summary>Tokens the text encoder may produce: not special, not unused.</summary>
    internal static bool IsOrdinary(TokenType type) => type is TokenType.Normal or TokenType.Undefined or TokenType.Byte;

    private static bool IsMarker(TokenType type) => type is TokenType.Control or TokenType.UserDefined or TokenType.Unknown;

    private static Dictionary<string, int> OrdinaryTokens(string[] tokens, TokenType[] types)
    {
        var vocabulary = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Length; id++)
            if (IsOrdinary(types[id])) vocabulary.TryAdd(tokens[id], id);
        return vocabulary;
    }

    /// <summary>
    /// Tiktoken merges the adjacent pair whose concatenation has the lowest rank; llama.cpp merges by position in the
    /// merge list. They agree when ranks are token ids, i.e. when walking the merge list in order never produces a
    /// token with a lower id than an earlier merge did (true for Llama-3: the list was derived from the ranks), and
    /// when every single byte is a token. Anything else keeps the merge list.
    /// </summary>
    private static bool RanksAreTokenIds(string[] tokens, TokenType[] types, TokenTable table, string[]? merges)
    {
        Span<bool> singleBytes = stackalloc bool[256];
        int distinct = 0;
        for (int id = 0; id < table.Count; id++)
        {
            var bytes = table.Bytes(id);
            if (bytes.Length == 1 && IsOrdinary(types[id]) && !singleBytes[bytes[0]]) { singleBytes[bytes[0]] = true; distinct++; }
        }
        if (distinct != 256) return false;
        if (merges is null) return true;

        var lookup = OrdinaryTokens(tokens, types).GetAlternateLookup<ReadOnlySpan<char>>();
        char[] joined = new char[256];
        int highest = -1;
        foreach (string merge in merges)
        {
            int space = merge.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || merge.Length - 1 > joined.Length) return false;
            merge.AsSpan(0, space).CopyTo(joined);
            merge.AsSpan(space + 1).CopyTo(joined.AsSpan(space));
            if (!lookup.TryGetValue(joined.AsSpan(0, merge.Length - 1), out int id) || id < highest) return false;
            highest = id;
        }
        return true;
    }

    private static TokenType[] ReadTokenTypes(GgufMetadata metadata, int count)
    {
        var types = new TokenType[count];
        if (!metadata.TryGet(Prefix + "token_type", out var value))
        {
            Array.Fill(types, TokenType.Normal);
            return types;
        }
        long[] raw = ReadIntegers(value, Prefix + "token_type");
        if (raw.Length != count)
            throw new InvalidDataException($"GGUF metadata key '{Prefix}token_type' has {raw.Length} entries for {count} tokens");
        for (int i = 0; i < count; i++)
        {
            if (raw[i] is < 0 or > (long)TokenType.Byte)
                throw new InvalidDataException($"GGUF metadata key '{Prefix}token_type': token {i} has unknown type {raw[i]}");
            types[i] = (TokenType)raw[i];
        }
        return types;
    }

    private static long[] ReadIntegers(GgufValue value, string key) => value.Value switch
    {
        int[] a => Array.ConvertAll(a, v => (long)v),
        uint[] a => Array.ConvertAll(a, v => (long)v),
        long[] a => a,
        short[] a => Array.ConvertAll(a, v => (long)v),
        ushort[] a => Array.ConvertAll(a, v => (long)v),
        sbyte[] a => Array.ConvertAll(a, v => (long)v),
        byte[] a => Array.ConvertAll(a, v => (long)v),
        _ => throw new InvalidDataException($"GGUF metadata key '{key}' is {value}, expected an array of integers"),
    };

    private static float[] ReadScores(GgufMetadata metadata, int count)
    {
        if (!metadata.TryGet(Prefix + "scores", out var value)) return new float[count]; // llama.cpp: missing scores are 0
        float[] scores = value.Value switch
        {
            float[] a => a,
            double[] a => Array.ConvertAll(a, v => (float)v),
            _ => throw new InvalidDataException($"GGUF metadata key '{Prefix}scores' is {value}, expected an array of floats"),
        };
        if (scores.Length != count)
            throw new InvalidDataException($"GGUF metadata key '{Prefix}scores' has {scores.Length} entries for {count} tokens");
        return scores;
    }

    /// <summary>A token-id key; -1 (or 0xFFFFFFFF as some writers store "none") means absent.</summary>
    private static int ReadId(GgufMetadata metadata, string name, int count, int fallback)
    {
        string key = Prefix + name;
        long id = metadata.GetInt(key, fallback);
        if (id is -1 or uint.MaxValue) return -1;
        if (id < 0 || id >= count)
            throw new InvalidDataException($"GGUF metadata key '{key}' = {id} is outside the vocabulary of {count} tokens");
        return (int)id;
    }
}
