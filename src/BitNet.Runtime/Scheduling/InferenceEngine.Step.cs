using System.Diagnostics;
using BitNet.Runtime.Decoding;
using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Scheduling;

public sealed partial class InferenceEngine
{
    /// <summary>Moves waiting requests into slots, first come first served, while enough slots are free.</summary>
    private void Admit()
    {
        while (_waiting.Count > 0 && _slots.FreeSlots >= _waiting[0].Request.Choices)
        {
            var r = _waiting[0];
            _waiting.RemoveAt(0);
            Interlocked.Decrement(ref _queued);
            var req = r.Request;
            r.Admitted = Stopwatch.GetTimestamp();
            try
            {
                // An embedding needs every token's hidden state, so it never starts from a cached prefix.
                var (slot, reused, copyFrom) = r.EmbeddingSum is null ? _slots.AcquireForPrompt(req.PromptTokens) : (_slots.AcquireAny(), 0, -1);
                if (copyFrom >= 0) _cache.CopyPrefix(copyFrom, slot, reused); // another slot's prefix: copied, not computed
                r.CachedTokens = reused;
                r.Sequences.Add(NewSequence(r, 0, slot, SequenceState.Prefilling, reused));
                for (int c = 1; c < req.Choices; c++)
                    r.Sequences.Add(NewSequence(r, c, _slots.AcquireAny(), SequenceState.AwaitingPrefix, 0));
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                foreach (var s in r.Sequences) _slots.Release(s.Slot);
                r.Sequences.Clear();
                Fail(r, e.Message);
                continue;
            }
            r.OpenChoices = req.Choices;
            _running.AddRange(r.Sequences);
            Interlocked.Add(ref _promptTokens, req.PromptTokens.Length);
            Interlocked.Add(ref _cachedTokens, r.CachedTokens);
        }
        _freeSlots = _slots.FreeSlots;
    }

    private Sequence NewSequence(ActiveRequest r, int choice, int slot, SequenceState state, int reused)
    {
        var req = r.Request;
        var p = req.Sampling;
        // Extra choices get their own seed so that n > 1 gives different completions, reproducibly.
        if (choice > 0 && p.Seed is { } seed) p = p with { Seed = seed + (ulong)choice };
        // The slot's scratch, not three fresh vocabulary-sized arrays per request: one sequence runs in a slot at a time.
        var sampler = new Sampler(_model.Config.Vocab, p, _samplerBuffers[slot] ??= new SamplerBuffers(_model.Config.Vocab));
        sampler.AcceptPrompt(req.PromptTokens);
        r.Rules ??= new DecodingRules
        {
            StopTokens = req.StopTokens,
            StopStrings = req.StopStrings,
            MaxTokens = req.MaxTokens,
            ChatAnswer = req.ChatAnswer,
            AnswerStartExclusions = req.ChatAnswer ? _tokenizer.AnswerStartExclusions : [],
            Grammar = req.Grammar,
        };
        // Generated text continues the prompt: keep a SentencePiece word's leading space (a chat answer's leading
        // whitespace is dropped by the decoder). Control tokens that do not end generation are never text.
        // Structured output: one grammar state per choice; the per-model token trie is built once and cached.
        var vocabulary = req.Grammar is null ? null : Grammar.TokenVocabulary.For(_tokenizer);
        var decoder = new TokenDecoder(r.Rules, sampler, _tokenizer.CreateOutputDetokenizer(atSequenceStart: false), vocabulary);
        return new Sequence(r, choice, slot, decoder)
        {
            State = state,
            Position = reused,
            PromptFed = reused,
        };
    }

    private void DropCancelledWaiting()
    {
        for (int i = _waiting.Count - 1; i >= 0; i--)
        {
            if (!_waiting[i].Request.Cancellation.IsCancellationRequested) continue;
            var r = _waiting[i];
            _waiting.RemoveAt(i);
            Interlocked.Decrement(ref _queued);
            // Every choice still ends with its own finish, as a running one would: a deadline that passed in the queue
            // reads "length" with the nothing that was produced, not as a natural stop.
            for (int c = 0; c < r.Request.Choices; c++)
                r.Events.TryWrite(new GenerationEvent(GenerationEventKind.ChoiceFinished, c, Text: "", Finish: FinishReason.Cancelled));
            Complete(r, cancelled: true);
        }
    }

