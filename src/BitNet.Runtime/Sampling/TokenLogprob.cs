namespace BitNet.Runtime.Sampling;

/// <summary>A token id and its natural-log probability.</summary>
public readonly record struct TokenLogprob(int TokenId, float Logprob);
