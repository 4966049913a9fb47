using BitNet.Cli.Text;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;
using BitNet.Runtime.Threading;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>The bundled model and a worker pool, loaded once for the chat tests.</summary>
public sealed class StoriesModelFixture : IDisposable
{
    public StoriesModelFixture()
    {
        Model = BitNetModel.Load(CliHost.StoriesModel);
        Pool = new WorkerPool(2);
        Tokenizer = TextTokenizer.FromGguf(Model.File.Metadata);
    }

    public BitNetModel Model { get; }
    public WorkerPool Pool { get; }
    public TextTokenizer Tokenizer { get; }

    public void Dispose()
    {
        Pool.Dispose();
        Model.Dispose();
    }
}

/// <summary>
/// The chat loop on the bundled story model (a base model: the plain transcript format, greedy answers of a few
/// tokens). Each turn after the first must feed only the tokens added since the previous one.
/// </summary>
public sealed class ChatLoopTests(StoriesModelFixture fixture) : IClassFixture<StoriesModelFixture>
{
    private const int AnswerTokens = 20;

    private static readonly ChatOptions Greedy = new()
    {
        Sampling = new SamplingParameters { Temperature = 0 },
        MaxAnswerTokens = AnswerTokens,
    };

    private ChatLoop NewLoop(ModelSession session, ChatOptions? options = null) =>
        new(session, fixture.Tokenizer, PlainChatFormat.Instance, options ?? Greedy);

    [Fact]
    public void TwoPipedTurns_AnswerTwice_AndTheSecondFeedsOnlyNewTokens()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var loop = NewLoop(session);
        var output = new StringWriter();
        var diagnostics = new StringWriter();

        loop.Run(new StringReader("Hi, who are you?\nTell me about your dog.\n"), output, diagnostics, interactive: false);

        Assert.Equal(2, loop.Turns.Count);
        var (first, second) = (loop.Turns[0], loop.Turns[1]);
        Assert.Equal(0, first.ReusedTokens);
        Assert.Equal(first.PromptTokens, first.FedTokens);
        // Everything the first turn left in the cache (its prompt and the answer tokens it fed) is reused.
        Assert.Equal(first.PromptTokens + first.Answer.FedCount, second.ReusedTokens);
        Assert.Equal(second.PromptTokens - second.ReusedTokens, second.FedTokens);
        Assert.True(second.FedTokens < second.PromptTokens / 2, $"fed {second.FedTokens} of {second.PromptTokens}");
        Assert.Equal(session.Position, loop.CachedTokens);