    /// <summary>A client that went away (or ran out of time) leaves within one step and frees its slots.</summary>
    private void CancelAbandoned()
    {
        for (int i = 0; i < _running.Count; i++)
        {
            var s = _running[i];
            if (s.State != SequenceState.Finished && s.Owner.Request.Cancellation.IsCancellationRequested)
                Finish(s, FinishReason.Cancelled);
        }
        RemoveFinished();
    }

    /// <summary>One forward pass: a decode token for every running sequence, then prompt chunks up to the budget.</summary>
    private void Step()
    {
        int n = 0, rows = 0;
        foreach (var s in _running)
        {
            s.LogitsRow = -1;
            if (s.State != SequenceState.Decoding) continue;
            Put(ref n, s, s.PendingToken, s.Position, want: true);
            s.LogitsRow = rows++;
        }
        int budget = _options.MaxBatchTokens - n;
        // Embeddings yield to running streams: beside decode tokens they get a bounded slice of the step.
        int embeddingBudget = n > 0 ? _options.EmbeddingTokensBesideDecoding : budget;
        foreach (var s in _running)
        {
            if (s.State != SequenceState.Prefilling || budget == 0) continue;
            var prompt = s.Owner.Request.PromptTokens;
            bool sampled = s.Owner.EmbeddingSum is null;   // an embedding wants hidden states, never logits
            int take = Math.Min(prompt.Length - s.PromptFed, sampled ? budget : Math.Min(budget, embeddingBudget));
            if (take == 0) continue;
            if (!sampled) embeddingBudget -= take;
            for (int i = 0; i < take; i++)
            {
                bool last = sampled && s.PromptFed + i == prompt.Length - 1;
                Put(ref n, s, prompt[s.PromptFed + i], s.PromptFed + i, last);
                if (last) s.LogitsRow = rows++;
            }
            budget -= take;
        }
        if (n == 0) return;

        var cpuBefore = Environment.CpuUsage.TotalTime;
        try
        {
            _transformer.Forward(_tokens.AsSpan(0, n), _positions.AsSpan(0, n), _slotIds.AsSpan(0, n), _want.AsSpan(0, n),
                _cache, _logits.AsSpan(0, rows * _model.Config.Vocab));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or AggregateException)
        {
            // The step's KV writes are in an unknown state: fail the sequences that took part, keep serving the rest.
            for (int i = 0; i < n; i++)
            {
                if (_fedBy[i] is not { } s || s.State == SequenceState.Finished) continue;
                _slots.Invalidate(s.Slot);
                Fail(s.Owner, $"inference failed: {e.Message}");
            }
            RemoveFinished();
            return;
        }
        Interlocked.Increment(ref _steps);
        // Cost per token: the process CPU time of the forward pass (every worker thread, spinning included: that is
        // what the machine pays) shared among the requests by the tokens each fed.
        long cpuTicks = (Environment.CpuUsage.TotalTime - cpuBefore).Ticks;
        Interlocked.Add(ref _cpuTicks, cpuTicks);
        double cpuPerToken = (double)cpuTicks / TimeSpan.TicksPerSecond / n;
        for (int i = 0; i < n; i++) _fedBy[i]!.Owner.CpuSeconds += cpuPerToken;

        // The fed tokens now have KV in their slots.
        for (int i = 0; i < n; i++)
        {
            var s = _fedBy[i]!;
            _slots.Record(s.Slot, _positions[i], _tokens[i]);
            s.Position = _positions[i] + 1;
            if (s.State == SequenceState.Prefilling) s.PromptFed++;
        }
        PoolEmbeddings(n);
        SampleDecoding();
        foreach (var s in _running)
        {
            if (s.LogitsRow < 0 || s.State == SequenceState.Finished) continue;
            if (s.State == SequenceState.Prefilling) PrefillDone(s, LogitsOf(s));
            else Apply(s);
        }
        RemoveFinished();
    }

    private void Put(ref int n, Sequence s, int token, int position, bool want)
    {
        _tokens[n] = token;
        _positions[n] = position;
        _slotIds[n] = s.Slot;
        _want[n] = want;
        _fedBy[n] = s;
        n++;
    }

    /// <summary>The prompt is in the cache: copy it to the extra choices' slots, then every choice samples its first token.</summary>
    private void PrefillDone(Sequence primary, Span<float> row)
    {
        var r = primary.Owner;
        r.PromptDone = Stopwatch.GetTimestamp();
        r.Events.TryWrite(new GenerationEvent(GenerationEventKind.PromptProcessed));
        int promptLength = r.Request.PromptTokens.Length;
        foreach (var sibling in r.Sequences)
        {
            if (sibling == primary || sibling.State != SequenceState.AwaitingPrefix) continue;
            _cache.CopyPrefix(primary.Slot, sibling.Slot, promptLength);
            _slots.CopyPrefix(primary.Slot, sibling.Slot, promptLength);
            sibling.Position = sibling.PromptFed = promptLength;
            row.CopyTo(_siblingRow);
            Emit(sibling, _siblingRow);
        }
        Emit(primary, row);
    }

