using System.Text.Json;
using BitNet.Cli.Text;
using BitNet.Runtime.Decoding;
using BitNet.Runtime.Grammar;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Scheduling;
using BitNet.Runtime.Tests.Cli;

namespace BitNet.Runtime.Tests.Decoding;

/// <summary>
/// The server's engine and the CLI's generator decode through the same <see cref="TokenDecoder"/>: on the bundled
/// model, with the same prompt, seed, temperature, stop strings, chat-answer rules and grammar, they produce the same
/// tokens, the same text and the same kind of ending.
/// </summary>
public sealed class OneDecodingPathTests(StoriesModelFixture fixture) : IClassFixture<StoriesModelFixture>
{
    private const string Person = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer","minimum":1,"maximum":99}},
         "required":["name","age"],"additionalProperties":false}
        """;

    public static TheoryData<string, float, int, string?, bool, string?, int> Cases => new()
    {
        // prompt, temperature, seed, stop string, chat answer, grammar ("object" | schema | null), max tokens
        { "Once upon a time", 0f, 1, null, false, null, 40 },
        { "Once upon a time", 1f, 7, null, false, null, 60 },
        { "Lily went to the park", 1f, 3, ".", false, null, 60 },
        { "Tom had a dog", 0.9f, 11, " the", true, null, 50 },
        { "User: Tell me a story.\nAssistant:", 1f, 5, null, true, null, 40 },
        { "Once upon a time", 1f, 2, null, false, "object", 24 },
        { "A person:", 1.2f, 9, null, false, Person, 40 },
        { "A person:", 0f, 4, null, true, Person, 12 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Engine_and_cli_decode_identically(string promptText, float temperature, int seed, string? stop, bool chat, string? grammarText, int maxTokens)
    {
        var tokenizer = fixture.Tokenizer;
        var prompt = tokenizer.Encode(promptText, addBos: true, parseSpecial: false);
        var grammar = grammarText switch { null => null, "object" => JsonGrammar.AnyJsonObject(), _ => JsonGrammar.FromSchema(grammarText) };
        var sampling = new SamplingParameters { Temperature = temperature, Seed = (ulong)seed };
        string[] stops = stop is null ? [] : [stop];

        // The engine, as the server submits a request.
        using var engine = new InferenceEngine(fixture.Model, tokenizer, new EngineOptions { MaxSequences = 2, MaxBatchTokens = 64, Threads = 2 });
        Assert.True(engine.TrySubmit(new GenerationRequest
        {
            PromptTokens = prompt, MaxTokens = maxTokens, Sampling = sampling, StopStrings = stops,
            StopTokens = tokenizer.EndOfGenerationIds, ChatAnswer = chat, Grammar = grammar,
        }, out var events));
        var engineTokens = new List<int>();
        var engineText = new System.Text.StringBuilder();
        FinishReason engineFinish = FinishReason.Error;
        await foreach (var e in events.ReadAllAsync())
        {
            if (e.Kind == GenerationEventKind.Token) engineTokens.Add(e.TokenId);
            if (e.Kind is GenerationEventKind.Token or GenerationEventKind.ChoiceFinished) engineText.Append(e.Text);
            if (e.Kind == GenerationEventKind.ChoiceFinished) engineFinish = e.Finish;
            Assert.NotEqual(GenerationEventKind.Failed, e.Kind);
        }

        // The CLI's loop over a single-sequence session.
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var logits = session.Feed(prompt);
        var sampler = new Sampler(session.Vocab, sampling);
        sampler.AcceptPrompt(prompt);
        var generator = new TextGenerator(session, tokenizer, null, stops);
        var output = new StringWriter();
        var result = generator.Generate(logits, sampler, maxTokens, tokenizer.CreateOutputDetokenizer(atSequenceStart: false), output,
            excludedAtStart: chat ? tokenizer.AnswerStartExclusions : null, grammar: grammar);

        var cliTokens = result.Stop == GenerationStop.EndOfGeneration ? result.Tokens.Take(result.Tokens.Count - 1).ToList() : result.Tokens.ToList();
        Assert.Equal(cliTokens, engineTokens);
        Assert.Equal(result.Text, engineText.ToString());
        Assert.Equal(output.ToString(), result.Text);
        bool cliStopped = result.Stop is GenerationStop.EndOfGeneration or GenerationStop.StopString or GenerationStop.ValueComplete;
        Assert.Equal(cliStopped ? FinishReason.Stop : FinishReason.Length, engineFinish);
        Assert.Equal(result.CompletionTokens, engineTokens.Count);
        if (stop is not null) Assert.DoesNotContain(stop, result.Text);
        if (chat) Assert.Equal(result.Text.TrimStart(), result.Text);
        if (grammar is not null && cliStopped)
        {
            Assert.True(grammar.Matches(result.Text), result.Text);
            using var _ = JsonDocument.Parse(result.Text);
        }
    }

    [Fact]
    public void A_stop_string_split_over_tokens_is_never_released_and_ends_the_sequence()
    {
        var tokenizer = fixture.Tokenizer;
        // Greedy from the bundled model's favourite opening; the stop string is a word the story will write.
        var prompt = tokenizer.Encode("Once upon a time", addBos: true, parseSpecial: false);
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var logits = session.Feed(prompt);
        var free = Decode(session, logits, new DecodingRules { MaxTokens = 40 }, out _);
        int cut = free.IndexOf(" little", StringComparison.Ordinal);
        Assert.True(cut > 0, free);

        session.Reset();
        logits = session.Feed(prompt);
        var stopped = Decode(session, logits, new DecodingRules { MaxTokens = 40, StopStrings = [" little"] }, out var outcome);
        Assert.Equal(DecodeOutcome.StopString, outcome);
        Assert.Equal(free[..cut], stopped);
    }

    [Fact]
    public void End_of_generation_is_not_output_and_the_limit_counts_only_output()
    {
        var tokenizer = fixture.Tokenizer;
        var prompt = tokenizer.Encode("Once upon a time", addBos: true, parseSpecial: false);
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var logits = session.Feed(prompt);
        // +100 on BOS (an end-of-generation id of this vocabulary) makes it the first sample.
        var sampler = new Sampler(session.Vocab, new SamplingParameters { Temperature = 0, LogitBias = new Dictionary<int, float> { [tokenizer.BosId] = 100 } });
        var decoder = new TokenDecoder(new DecodingRules { StopTokens = tokenizer.EndOfGenerationIds, MaxTokens = 5 }, sampler,
            tokenizer.CreateOutputDetokenizer(atSequenceStart: false));
        var step = decoder.Next(logits, session.ContextLength - session.Position);
        Assert.Equal(DecodeOutcome.EndOfGeneration, step.Outcome);
        Assert.False(step.IsOutput);
        Assert.Equal(0, decoder.Generated);
        Assert.Throws<InvalidOperationException>(() => decoder.Next(logits, 10));

        session.Reset();
        logits = session.Feed(prompt);
        var text = Decode(session, logits, new DecodingRules { MaxTokens = 3 }, out var outcome, out int generated);
        Assert.Equal(DecodeOutcome.TokenLimit, outcome);
        Assert.Equal(3, generated);
        Assert.NotEmpty(text);
    }

    private string Decode(ModelSession session, float[] logits, DecodingRules rules, out DecodeOutcome outcome) =>
        Decode(session, logits, rules, out outcome, out _);

    private string Decode(ModelSession session, float[] logits, DecodingRules rules, out DecodeOutcome outcome, out int generated)
    {
        var tokenizer = fixture.Tokenizer;
        var decoder = new TokenDecoder(rules with { StopTokens = tokenizer.EndOfGenerationIds },
            new Sampler(session.Vocab, new SamplingParameters { Temperature = 0 }), tokenizer.CreateOutputDetokenizer(atSequenceStart: false));
        var text = new System.Text.StringBuilder();
        while (true)
        {
            var step = decoder.Next(logits, session.ContextLength - session.Position);
            text.Append(step.Text);
            if (step.Ended)
            {
                outcome = step.Outcome;
                break;
            }
            logits = session.Feed([step.Token]);
        }
        text.Append(decoder.Flush());
        generated = decoder.Generated;
        return text.ToString();
    }
}

/// <summary>
/// The decoding path adds no allocation per token to what its parts need (the sampler's are zero after warm-up, see
/// SamplerAllocationTests; the detokenizer's are the strings it returns): the decoder's steps allocate exactly what the
/// same sampler, detokenizer and stop matcher driven by hand allocate over the same tokens.
/// </summary>
public sealed class TokenDecoderAllocationTests(StoriesModelFixture fixture) : IClassFixture<StoriesModelFixture>
{
    [Fact]
    public void A_step_allocates_no_more_than_its_parts()
    {
        var tokenizer = fixture.Tokenizer;
        int vocab = fixture.Model.Config.Vocab;
        var random = new Random(3);
        var rows = new float[8][];
        for (int r = 0; r < rows.Length; r++)
        {
            rows[r] = new float[vocab];
            for (int i = 0; i < vocab; i++) rows[r][i] = (float)(random.NextDouble() * 8);
        }
        string[] stops = ["\uD800never"];
        var parameters = new SamplingParameters { Temperature = 1, Seed = 1 };
        var work = new float[vocab];

        // No stop tokens and a stop string that never matches: the sequence never ends, every step runs every rule.
        var decoder = new TokenDecoder(new DecodingRules { StopStrings = stops }, new Sampler(vocab, parameters),
            tokenizer.CreateOutputDetokenizer(atSequenceStart: false));
        var sampler = new Sampler(vocab, parameters);
        var detokenizer = tokenizer.CreateOutputDetokenizer(atSequenceStart: false);
        var matcher = new StopStringMatcher(stops);
        var byDecoder = new List<int>(4200);
        var byHand = new List<int>(4200);
        for (int i = 0; i < 100; i++) // warm-up: JIT, lazily sized buffers
        {
            byDecoder.Add(DecoderStep(decoder, rows, work, i));
            byHand.Add(HandStep(sampler, detokenizer, matcher, rows, work, i));
        }

        // Measured rounds of 500 steps, up to eight: a one-time cost (a type loaded, a method re-jitted at a higher tier,
        // which on a slow host can come several rounds late) can land in any window, so the claim is that some round
        // shows the two paths allocating exactly the same.
        var rounds = new List<(long Decoder, long Hand)>();
        for (int start = 100; start < 4100 && !rounds.Exists(r => r.Decoder == r.Hand); start += 500)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = start; i < start + 500; i++) byDecoder.Add(DecoderStep(decoder, rows, work, i));
            long decoderBytes = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = start; i < start + 500; i++) byHand.Add(HandStep(sampler, detokenizer, matcher, rows, work, i));
            rounds.Add((decoderBytes, GC.GetAllocatedBytesForCurrentThread() - before));
        }

        Assert.Equal(byHand, byDecoder);
        Assert.True(rounds.Exists(r => r.Decoder == r.Hand), "decoder vs hand bytes per round: " + string.Join(", ", rounds));
    }

    private static int DecoderStep(TokenDecoder decoder, float[][] rows, float[] work, int i)
    {
        rows[i % rows.Length].CopyTo(work, 0);
        var step = decoder.Next(work, 1000);
        if (step.Ended) throw new InvalidOperationException("ended");
        return step.Token;
    }

    private static int HandStep(Sampler sampler, BitNet.Runtime.Tokenization.StreamingDetokenizer detokenizer, StopStringMatcher matcher,
        float[][] rows, float[] work, int i)
    {
        rows[i % rows.Length].CopyTo(work, 0);
        int token = sampler.Sample(work);
        sampler.Accept(token);
        if (matcher.Push(detokenizer.Append(token)).Stopped) throw new InvalidOperationException("stopped");
        return token;
    }
}
