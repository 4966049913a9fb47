using System.Text.RegularExpressions;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// The pre-tokenizer regexes of byte-level BPE vocabularies (llama.cpp <c>llm_tokenizer_bpe</c>), source-generated so
/// loading costs nothing and the runtime stays AOT-friendly.
/// </summary>
internal static partial class PreTokenizerPatterns
{
    /// <summary>
    /// `tokenizer.ggml.pre` values that mean the Llama-3 split and llama.cpp's ignore_merges. llama.cpp
    /// (src/llama-vocab.cpp, <c>llama_vocab::impl::load</c>) maps <c>falcon3</c> and <c>falcon_e</c> here too, and its
    /// converter names Falcon3's tokenizer <c>falcon3</c>, so a Falcon3 GGUF is tokenized with this regex.
    /// </summary>
    public static bool IsLlama3Name(string? pre) => pre is "llama3" or "llama-v3" or "llama-bpe" or "falcon3" or "falcon_e" or "falcon-e";

    /// <summary>Llama-3 (tiktoken cl100k style: contractions, letters, 1-3 digit groups, punctuation, newlines).</summary>
    [GeneratedRegex(@"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")]
    public static partial Regex Llama3();

    /// <summary>
    /// The regex of a byte-level <c>tokenizer.ggml.pre</c> name: Llama-3's for its names, one of the punctuation-first
    /// forms below for theirs, GPT-2's otherwise (absent or unknown, as llama.cpp's default).
    /// </summary>
    public static Regex ForName(string? pre, bool llama3Vocabulary) => pre switch
    {
        PunctuationGpt2Name => PunctuationGpt2(),
        PunctuationGpt2DigitsName => PunctuationGpt2Digits(),
        PunctuationGpt2DigitRunsName => PunctuationGpt2DigitRuns(),
        _ when IsLlama3Name(pre) || (pre is null && llama3Vocabulary) => Llama3(),
        _ => Gpt2(),
    };

    // ---------------------------------------------------------------- Hugging Face punctuation-first pipelines
    //
    // tokenizer.json can split in steps instead of one Split regex: Sequence [Punctuation (Contiguous), ByteLevel
    // (use_regex: the GPT-2 regex), Digits]. Falcon's tokenizers are written this way. Each is one regex here, equal to
    // the pipeline because every alternative stays inside one piece of the punctuation split:
    //  - P = HF's is_punc: Unicode \p{P} plus the ASCII punctuation that Unicode calls symbols ($ + < = > ^ ` | ~);
    //    a maximal run of P is one piece (Contiguous), and no other alternative may consume P;
    //  - GPT-2's contractions cannot match: the apostrophe is P, so it is never inside a non-P piece;
    //  - GPT-2's \s+(?!\S) sees the end of its piece as the end of the text: (?![^\sP]) is that lookahead;
    //  - Digits isolates numbers (\p{N}: Rust's char::is_numeric) from what GPT-2 joined to them (" 123" -> " ", "123"),
    //    each digit alone with individual_digits = true, so the number alternative loses its optional space.
    // The names are this runtime's (llama.cpp has no pre-tokenizer type for these pipelines).

    /// <summary>`tokenizer.ggml.pre` of Punctuation + ByteLevel (no Digits step).</summary>
    public const string PunctuationGpt2Name = "bitnet-punct-gpt2";

    /// <summary>`tokenizer.ggml.pre` of Punctuation + ByteLevel + Digits(individual_digits = true).</summary>
    public const string PunctuationGpt2DigitsName = "bitnet-punct-gpt2-digits";

    /// <summary>`tokenizer.ggml.pre` of Punctuation + ByteLevel + Digits(individual_digits = false).</summary>
    public const string PunctuationGpt2DigitRunsName = "bitnet-punct-gpt2-digit-runs";

    [GeneratedRegex(@"[\p{P}$+<=>^`|~]+| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}\p{P}$+<=>^`|~]+|\s+(?![^\s\p{P}$+<=>^`|~])|\s+")]
    public static partial Regex PunctuationGpt2();

    [GeneratedRegex(@"[\p{P}$+<=>^`|~]+| ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}\p{P}$+<=>^`|~]+|\s+(?![^\s\p{P}$+<=>^`|~])|\s+")]
    public static partial Regex PunctuationGpt2Digits();

    [GeneratedRegex(@"[\p{P}$+<=>^`|~]+| ?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}\p{P}$+<=>^`|~]+|\s+(?![^\s\p{P}$+<=>^`|~])|\s+")]
    public static partial Regex PunctuationGpt2DigitRuns();

    /// <summary>GPT-2, the default for byte-level vocabularies whose <c>pre</c> is absent or unknown.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    public static partial Regex Gpt2();
}
