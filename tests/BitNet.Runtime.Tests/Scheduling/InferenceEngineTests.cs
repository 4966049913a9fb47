using System.Threading.Channels;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Scheduling;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Scheduling;

/// <summary>The batching engine on the bundled real model: correctness of what it streams, batching, prefix reuse, cancellation.</summary>
public sealed class InferenceEngineTests : IDisposable
{
    private readonly BitNetModel _model = BitNetModel.Load(TestPaths.SharedFile("models", "stories3m-b158-i2_s.gguf"));
    private readonly TextTokenizer _tokenizer;

    public InferenceEngineTests() => _tokenizer = TextTokenizer.FromGguf(_model.File.Metadata);

    public void Dispose() => _model.Dispose();

    private InferenceEngine NewEngine(int sequences = 4, int queue = 64) =>
        new(_model, _tokenizer, new EngineOptions { MaxSequences = sequences, MaxBatchTokens = 64, MaxQueuedRequests = queue, Threads = 2 });

    private GenerationRequest Request(string prompt, int maxTokens = 24, int choices = 1, ulong? seed = null, float temperature = 0,
        CancellationToken ct = default, bool chatAnswer = true) => new()
    {
        PromptTokens = _tokenizer.Encode(prompt, addBos: true, parseSpecial: false),
        MaxTokens = maxTokens,
        Choices = choices,
        Sampling = new SamplingParameters { Temperature = temperature, Seed = seed },
        StopTokens = _tokenizer.EndOfGenerationIds,
        ChatAnswer = chatAnswer,
        Cancellation = ct,
    };

    private static async Task<(string[] Texts, List<GenerationEvent> Events)> Collect(ChannelReader<GenerationEvent> reader, int choices)
    {
        var texts = new System.Text.StringBuilder[choices];
        for (int i = 0; i < choices; i++) texts[i] = new();
        var events = new List<GenerationEvent>();
        await foreach (var e in reader.ReadAllAsync())
        {
            events.Add(e);
            if (e.Kind is GenerationEventKind.Token or GenerationEventKind.ChoiceFinished) texts[e.Choice].Append(e.Text);
        }
        return (texts.Select(t => t.ToString()).ToArray(), events);
    }

    [Fact]
    public async Task WarmUpLeavesNoTraceInCountersCacheOrOutput()
    {
        using var warm = new InferenceEngine(_model, _tokenizer, new EngineOptions { MaxSequences = 4, MaxBatchTokens = 64, Threads = 2 });
        using var cold = new InferenceEngine(_model, _tokenizer, new EngineOptions { MaxSequences = 4, MaxBatchTokens = 64, Threads = 2, WarmUp = false });
        Assert.True(await warm.WarmedUp > TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, await cold.WarmedUp);
        Assert.Null(warm.WarmUpError);
        var stats = warm.Stats;
        Assert.Equal((0L, 0L, 0L, 0.0), (stats.Steps, stats.PromptTokens, stats.GeneratedTokens, stats.CpuSeconds));

        // The warm-up fed token 0 at the first positions of the slots: a prompt of those tokens must not find them cached.
        GenerationRequest Zeros() => new()
        {
            PromptTokens = Enumerable.Repeat(0, 30).ToArray(),
            MaxTokens = 12,
            Sampling = new SamplingParameters { Temperature = 0 },
        };
        Assert.True(warm.TrySubmit(Zeros(), out var warmEvents));
        Assert.True(cold.TrySubmit(Zeros(), out var coldEvents));
        var (warmText, warmList) = await Collect(warmEvents, 1);
        var (coldText, _) = await Collect(coldEvents, 1);
        Assert.Equal(0, warmList[^1].Usage!.CachedTokens);
        Assert.Equal(coldText[0], warmText[0]);
    }

