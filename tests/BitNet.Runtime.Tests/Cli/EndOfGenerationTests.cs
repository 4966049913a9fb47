using BitNet.Cli.Text;
using BitNet.Runtime.Model;
using BitNet.Runtime.Sampling;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>
/// The CLI's decode loop ends at every end-of-generation token, BOS included (the bundled model writes &lt;s&gt; and
/// starts a new story), and counts only the tokens that are part of the text, as the server's usage does.
/// </summary>
public sealed class EndOfGenerationTests(StoriesModelFixture fixture) : IClassFixture<StoriesModelFixture>
{
    [Fact]
    public void BosEndsTheGeneration_AndIsNotCounted()
    {
        using var session = new ModelSession(fixture.Model, fixture.Pool);
        var tokenizer = fixture.Tokenizer;
        var prompt = tokenizer.Encode("Once upon a time", addBos: true, parseSpecial: false);
        var logits = session.Feed(prompt);
        // A +100 bias makes BOS the first token sampled.
        var sampler = new Sampler(session.Vocab, new SamplingParameters { Temperature = 0, LogitBias = new Dictionary<int, float> { [tokenizer.BosId] = 100 } });
        var generator = new TextGenerator(session, tokenizer, null, null);
        var output = new StringWriter();
        var result = generator.Generate(logits, sampler, 50, tokenizer.CreateOutputDetokenizer(atSequenceStart: false), output);

        Assert.Equal(GenerationStop.EndOfGeneration, result.Stop);
        Assert.Equal([tokenizer.BosId], result.Tokens);
        Assert.Equal(0, result.CompletionTokens);
        Assert.Equal("", output.ToString());
        Assert.Equal("", result.Text);
    }
}