        // Piped, the output is a transcript: each message, its answer, a blank line.
        Assert.Equal($"> Hi, who are you?\n{first.Answer.Text.TrimStart()}\n\n> Tell me about your dog.\n{second.Answer.Text.TrimStart()}\n\n",
            output.ToString());
        Assert.Equal(AnswerTokens, first.Answer.Tokens.Count);
        Assert.False(string.IsNullOrWhiteSpace(first.Answer.Text));
        Assert.Equal(["user", "assistant", "user", "assistant"], loop.History.Select(m => m.Role));
        Assert.Equal(2, diagnostics.ToString().Split('\n').Count(l => l.StartsWith("[prompt ")));
    }

    [Fact]
    public void AnswerWithReusedCache_EqualsAnswerFromAFreshSession()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var loop = NewLoop(session);
        loop.Ask("Hi, who are you?", TextWriter.Null, TextWriter.Null);
        var second = loop.Ask("Tell me about your dog.", TextWriter.Null, TextWriter.Null)!;
        Assert.True(second.ReusedTokens > 0);

        // Render the conversation up to the second question and answer it from scratch.
        var history = loop.History.Take(loop.History.Count - 1).ToList();
        var prompt = fixture.Tokenizer.Encode(PlainChatFormat.Instance.Render(history, addGenerationPrompt: true), addBos: true);
        Assert.Equal(second.PromptTokens, prompt.Length);
        using var fresh = new ModelSession(fixture.Model, fixture.Pool);
        var logits = fresh.Feed(prompt);
        var generator = new TextGenerator(fresh, fixture.Tokenizer, null, PlainChatFormat.Instance.StopStrings);
        var answer = generator.Generate(logits, new Sampler(fresh.Vocab, Greedy.Sampling), AnswerTokens,
            fixture.Tokenizer.CreateStreamingDetokenizer(skipSpecial: true, atSequenceStart: false), TextWriter.Null);

        Assert.Equal(answer.Tokens, second.Answer.Tokens);
        Assert.Equal(loop.History[^1].Content, answer.Text.TrimStart());
    }

    [Fact]
    public void ResetAndExit_AreCommands()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var loop = NewLoop(session, Greedy with { SystemPrompt = "You tell stories." });
        var diagnostics = new StringWriter();

        loop.Run(new StringReader("Hello\n\n/reset\nHello\n/exit\nnever read\n"), TextWriter.Null, diagnostics, interactive: false);

        Assert.Equal(2, loop.Turns.Count);
        Assert.Equal(0, loop.Turns[1].ReusedTokens);                  // the cache was cleared
        Assert.Equal(loop.Turns[0].Answer.Tokens, loop.Turns[1].Answer.Tokens); // same conversation, same greedy answer
        Assert.Equal(["system", "user", "assistant"], loop.History.Select(m => m.Role));
        Assert.Contains("(conversation cleared)", diagnostics.ToString());
    }

    [Fact]
    public void Interactive_PromptsBeforeEachLine()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var loop = NewLoop(session, Greedy with { MaxAnswerTokens = 3 });
        var output = new StringWriter();

        loop.Run(new StringReader("Hi\n"), output, TextWriter.Null, interactive: true);

        string text = output.ToString();
        Assert.StartsWith("> ", text);
        Assert.EndsWith("\n> ", text); // prompted again, then end of input
    }

    [Fact]
    public void CancelAnswer_StopsTheAnswer_AndTheNextTurnStillReusesTheCache()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var loop = NewLoop(session, Greedy with { MaxAnswerTokens = 40 });
        // Cancels as soon as the answer prints something, like Ctrl-C from the console handler would.
        var output = new CancellingWriter(loop);

        var cancelled = loop.Ask("Tell me a long story.", output, TextWriter.Null)!;
        output.Armed = false;
        var next = loop.Ask("And then?", TextWriter.Null, TextWriter.Null)!;

        Assert.Equal(GenerationStop.Cancelled, cancelled.Answer.Stop); // long before the 40-token limit
        Assert.True(cancelled.Answer.Tokens.Count <= 3, $"{cancelled.Answer.Tokens.Count} tokens after cancelling");
        Assert.Equal(cancelled.Answer.Text.TrimStart(), loop.History[1].Content);
        Assert.Equal(cancelled.PromptTokens + cancelled.Answer.FedCount, next.ReusedTokens);
        Assert.False(loop.IsAnswering);
    }

    [Fact]
    public void LongConversation_DropsTheOldestMessagesToFitTheContext()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool, contextLength: 96);
        var loop = NewLoop(session);
        var diagnostics = new StringWriter();

        loop.Run(new StringReader("Tell me a story.\nWhat happened next?\nAnd after that?\n"), TextWriter.Null, diagnostics, interactive: false);

        Assert.Equal(3, loop.Turns.Count);
        Assert.Contains("oldest messages to fit the context", diagnostics.ToString());
        Assert.Equal("And after that?", loop.History[^2].Content);
        Assert.All(loop.Turns, t => Assert.True(t.PromptTokens + 24 <= 96, $"prompt of {t.PromptTokens} tokens"));
    }

    [Fact]
    public void MessageLongerThanTheContext_IsRefused()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool, contextLength: 64);
        var loop = NewLoop(session);
        var diagnostics = new StringWriter();

        var turn = loop.Ask(string.Join(' ', Enumerable.Repeat("word", 100)), TextWriter.Null, diagnostics);

        Assert.Null(turn);
        Assert.Empty(loop.History);
        Assert.Contains("does not fit the context of 64 tokens", diagnostics.ToString());
    }

    private sealed class CancellingWriter(ChatLoop loop) : StringWriter
    {
        public bool Armed { get; set; } = true;

        public override void Write(string? value)
        {
            base.Write(value);
            if (Armed && !string.IsNullOrEmpty(value)) loop.CancelAnswer();
        }
    }
}
