using System.Text.RegularExpressions;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// The pre-tokenizer regexes of byte-level BPE vocabularies (llama.cpp <c>llm_tokenizer_bpe</c>), source-generated so
/// loading costs nothing and the runtime stays AOT-friendly.
/// </summary>
internal static partial class PreTokenizerPatterns
{
    /// <summary>GGUF <c>tokenizer.ggml.pre</c> values that select the Llama-3 regex (and llama.cpp's ignore_merges).</summary>
    /// <summary>`tokenizer.ggml.pre` values that mean the Llama-3 split (llama.cpp maps Falcon3 and Falcon-E here too).</summary>
    public static bool IsLlama3Name(string? pre) => pre is "llama3" or "llama-v3" or "llama-bpe" or "falcon3" or "falcon_e" or "falcon-e";

    /// <summary>Llama-3 (tiktoken cl100k style: contractions, letters, 1-3 digit groups, punctuation, newlines).</summary>
    [GeneratedRegex(@"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")]
    public static partial Regex Llama3();

    /// <summary>GPT-2, the default for byte-level vocabularies whose <c>pre</c> is absent or unknown.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    public static partial Regex Gpt2();
}
