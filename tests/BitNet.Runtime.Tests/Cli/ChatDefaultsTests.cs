using BitNet.Cli.Commands;
using BitNet.Cli.Text;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>Defaults that fit the bundled model: bench lengths within its context, bounded chat answers that start with a word.</summary>
public sealed class ChatDefaultsTests(StoriesModelFixture fixture) : IClassFixture<StoriesModelFixture>
{
    [Fact]
    public void BenchDefaults_AreClampedToTheContext_AndSaySo()
    {
        var (p, n, note) = BenchLengths.Fit(512, 128, 512);
        Assert.Equal((511, 128), (p, n));
        Assert.Equal("note: the model's context is 512 tokens; using -p 512 -> 511", note);

        var (bigP, bigN, bigNote) = BenchLengths.Fit(4096, 1000, 512);
        Assert.Equal((511, 510), (bigP, bigN));
        Assert.Contains("-n 1000 -> 510", bigNote);
        Assert.Equal((128, 128, null), BenchLengths.Fit(128, 128, 512));
        Assert.Equal((0, 64, null), BenchLengths.Fit(0, 64, 4096));
    }

    private int ColonToken() => Enumerable.Range(0, fixture.Tokenizer.VocabSize).First(id => fixture.Tokenizer.TokenText(id) == ":");

    [Fact]
    public void AnAnswerNeverStartsWithClosingPunctuation_EvenWhenTheModelWantsIt()
    {
        int colon = ColonToken();
        Assert.Contains(colon, fixture.Tokenizer.AnswerStartExclusions);
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        // A +20 bias makes ':' by far the likeliest first token, as the bundled model sometimes has it after "Assistant:".
        var options = new ChatOptions
        {
            Sampling = new SamplingParameters { Temperature = 0, LogitBias = new Dictionary<int, float> { [colon] = 20 } },
            MaxAnswerTokens = 6,
        };
        var loop = new ChatLoop(session, fixture.Tokenizer, PlainChatFormat.Instance, options);
        var turn = loop.Ask("Hello!", TextWriter.Null, TextWriter.Null)!;
        Assert.NotEqual(colon, turn.Answer.Tokens[0]);
        Assert.DoesNotContain(turn.Answer.Text.TrimStart()[0], ":;,.!?)]}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void SampledAnswers_StartWithAWordOrAQuote(int seed)
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var options = new ChatOptions { Sampling = new SamplingParameters { Seed = (ulong)seed }, MaxAnswerTokens = 4 };
        var loop = new ChatLoop(session, fixture.Tokenizer, PlainChatFormat.Instance, options);
        foreach (string message in new[] { "Hello!", "Who are you?" })
        {
            string text = loop.Ask(message, TextWriter.Null, TextWriter.Null)!.Answer.Text.TrimStart(' ');
            if (text.Length > 0) Assert.DoesNotContain(text[0], ":;,.!?)]}\n");
        }
    }

    [Fact]
    public void TheDefaultAnswerLength_LeavesRoomForTheNextTurn()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        // End-of-generation tokens banned: the model writes until a limit stops it.
        var bias = fixture.Tokenizer.EndOfGenerationIds.ToDictionary(id => id, _ => -100f);
        var loop = new ChatLoop(session, fixture.Tokenizer, PlainChatFormat.Instance,
            new ChatOptions { Sampling = new SamplingParameters { Temperature = 0, LogitBias = bias }, StopStrings = [] });
        var turn = loop.Ask("Tell me a long story.", TextWriter.Null, TextWriter.Null)!;
        Assert.True(turn.Answer.Tokens.Count <= ChatOptions.DefaultAnswerTokens, $"{turn.Answer.Tokens.Count} tokens");
        Assert.True(turn.PromptTokens + turn.Answer.Tokens.Count < session.ContextLength - 64);
    }
}
