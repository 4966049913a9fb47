using System.Diagnostics;
using System.Numerics.Tensors;
using System.Threading.Channels;

namespace BitNet.Runtime.Scheduling;

/// <summary>The engine's queue is full; the caller may retry later (HTTP answers 429).</summary>
public sealed class EngineQueueFullException() : InvalidOperationException("the server is busy: the request queue is full; retry later");

public sealed partial class InferenceEngine
{
    /// <summary>
    /// The embedding of <paramref name="tokens"/>: the tokens are prefilled like a prompt (in chunks, batched with
    /// every other request in the same forward passes, so embeddings and generation share the scheduler), and the
    /// result is the mean of every token's final hidden state (after the final RMS norm, the head's input),
    /// L2-normalized to length 1. Its length is the model's embedding width. No token is sampled; the KV slot is free
    /// again when the call returns.
    /// </summary>
    /// <exception cref="ArgumentException">No tokens, a token outside the vocabulary, or more tokens than the context.</exception>
    /// <exception cref="EngineQueueFullException">The wait queue is full.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidOperationException">The forward pass failed (e.g. non-finite values) or the engine is stopping.</exception>
    public async Task<float[]> EmbedAsync(IReadOnlyList<int> tokens, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var prompt = tokens.ToArray();
        if (prompt.Length == 0) throw new ArgumentException("the input is empty");
        if (prompt.Length > ContextLength)
            throw new ArgumentException($"the input has {prompt.Length} tokens; the context holds {ContextLength}");
        foreach (int t in prompt)
            if ((uint)t >= (uint)_model.Config.Vocab) throw new ArgumentException($"input token {t} is outside the vocabulary");
        cancellationToken.ThrowIfCancellationRequested();

        var request = new GenerationRequest { PromptTokens = prompt, MaxTokens = 1, Cancellation = cancellationToken, Id = "embedding" };
        var channel = Channel.CreateUnbounded<GenerationEvent>(new() { SingleReader = true, SingleWriter = true });
        var active = new ActiveRequest(request, channel.Writer, Stopwatch.GetTimestamp())
        {
            EmbeddingSum = new float[_model.Config.Embedding],
        };
        if (!Enqueue(active)) throw new EngineQueueFullException();
        await foreach (var e in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            if (e.Kind == GenerationEventKind.Failed) throw new InvalidOperationException(e.Text);
            if (e.Kind != GenerationEventKind.Completed) continue;
            if (e.Finish == FinishReason.Cancelled) throw new OperationCanceledException(cancellationToken);
            return active.Embedding ?? throw new InvalidOperationException("the engine completed an embedding without a result");
        }
        throw new InvalidOperationException("the engine stopped before the embedding was complete");
    }

    /// <summary>
    /// After a forward pass over <paramref name="fed"/> tokens: adds each embedding token's final hidden state to its
    /// request's sum, and finishes the embeddings whose every token has run.
    /// </summary>
    private void PoolEmbeddings(int fed)
    {
        for (int i = 0; i < fed; i++)
        {
            if (_fedBy[i]!.Owner.EmbeddingSum is not { } sum) continue;
            _transformer.FinalHidden(i, _hiddenRow);
            TensorPrimitives.Add(sum, _hiddenRow, sum);
        }
        foreach (var s in _running)
        {
            var r = s.Owner;
            if (r.EmbeddingSum is not { } sum || s.State != SequenceState.Prefilling || s.PromptFed < r.Request.PromptTokens.Length)
                continue;
            r.PromptDone = Stopwatch.GetTimestamp();
            // Mean then L2 norm: dividing by the count first changes nothing after normalizing but keeps the pooling
            // exactly what the documentation says.
            TensorPrimitives.Divide(sum, r.Request.PromptTokens.Length, sum);
            float norm = TensorPrimitives.Norm(sum);
            if (!float.IsFinite(norm) || norm == 0)
            {
                _slots.Invalidate(s.Slot);
                Fail(r, "inference failed: the embedding is not finite");
                continue;
            }
            var embedding = new float[sum.Length];
            TensorPrimitives.Divide(sum, norm, embedding);
            r.Embedding = embedding;
            Finish(s, FinishReason.Stop);
        }
    }
}
