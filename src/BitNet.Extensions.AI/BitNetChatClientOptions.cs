using BitNet.Runtime.Sampling;

namespace BitNet.Extensions.AI;

/// <summary>
/// Defaults of a <see cref="BitNetChatClient"/> for what a request's <c>ChatOptions</c> leaves out. The sampling
/// defaults are the server's (temperature 0.8, top-p 0.95, top-k 40, min-p 0.05), so an in-process answer and an HTTP
/// answer to the same request draw from the same distribution.
/// </summary>
public sealed record BitNetChatClientOptions
{
    /// <summary>Sampling used for every field a request does not set.</summary>
    public SamplingParameters DefaultSampling { get; init; } = new()
    {
        Temperature = 0.8f,
        TopP = 0.95f,
        TopK = 40,
        MinP = 0.05f,
    };

    /// <summary>
    /// Most tokens an answer may have when <c>ChatOptions.MaxOutputTokens</c> is not set; the room left in the context
    /// bounds it as well.
    /// </summary>
    public int DefaultMaxOutputTokens { get; init; } = 512;

    /// <summary>Throws <see cref="ArgumentException"/> naming the property whose value is out of range.</summary>
    public void Validate(int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(DefaultSampling, nameof(DefaultSampling));
        if (DefaultMaxOutputTokens < 1)
            throw new ArgumentException($"{nameof(DefaultMaxOutputTokens)} must be at least 1, got {DefaultMaxOutputTokens}", nameof(DefaultMaxOutputTokens));
        try
        {
            DefaultSampling.Validate(vocabSize);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{nameof(DefaultSampling)}.{ChatRequestMapper.BareMessage(e)}", nameof(DefaultSampling), e);
        }
    }
}