    [Fact]
    public async Task GreedyOutputMatchesSingleSequenceSession()
    {
        using var engine = NewEngine();
        // A plain continuation (a chat answer could not start with the model's greedy ',').
        var request = Request("Once upon a time", maxTokens: 32, chatAnswer: false);
        Assert.True(engine.TrySubmit(request, out var reader));
        var (texts, events) = await Collect(reader, 1);

        using var pool = new BitNet.Runtime.Threading.WorkerPool(1);
        using var session = new ModelSession(_model, pool);
        var logits = session.Feed(request.PromptTokens);
        var expected = new List<int>();
        for (int i = 0; i < 32; i++)
        {
            int next = logits.AsSpan().IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(logits));
            if (_tokenizer.IsEndOfGeneration(next)) break;
            expected.Add(next);
            logits = session.Feed([next]);
        }
        Assert.Equal(_tokenizer.Decode(expected.ToArray()), texts[0]);
        Assert.Equal(GenerationEventKind.PromptProcessed, events[0].Kind);
        var done = events[^1];
        Assert.Equal(GenerationEventKind.Completed, done.Kind);
        Assert.Equal(request.PromptTokens.Length, done.Usage!.PromptTokens);
        Assert.Equal(events.Count(e => e.Kind == GenerationEventKind.Token), done.Usage.CompletionTokens);
        Assert.Equal(expected.Count, done.Usage.CompletionTokens);
    }

    [Fact]
    public async Task ConcurrentRequestsShareSteps()
    {
        string[] prompts = ["Once upon a time", "The cat", "Lily had a red ball", "Tom and his dog", "One day", "The sun was", "A little bird", "Max liked"];
        long sequentialSteps;
        using (var engine = NewEngine(sequences: 8))
        {
            foreach (var p in prompts)
            {
                Assert.True(engine.TrySubmit(Request(p, maxTokens: 16), out var r));
                await Collect(r, 1);
            }
            sequentialSteps = engine.Steps;
        }
        using (var engine = NewEngine(sequences: 8))
        {
            var readers = prompts.Select(p => { Assert.True(engine.TrySubmit(Request(p, maxTokens: 16), out var r)); return r; }).ToArray();
            var results = await Task.WhenAll(readers.Select(r => Collect(r, 1)));
            Assert.All(results, r => Assert.Equal(GenerationEventKind.Completed, r.Events[^1].Kind));
            Assert.True(engine.Steps * 3 < sequentialSteps, $"batched {engine.Steps} steps vs sequential {sequentialSteps}");
        }
    }

    [Fact]
    public async Task BatchedOutputEqualsAloneOutput()
    {
        using var engine = NewEngine(sequences: 4);
        Assert.True(engine.TrySubmit(Request("The little dog", maxTokens: 20), out var alone));
        var aloneText = (await Collect(alone, 1)).Texts[0];
        var readers = new[] { "The little dog", "Once upon a time", "A big tree" }
            .Select(p => { Assert.True(engine.TrySubmit(Request(p, maxTokens: 20), out var r)); return r; }).ToArray();
        var together = await Task.WhenAll(readers.Select(r => Collect(r, 1)));
        Assert.Equal(aloneText, together[0].Texts[0]);
    }

    [Fact]
    public async Task SecondTurnReusesThePrefix()
    {
        using var engine = NewEngine();
        Assert.True(engine.TrySubmit(Request("Once upon a time there was a girl", maxTokens: 8), out var first));
        var (firstText, firstEvents) = await Collect(first, 1);
        Assert.Equal(0, firstEvents[^1].Usage!.CachedTokens);
        Assert.True(engine.TrySubmit(Request("Once upon a time there was a girl" + firstText[0] + " She", maxTokens: 8), out var second));
        var (_, events) = await Collect(second, 1);
        Assert.True(events[^1].Usage!.CachedTokens >= 8, $"cached {events[^1].Usage!.CachedTokens}");
    }

    [Fact]
    public async Task A_prompt_sharing_a_running_requests_prefix_copies_its_keys_and_values_and_answers_as_a_cold_engine()
    {
        const string shared = "Once upon a time there was a little girl who liked to play with her red ball in the big park";
        using var engine = NewEngine();
        using var cts = new CancellationTokenSource();
        // Without stop tokens the first request runs on while the second is admitted, prefilled and finished (450 tokens,
        // near the 512-token context: at 150 a fast machine finished it before the second request was done).
        var first = Request(shared + " every day.", maxTokens: 450, ct: cts.Token) with { StopTokens = [] };
        Assert.True(engine.TrySubmit(first, out var running));
        await foreach (var e in running.ReadAllAsync())
            if (e.Kind == GenerationEventKind.PromptProcessed) break;

        var second = Request(shared + " at night.", maxTokens: 16);
        Assert.True(engine.TrySubmit(second, out var reader));
        var (text, events) = await Collect(reader, 1);
        int common = first.PromptTokens.AsSpan().CommonPrefixLength(second.PromptTokens);
        Assert.True(common > 10, $"common prefix {common}");
        Assert.Equal(common, events[^1].Usage!.CachedTokens); // every free slot was empty: the prefix came from the busy one
        cts.Cancel();
        GenerationEvent last = default!;
        await foreach (var e in running.ReadAllAsync()) last = e;
        Assert.Equal(FinishReason.Cancelled, last.Finish); // it was still running: the copy came from a busy slot

        using var cold = NewEngine();
        Assert.True(cold.TrySubmit(Request(shared + " at night.", maxTokens: 16), out var coldReader));
        var (coldText, coldEvents) = await Collect(coldReader, 1);
        Assert.Equal(0, coldEvents[^1].Usage!.CachedTokens);
        Assert.Equal(coldText[0], text[0]);
    }

    [Fact]
    public async Task SeveralChoicesShareOnePrefillAndDifferBySeed()
    {
        using var engine = NewEngine();
        Assert.True(engine.TrySubmit(Request("Once upon a time", maxTokens: 16, choices: 3, seed: 42, temperature: 1f), out var reader));
        var (texts, events) = await Collect(reader, 3);
        Assert.Single(events, e => e.Kind == GenerationEventKind.PromptProcessed);
        Assert.Equal(3, events.Count(e => e.Kind == GenerationEventKind.ChoiceFinished));
        Assert.True(texts.Distinct().Count() > 1, string.Join(" | ", texts));

        Assert.True(engine.TrySubmit(Request("Once upon a time", maxTokens: 16, choices: 3, seed: 42, temperature: 1f), out var again));
        Assert.Equal(texts, (await Collect(again, 3)).Texts);
    }

    [Fact]
    public async Task CancellationEndsTheSequenceAndFreesTheSlot()
    {
        using var engine = NewEngine(sequences: 1, queue: 4);
        using var cts = new CancellationTokenSource();
        Assert.True(engine.TrySubmit(Request("Once upon a time", maxTokens: 400, ct: cts.Token), out var reader));
        int tokens = 0;
        await foreach (var e in reader.ReadAllAsync())
        {
            if (e.Kind == GenerationEventKind.Token && ++tokens == 3) cts.Cancel();
            if (e.Kind == GenerationEventKind.Completed) Assert.Equal(FinishReason.Cancelled, e.Finish);
        }
        Assert.True(tokens < 400);
        // The only slot is free again: a new request runs to completion.
        Assert.True(engine.TrySubmit(Request("The cat", maxTokens: 4), out var next));
        Assert.Equal(GenerationEventKind.Completed, (await Collect(next, 1)).Events[^1].Kind);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ParallelSamplingStreamsWhatOneThreadStreams(bool grammar)
    {
        // Four seeded choices of one request decode in lockstep, so both engines run the same batches: with two threads
        // their decoders sample side by side, with one in turn. Every event (tokens, text, logprobs, finishes) must agree.
        async Task<List<GenerationEvent>> Run(int threads)
        {
            using var engine = new InferenceEngine(_model, _tokenizer, new EngineOptions { MaxSequences = 4, MaxBatchTokens = 64, Threads = threads });
            var request = new GenerationRequest
            {
                PromptTokens = _tokenizer.Encode("Once upon a time", addBos: true, parseSpecial: false),
                MaxTokens = 40,
                Choices = 4,
                Sampling = new SamplingParameters { Temperature = 1.1f, TopP = 0.95f, Seed = 7, TopLogprobs = 3, RepetitionPenalty = 1.1f },
                StopTokens = _tokenizer.EndOfGenerationIds,
                Grammar = grammar ? BitNet.Runtime.Grammar.JsonGrammar.AnyJsonObject() : null,
            };
            Assert.True(engine.TrySubmit(request, out var reader));
            return (await Collect(reader, 4)).Events;
        }
        var serial = await Run(1);
        var parallel = await Run(2);
        static string Show(GenerationEvent e) =>
            $"{e.Kind} {e.Choice} {e.TokenId} [{e.Text}] {e.Logprob:R} {string.Join(",", (e.TopLogprobs ?? []).Select(t => $"{t.TokenId}:{t.Logprob:R}"))} " +
            $"{e.Finish} {e.Usage?.CompletionTokens}";
        Assert.Equal(serial.Select(Show), parallel.Select(Show));
        Assert.True(serial.Count(e => e.Kind == GenerationEventKind.Token) > 20);
        Assert.Equal(4, serial.Select(e => e.Choice).Distinct().Count());
    }

    [Fact]
    public async Task ARequestCancelledWhileItWaitsFinishesEveryChoiceAsCancelled()
    {
        using var engine = NewEngine(sequences: 2, queue: 4);
        using var busy = new CancellationTokenSource();
        Assert.True(engine.TrySubmit(Request("Once upon a time", maxTokens: 400, choices: 2, ct: busy.Token), out var first));
        using var waiting = new CancellationTokenSource();
        Assert.True(engine.TrySubmit(Request("The cat", maxTokens: 8, choices: 2, ct: waiting.Token), out var second));
        waiting.Cancel();
        var (texts, events) = await Collect(second, 2);
        busy.Cancel();
        await Collect(first, 2);

        var finished = events.Where(e => e.Kind == GenerationEventKind.ChoiceFinished).OrderBy(e => e.Choice).ToList();
        Assert.Equal([0, 1], finished.Select(e => e.Choice));
        Assert.All(finished, e => Assert.Equal(FinishReason.Cancelled, e.Finish));
        Assert.Equal(GenerationEventKind.Completed, events[^1].Kind);
        Assert.Equal(FinishReason.Cancelled, events[^1].Finish);
        Assert.Equal(0, events[^1].Usage!.CompletionTokens);
        Assert.Equal(["", ""], texts);
    }

    [Fact]
    public async Task FullQueueIsRefused()
    {
        using var engine = NewEngine(sequences: 1, queue: 1);
        using var cts = new CancellationTokenSource();
        var accepted = 0;
        var readers = new List<ChannelReader<GenerationEvent>>();
        for (int i = 0; i < 6; i++)
        {
            if (engine.TrySubmit(Request("Once upon a time", maxTokens: 200, ct: cts.Token), out var r)) { accepted++; readers.Add(r); }
        }
        Assert.InRange(accepted, 1, 3);
        cts.Cancel();
        foreach (var r in readers) await Collect(r, 1);
    }
}
