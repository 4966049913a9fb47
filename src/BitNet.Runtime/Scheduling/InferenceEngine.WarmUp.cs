using System.Diagnostics;
using BitNet.Runtime.Kernels;
using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Scheduling;

public sealed partial class InferenceEngine
{
    private const int WarmUpRounds = 2;

    private readonly TaskCompletionSource<TimeSpan> _warmedUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes, with how long it took, once the engine has run its start-up warm-up (at once when
    /// <see cref="EngineOptions.WarmUp"/> is off). Requests submitted before then wait in the queue.
    /// </summary>
    public Task<TimeSpan> WarmedUp => _warmedUp.Task;

    /// <summary>Why the warm-up's forward pass failed, or null; the engine serves on (each request reports its own failure).</summary>
    public string? WarmUpError { get; private set; }

    /// <summary>
    /// Runs each path of the forward pass twice before the first request and waits for the JIT to finish what that
    /// started: the first calls compile (and the tiered JIT later recompiles) thousands of methods, the mapped weights
    /// are paged in, the worker threads and lazy buffers come to exist. Without it the first request after start took 1.6x as long as the same request later
    /// (2B4T, 52-token prompt and 16 tokens, two cores: 9.3 s against 5.7-6.0; with it 6.6 against 6.5-6.9).
    /// The passes write KV that the slot table never records, so no request can reuse it; no counter sees them.
    /// </summary>
    private void WarmUp()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            int slots = Math.Min(_options.MaxSequences, _options.MaxBatchTokens);
            // A prompt chunk long enough for the prefill GEMM's tiles (a full one and a tail), then one decode token per
            // slot (the batched rows) and one alone (the GEMV), at positions the slot table leaves unrecorded.
            int prompt = Math.Min(Math.Min(TernaryKernels.RowBatchesBelow + 5, ContextLength - 2), _options.MaxBatchTokens);
            for (int round = 0; round < WarmUpRounds; round++)
            {
                if (prompt > 0)
                {
                    for (int i = 0; i < prompt; i++) PutWarmUp(i, i, 0, want: i == prompt - 1);
                    WarmUpForward(prompt, rows: 1);
                }
                int at = Math.Max(prompt, 0);
                for (int s = 0; s < slots; s++) PutWarmUp(s, s == 0 ? at : 0, s, want: true);
                WarmUpForward(slots, rows: slots);
                PutWarmUp(0, at + 1 < ContextLength ? at + 1 : at, 0, want: true);
                WarmUpForward(1, rows: 1);
            }
            WarmUpSampler();
            AwaitQuietJit(clock);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or AggregateException)
        {
            WarmUpError = e.Message;
        }
        _warmedUp.TrySetResult(clock.Elapsed);
    }

    /// <summary>
    /// The optimized versions of what the passes ran are compiled on a background thread after a delay, and on two
    /// cores that thread took one from the first request (its decode ran 1.5x slower after a warm-up that did not wait).
    /// Wait until the JIT has been idle for a moment, for at most twice as long as the passes took (a small model, or a
    /// process that never stops compiling, such as a test run, waits little).
    /// </summary>
    private static void AwaitQuietJit(Stopwatch clock)
    {
        var bound = clock.Elapsed * 3 + TimeSpan.FromMilliseconds(100);
        var last = System.Runtime.JitInfo.GetCompilationTime();
        int quiet = 0;
        while (quiet < 3 && clock.Elapsed < bound)
        {
            Thread.Sleep(100);
            var now = System.Runtime.JitInfo.GetCompilationTime();
            quiet = now - last < TimeSpan.FromMilliseconds(2) ? quiet + 1 : 0;
            last = now;
        }
    }

    private void PutWarmUp(int i, int position, int slot, bool want)
    {
        _tokens[i] = 0;
        _positions[i] = position;
        _slotIds[i] = slot;
        _want[i] = want;
    }

    private void WarmUpForward(int n, int rows) =>
        _transformer.Forward(_tokens.AsSpan(0, n), _positions.AsSpan(0, n), _slotIds.AsSpan(0, n), _want.AsSpan(0, n),
            _cache, _logits.AsSpan(0, rows * _model.Config.Vocab));

    /// <summary>One draw with the truncations and logprobs a chat client asks for, on the last warm-up logits.</summary>
    private void WarmUpSampler()
    {
        var row = _logits.AsSpan(0, _model.Config.Vocab);
        if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Max(row))) return;
        var buffers = _samplerBuffers[0] ??= new SamplerBuffers(_model.Config.Vocab);
        var parameters = new SamplingParameters { Temperature = 0.8f, TopP = 0.95f, TopLogprobs = 1, Seed = 1 };
        new Sampler(_model.Config.Vocab, parameters, buffers).Sample(row);
    }
}
