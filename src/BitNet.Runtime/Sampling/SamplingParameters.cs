namespace BitNet.Runtime.Sampling;

/// <summary>
/// How one sequence picks its next token. Immutable; the defaults change nothing (plain softmax sampling at
/// temperature 1). Field meanings follow the OpenAI request plus the vLLM / llama.cpp extras (top_k, min_p,
/// repetition_penalty).
/// </summary>
public sealed record SamplingParameters
{
    /// <summary>Largest accepted |presence_penalty| and |frequency_penalty| (the OpenAI range).</summary>
    public const float MaxOpenAIPenalty = 2f;

    /// <summary>Largest accepted |logit_bias| value (the OpenAI range).</summary>
    public const float MaxLogitBias = 100f;

    /// <summary>Largest accepted <see cref="TopLogprobs"/> (the OpenAI limit).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>
    /// Below this temperature sampling is greedy: dividing logits by a tiny temperature overflows to infinity, and the
    /// result would be the argmax anyway (vLLM uses the same epsilon).
    /// </summary>
    public const float GreedyTemperatureEpsilon = 1e-5f;

    /// <summary>Softmax temperature, >= 0. 0 (or below <see cref="GreedyTemperatureEpsilon"/>) means greedy (argmax).</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Keep only the K most likely tokens; 0 = off. Values >= the vocabulary size are also off.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: keep the smallest set of most likely tokens whose probability sum reaches P, in (0, 1]. 1 = off.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Keep tokens whose probability is at least MinP times the top token's, in [0, 1]. 0 = off.</summary>
    public float MinP { get; init; }

    /// <summary>
    /// llama.cpp-style repetition penalty, > 0 (1 = off): a positive logit of a recently seen token is divided by it,
    /// a negative one multiplied. Applies once per distinct token in the last <see cref="RepeatLastN"/> tokens.
    /// </summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>
    /// OpenAI presence penalty in [-2, 2]: subtracted once from the logit of every token in the history (the accepted
    /// tokens, plus the prompt when <see cref="PenalizePrompt"/> is set), whatever <see cref="RepeatLastN"/> says.
    /// </summary>
    public float PresencePenalty { get; init; }

    /// <summary>OpenAI frequency penalty in [-2, 2]: subtracted once per occurrence in the history (as for presence).</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>When true, prompt tokens given to <see cref="Sampler.AcceptPrompt"/> count as history for all penalties.</summary>
    public bool PenalizePrompt { get; init; }

    /// <summary>Window (in tokens) of the repetition penalty, >= 0; 0 = the whole history.</summary>
    public int RepeatLastN { get; init; } = 64;

    /// <summary>Token id -> value added to its logit, in [-100, 100]. -100 effectively bans the token.</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }

    /// <summary>RNG seed; the same seed and the same logits give the same tokens. Null = a random seed.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Alternatives to report per token, 0..20; negative = no log-probabilities at all.</summary>
    public int TopLogprobs { get; init; } = -1;

    /// <summary>True when the sampler always takes the argmax.</summary>
    public bool IsGreedy => Temperature < GreedyTemperatureEpsilon;

    /// <summary>True when some penalty needs the token history.</summary>
    public bool HasPenalties => RepetitionPenalty != 1f || PresencePenalty != 0f || FrequencyPenalty != 0f;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> (ParamName = the field) for a value out of range, NaN or infinite,
    /// or a logit_bias token id outside [0, <paramref name="vocabSize"/>).
    /// </summary>
    public void Validate(int vocabSize)
    {
        if (vocabSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "vocabulary size must be positive");

        RequireFinite(Temperature, nameof(Temperature));
        if (Temperature < 0)
            throw new ArgumentException($"{nameof(Temperature)} must be >= 0 (0 = greedy), got {Temperature}", nameof(Temperature));

        if (TopK < 0)
            throw new ArgumentException($"{nameof(TopK)} must be >= 0 (0 = off), got {TopK}", nameof(TopK));

        RequireFinite(TopP, nameof(TopP));
        if (TopP <= 0 || TopP > 1)
            throw new ArgumentException($"{nameof(TopP)} must be in (0, 1], got {TopP}", nameof(TopP));

        RequireFinite(MinP, nameof(MinP));
        if (MinP < 0 || MinP > 1)
            throw new ArgumentException($"{nameof(MinP)} must be in [0, 1], got {MinP}", nameof(MinP));

        RequireFinite(RepetitionPenalty, nameof(RepetitionPenalty));
        if (RepetitionPenalty <= 0)
            throw new ArgumentException($"{nameof(RepetitionPenalty)} must be > 0 (1 = off), got {RepetitionPenalty}", nameof(RepetitionPenalty));

        RequirePenaltyRange(PresencePenalty, nameof(PresencePenalty));
        RequirePenaltyRange(FrequencyPenalty, nameof(FrequencyPenalty));

        if (RepeatLastN < 0)
            throw new ArgumentException($"{nameof(RepeatLastN)} must be >= 0 (0 = whole history), got {RepeatLastN}", nameof(RepeatLastN));

        if (TopLogprobs > MaxTopLogprobs)
            throw new ArgumentException($"{nameof(TopLogprobs)} must be at most {MaxTopLogprobs}, got {TopLogprobs}", nameof(TopLogprobs));

        if (LogitBias is not null)
        {
            foreach (var (token, bias) in LogitBias)
            {
                if ((uint)token >= (uint)vocabSize)
                    throw new ArgumentException(
                        $"{nameof(LogitBias)} names token {token}, outside the vocabulary [0, {vocabSize})", nameof(LogitBias));
                if (!float.IsFinite(bias) || bias < -MaxLogitBias || bias > MaxLogitBias)
                    throw new ArgumentException(
                        $"{nameof(LogitBias)} for token {token} must be a finite value in [-{MaxLogitBias}, {MaxLogitBias}], got {bias}",
                        nameof(LogitBias));
            }
        }
    }

    private static void RequireFinite(float value, string name)
    {
        if (!float.IsFinite(value))
            throw new ArgumentException($"{name} must be a finite number, got {value}", name);
    }

    private static void RequirePenaltyRange(float value, string name)
    {
        RequireFinite(value, name);
        if (value < -MaxOpenAIPenalty || value > MaxOpenAIPenalty)
            throw new ArgumentException($"{name} must be in [-{MaxOpenAIPenalty}, {MaxOpenAIPenalty}], got {value}", name);
    }
}
