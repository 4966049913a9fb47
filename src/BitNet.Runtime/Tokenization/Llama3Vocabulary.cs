using System.Globalization;

namespace BitNet.Runtime.Tokenization;

/// <summary>
/// Facts about the Llama-3 vocabulary (BitNet b1.58 2B4T uses it): 128000 tiktoken ranks, then 256 special tokens
/// named as in Meta's Llama 3.1 tokenizer and the official GGUF files.
/// </summary>
internal static class Llama3Vocabulary
{
    public const int SpecialBase = 128000;
    public const int SpecialCount = 256;
    public const int Size = SpecialBase + SpecialCount;
    public const int BeginOfText = 128000;
    public const int EndOfText = 128001;
    public const int EndOfMessage = 128008;
    public const int EndOfTurn = 128009;

    /// <summary>Name of special token <paramref name="offset"/> (0..255) counted from the first special.</summary>
    public static string SpecialName(int offset) => offset switch
    {
        0 => "<|begin_of_text|>",
        1 => "<|end_of_text|>",
        2 => "<|reserved_special_token_0|>",
        3 => "<|reserved_special_token_1|>",
        4 => "<|finetune_right_pad_id|>",
        5 => "<|reserved_special_token_2|>",
        6 => "<|start_header_id|>",
        7 => "<|end_header_id|>",
        8 => "<|eom_id|>",
        9 => "<|eot_id|>",
        10 => "<|python_tag|>",
        _ => string.Create(CultureInfo.InvariantCulture, $"<|reserved_special_token_{offset - 8}|>"),
    };

    /// <summary>
    /// True for a GGUF vocabulary laid out like Llama-3's (the official 2B4T file says so only through its tokens:
    /// it has no <c>tokenizer.ggml.pre</c>).
    /// </summary>
    public static bool Matches(string[] tokens) =>
        tokens.Length >= Size && tokens[BeginOfText] == SpecialName(0) && tokens[EndOfTurn] == SpecialName(9);

    /// <summary>
    /// End-of-generation ids for a Llama-3 vocabulary: end_of_text and eot_id whatever the metadata's EOS says (chat
    /// turns end with eot_id, raw text with end_of_text), plus eom_id as llama.cpp does.
    /// </summary>
    public static readonly int[] EndOfGenerationIds = [EndOfText, EndOfMessage, EndOfTurn];
}