    /// <summary>Samples the next token of a sequence through its decoder and turns the step into events and state.</summary>
    private void Emit(Sequence s, Span<float> row)
    {
        if (s.Owner.Failed) return;
        Sample(s, row);
        Apply(s);
    }

    /// <summary>Turns a sequence's sampled step (<see cref="Sample"/>) into events and state; in batch order, on the engine thread.</summary>
    private void Apply(Sequence s)
    {
        var r = s.Owner;
        if (r.Failed) return;
        if (s.SampleError is { } error)
        {
            // Non-finite logits: end this request with an error, never the others in the batch.
            _slots.Invalidate(s.Slot);
            Fail(r, error.Message);
            return;
        }
        var step = s.Sampled;
        if (step.Token >= 0 && r.FirstToken == 0) r.FirstToken = Stopwatch.GetTimestamp();
        if (step.IsOutput)
        {
            r.CompletionTokens++;
            Interlocked.Increment(ref _generatedTokens);
            var sampler = s.Decoder.Sampler;
            var top = r.Request.Sampling.TopLogprobs > 0 ? sampler.LastTopLogprobs.ToArray() : null;
            r.Events.TryWrite(new GenerationEvent(GenerationEventKind.Token, s.Choice, step.Token, step.Text, sampler.LastLogprob, top));
        }
        if (step.Ended) Finish(s, step.EndedNaturally ? FinishReason.Stop : FinishReason.Length);
        else
        {
            s.PendingToken = step.Token;
            s.State = SequenceState.Decoding;
        }
    }

    private void Finish(Sequence s, FinishReason reason)
    {
        if (s.State == SequenceState.Finished) return;
        var r = s.Owner;
        string tail = reason == FinishReason.Cancelled ? "" : s.Decoder.Flush();
        s.State = SequenceState.Finished;
        _slots.Release(s.Slot);
        r.Events.TryWrite(new GenerationEvent(GenerationEventKind.ChoiceFinished, s.Choice, Text: tail, Finish: reason));
        if (--r.OpenChoices == 0) Complete(r, cancelled: reason == FinishReason.Cancelled);
    }

    private void Complete(ActiveRequest r, bool cancelled)
    {
        long now = Stopwatch.GetTimestamp();
        long admitted = r.Admitted == 0 ? now : r.Admitted;
        long promptDone = r.PromptDone == 0 ? now : r.PromptDone;
        var usage = new GenerationUsage(
            r.Request.PromptTokens.Length, r.CachedTokens, r.CompletionTokens,
            Stopwatch.GetElapsedTime(r.Submitted, admitted),
            Stopwatch.GetElapsedTime(admitted, promptDone),
            Stopwatch.GetElapsedTime(promptDone, now),
            r.FirstToken == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(r.Submitted, r.FirstToken),
            r.CpuSeconds);
        r.Events.TryWrite(new GenerationEvent(GenerationEventKind.Completed,
            Finish: cancelled ? FinishReason.Cancelled : FinishReason.Stop, Usage: usage));
        r.Events.TryComplete();
    }

    private void Fail(ActiveRequest r, string message)
    {
        if (r.Failed) return;
        r.Failed = true;
        foreach (var s in r.Sequences)
        {
            if (s.State == SequenceState.Finished) continue;
            s.State = SequenceState.Finished;
            _slots.Release(s.Slot);
        }
        r.Events.TryWrite(new GenerationEvent(GenerationEventKind.Failed, Text: message, Finish: FinishReason.Error));
        r.Events.TryComplete();
    }

    private void FailEverything(string message)
    {
        foreach (var s in _running) Fail(s.Owner, message);
        _running.Clear();
        foreach (var r in _waiting) Fail(r, message);
        _waiting.Clear();
        while (_incoming.Reader.TryRead(out var r)) Fail(r, message);
    }

    private void RemoveFinished()
    {
        _running.RemoveAll(static s => s.State == SequenceState.Finished);
        _freeSlots = _slots.FreeSlots;
        _runningCount = _running.Count;
    }
}
