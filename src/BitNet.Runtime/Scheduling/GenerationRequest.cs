using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Scheduling;

/// <summary>What a client asked for, already tokenized and validated. Immutable; the engine turns it into sequences.</summary>
public sealed record GenerationRequest
{
    public required int[] PromptTokens { get; init; }
    public SamplingParameters Sampling { get; init; } = new();

    /// <summary>Most tokens to generate per choice (the context also bounds it).</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Texts that end a choice; they are not part of the returned text.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Token ids that end a choice (EOS, EOT); not returned as text.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Independent completions of the same prompt (OpenAI `n`); they share one prefill.</summary>
    public int Choices { get; init; } = 1;

    /// <summary>Cancels every choice within one engine step (client disconnect, deadline).</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>
    /// A chat answer (after "Assistant:"): the spaces its text starts with are dropped, and its first visible character
    /// is never closing punctuation or a line break (<see cref="Tokenization.TextTokenizer.AnswerStartExclusions"/>).
    /// Completions continue their prompt as it is and keep both.
    /// </summary>
    public bool ChatAnswer { get; init; }

    /// <summary>
    /// Structured output: every sampled token keeps the text a valid prefix of a value of this grammar, and the
    /// choice ends (finish_reason stop) when the value is complete. Null = free text.
    /// </summary>
    public Grammar.JsonGrammar? Grammar { get; init; }

    /// <summary>Free-form id for logs and traces.</summary>
    public string Id { get; init; } = "";
}

public enum FinishReason
{
    /// <summary>An end-of-generation token or a stop string.</summary>
    Stop,
    /// <summary>max_tokens or the context length was reached.</summary>
    Length,
    /// <summary>The client went away or the request's deadline passed.</summary>
    Cancelled,
    /// <summary>The engine failed for this request (e.g. non-finite logits).</summary>
    Error,
}

public enum GenerationEventKind
{
    /// <summary>The prompt has been processed (once per request, before the first token).</summary>
    PromptProcessed,
    /// <summary>One generated token of one choice, with its text delta (may be empty while a character or stop string is pending).</summary>
    Token,
    /// <summary>One choice ended; <see cref="GenerationEvent.Text"/> holds any text released by the end.</summary>
    ChoiceFinished,
    /// <summary>Every choice ended; <see cref="GenerationEvent.Usage"/> is set. Last event of a request.</summary>
    Completed,
    /// <summary>The request failed; <see cref="GenerationEvent.Text"/> says why. Last event of a request.</summary>
    Failed,
}

/// <summary>Usage and timings of a finished request (OpenAI `usage` plus llama.cpp-style `timings`).</summary>
public sealed record GenerationUsage(
    int PromptTokens, int CachedTokens, int CompletionTokens,
    TimeSpan QueueTime, TimeSpan PromptTime, TimeSpan GenerationTime, TimeSpan TimeToFirstToken,
    double CpuSeconds = 0)
{
    /// <summary>Process CPU-seconds of this request's forward passes per generated token (0 when none was generated).</summary>
    public double CpuSecondsPerToken => CompletionTokens > 0 ? CpuSeconds / CompletionTokens : 0;
}

/// <summary>One item of a request's event stream.</summary>
public readonly record struct GenerationEvent(
    GenerationEventKind Kind,
    int Choice = 0,
    int TokenId = -1,
    string Text = "",
    float Logprob = float.NaN,
    TokenLogprob[]? TopLogprobs = null,
    FinishReason Finish = FinishReason.Stop,
    GenerationUsage? Usage = null);
