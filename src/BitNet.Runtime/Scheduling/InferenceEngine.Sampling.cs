using BitNet.Runtime.Threading;

namespace BitNet.Runtime.Scheduling;

/// <summary>
/// The step's sampling stage. Each decoding sequence's decoder (its sampler, penalty history, grammar state, stop
/// matcher and detokenizer) is its own, and the vocabulary and grammars they read are immutable, so the decoders of a
/// batch sample on the worker pool side by side; their events and state changes then follow on the engine thread in
/// batch order (<see cref="Apply"/>), so what a client sees is the same as with one thread. At a 128K vocabulary a
/// sequence's sampling costs 0.1-3 ms (greedy to top-p with logprobs): serial, eight of them were a stage the other
/// threads waited through every step.
/// </summary>
public sealed partial class InferenceEngine
{
    private Sequence[]? _sampling;
    private SamplingStage? _samplingStage;

    private Span<float> LogitsOf(Sequence s) => _logits.AsSpan(s.LogitsRow * _model.Config.Vocab, _model.Config.Vocab);

    /// <summary>Samples every decoding sequence that has logits this step (prefills that just ended go by <see cref="PrefillDone"/>).</summary>
    private void SampleDecoding()
    {
        _sampling ??= new Sequence[_options.MaxSequences];
        _samplingStage ??= new SamplingStage(this);
        int count = 0;
        foreach (var s in _running)
            if (s.LogitsRow >= 0 && s.State == SequenceState.Decoding && !s.Owner.Failed) _sampling[count++] = s;
        _pool.Run(_samplingStage, count);
        Array.Clear(_sampling, 0, count);
    }

    /// <summary>Samples a sequence's next token from its logits row; a failure is kept for <see cref="Apply"/>.</summary>
    private void Sample(Sequence s, Span<float> row)
    {
        try
        {
            s.Sampled = s.Decoder.Next(row, ContextLength - s.Position);
            s.SampleError = null;
        }
        catch (InvalidOperationException e)
        {
            s.Sampled = default;
            s.SampleError = e;
        }
    }

    private sealed class SamplingStage(InferenceEngine engine) : IParallelWork
    {
        public void Execute(int index)
        {
            var s = engine._sampling![index];
            engine.Sample(s, engine.LogitsOf(s));
        }
    }
}
