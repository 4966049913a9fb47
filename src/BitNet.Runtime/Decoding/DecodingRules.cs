using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Decoding;

/// <summary>
/// What ends a generated sequence and what it may contain, the same for every caller (the server's engine, the CLI):
/// end-of-generation tokens, stop strings, the token limit, a chat answer's start, a grammar. Immutable; one instance
/// serves every sequence of a request.
/// </summary>
public sealed record DecodingRules
{
    /// <summary>No token limit (the context still ends the sequence).</summary>
    public const int Unlimited = int.MaxValue;

    /// <summary>Token ids that end the sequence (EOS, end of turn); they are never part of the text.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Texts that end the sequence; neither they nor anything after them are returned.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Most tokens to generate (end-of-generation excluded); <see cref="Unlimited"/> for none.</summary>
    public int MaxTokens { get; init; } = Unlimited;

    /// <summary>
    /// A chat answer (after "Assistant:"): the whitespace its text starts with is dropped, and until its first visible
    /// character the tokens in <see cref="AnswerStartExclusions"/> (closing punctuation, line breaks) are never sampled.
    /// A completion continues its prompt as it is.
    /// </summary>
    public bool ChatAnswer { get; init; }

    /// <summary>Token ids masked before a chat answer's first visible character (<see cref="Tokenization.TextTokenizer.AnswerStartExclusions"/>).</summary>
    public IReadOnlyList<int> AnswerStartExclusions { get; init; } = [];

    /// <summary>
    /// Structured output: each token keeps the text a valid prefix of this grammar's values, within the tokens left, and
    /// the sequence ends when the value is complete and nothing may follow. Null = free text.
    /// </summary>
    public JsonGrammar? Grammar { get; init; }
}

/// <summary>Why a <see cref="TokenDecoder"/> step ended its sequence, or <see cref="Continue"/>.</summary>
public enum DecodeOutcome
{
    /// <summary>The token was accepted; feed it and decode again.</summary>
    Continue,

    /// <summary>An end-of-generation token was sampled: it is not part of the output.</summary>
    EndOfGeneration,

    /// <summary>The text reached a stop string: the text stops before it.</summary>
    StopString,

    /// <summary>The structured value is complete and nothing may follow it (or there is no room for more).</summary>
    ValueComplete,

    /// <summary><see cref="DecodingRules.MaxTokens"/> tokens were generated.</summary>
    TokenLimit,

    /// <summary>The context is full: the token just sampled cannot be fed.</summary>
    ContextFull,

    /// <summary>The grammar allows no token here (no sample was drawn): the value ends unfinished.</summary>
    GrammarExhausted,
}

/// <summary>One step of a <see cref="TokenDecoder"/>.</summary>
/// <param name="Token">The sampled token, or -1 when none was drawn (<see cref="DecodeOutcome.GrammarExhausted"/>).</param>
/// <param name="Text">Text this token releases: whole characters, never a piece of a stop string.</param>
/// <param name="Outcome">Whether the sequence goes on, and if not why it ended.</param>
public readonly record struct DecodeStep(int Token, string Text, DecodeOutcome Outcome)
{
    /// <summary>The sequence ended at this step.</summary>
    public bool Ended => Outcome != DecodeOutcome.Continue;

    /// <summary>The token counts as output (usage, logprobs): sampled and not an end-of-generation token.</summary>
    public bool IsOutput => Token >= 0 && Outcome != DecodeOutcome.EndOfGeneration;

    /// <summary>OpenAI's reading: ended by the model or a stop (true) rather than a limit.</summary>
    public bool EndedNaturally => Outcome is DecodeOutcome.EndOfGeneration or DecodeOutcome.StopString or DecodeOutcome.ValueComplete;
}
