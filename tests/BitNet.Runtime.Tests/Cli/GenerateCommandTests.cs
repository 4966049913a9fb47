using BitNet.Runtime.Gguf;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Cli;

/// <summary>`bitnet generate`: the token-id JSON mode stays as it was; the text mode streams exactly the decoded ids.</summary>
[Collection(CliConsoleCollection.Name)]
public sealed class GenerateCommandTests
{
    private const string Prompt = "Once upon a time";

    private static readonly Lazy<TextTokenizer> Tokenizer = new(() =>
    {
        using var file = GgufFile.Open(CliHost.StoriesModel);
        return TextTokenizer.FromGguf(file.Metadata);
    });

    [Fact]
    public void TokensMode_PrintsTheSameJsonAsBefore()
    {
        // The reference's greedy continuation of BOS (shared/reference/stories3m, case bos-only), in the exact format
        // scripts parse: one line, no spaces.
        var result = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--tokens", "1", "-n", "16", "--temp", "0");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("{\"tokens\":[403,407,261,378,432,383,286,261,376,298,315,421,395,317,426,338]}\n", result.Out);
        Assert.StartsWith("prefill: 1 tokens in ", result.Error);
    }

    [Theory]
    [InlineData("--prompt", "x", "--tokens", "1", "mutually exclusive")]
    [InlineData("--tokens", "1", "--temp", "0.5", "--temp")]
    [InlineData("--tokens", "1", "--top-p", "0.5", "--top-p needs --prompt")]
    [InlineData("--prompt", "x", "--top-p", "2", "--top-p must be in (0, 1]")]
    [InlineData("--prompt", "x", "--repeat-penalty", "0", "--repeat-penalty must be > 0")]
    [InlineData("--prompt", "x", "--stop", "", "--stop")]
    [InlineData("--prompt", "x", "-n", "-2", "-n must be")]
    public void InvalidFlags_AreOneLineErrorsWithExitCode2(string a, string b, string c, string d, string expected)
    {
        var result = CliHost.Run("generate", "--model", CliHost.StoriesModel, a, b, c, d);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.StartsWith("error: ", result.Error);
        Assert.Contains(expected, result.Error);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public void NoPrompt_IsAnError()
    {
        var result = CliHost.Run("generate", "--model", CliHost.StoriesModel);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--prompt", result.Error);
    }

    [Fact]
    public void GreedyPrompt_StreamsTheDecodedGreedyTokensDeterministically()
    {
        var tokenizer = Tokenizer.Value;
        var prompt = tokenizer.Encode(Prompt, addBos: true, parseSpecial: true);
        Assert.Equal([1, 403, 407, 261, 378], prompt);

        var text = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", Prompt, "-n", "48", "--temp", "0");
        var again = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", Prompt, "-n", "48", "--temp", "0");
        var ids = CliHost.ParseTokens(CliHost.Run("generate", "--model", CliHost.StoriesModel,
            "--tokens", string.Join(',', prompt), "-n", "48", "--temp", "0"));

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Equal(text.Out, again.Out);
        // The same greedy tokens as the JSON mode, decoded with the prompt: streaming loses or splits nothing.
        Assert.Equal(tokenizer.Decode([.. prompt, .. ids], skipSpecial: true) + "\n", text.Out);
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside", text.Out);
        Assert.Contains("stop: token limit", text.Error);
        Assert.Contains("prefill: 5 tokens", text.Error);
        Assert.Contains("decode: 48 tokens", text.Error);
    }

    [Fact]
    public void LongSampledStories_EndAtTheEndOfTheStory()
    {
        // The bundled model writes <s> and a new "Once upon a time" after a story: that ends the generation, so the
        // prompt's words appear once. (Which seeds end before -n depends on the numerics; most of them do.)
        int ended = 0;
        foreach (int seed in new[] { 1, 2, 3, 4, 5, 6 })
        {
            var result = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", Prompt, "-n", "450",
                "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.DoesNotContain("<s>", result.Out);
            Assert.True(result.Out.Split(Prompt).Length - 1 == 1, $"seed {seed}: a second story began:\n{result.Out}");
            if (result.Error.Contains("stop: end of text", StringComparison.Ordinal)) ended++;
        }
        Assert.True(ended >= 3, $"only {ended} of 6 stories ended before the token limit");
    }

    [Fact]
    public void NoDisplayPrompt_PrintsOnlyTheContinuation()
    {
        var full = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", Prompt, "-n", "12", "--temp", "0");
        var continuation = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", Prompt, "-n", "12", "--temp", "0",
            "--no-display-prompt");

        Assert.StartsWith(Prompt, full.Out);
        Assert.Equal(full.Out[Prompt.Length..], continuation.Out);
        Assert.StartsWith(", there was", continuation.Out);
    }

    [Fact]
    public void StopString_CutsTheTextBeforeIt()
    {
        var result = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", Prompt, "-n", "48", "--temp", "0",
            "--stop", "Lily", "--stop", "never appears");

        Assert.Equal("Once upon a time, there was a little girl named \n", result.Out);
        Assert.Contains("stop: stop string", result.Error);
    }

    [Fact]
    public void Seed_MakesSampledTextReproducible()
    {
        string[] Args(string seed) =>
            ["generate", "--model", CliHost.StoriesModel, "--prompt", Prompt, "-n", "40", "--temp", "1", "--seed", seed];

        var first = CliHost.Run(Args("1234"));
        var second = CliHost.Run(Args("1234"));
        var other = CliHost.Run(Args("99"));

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(first.Out, second.Out);
        Assert.NotEqual(first.Out, other.Out);
        Assert.Contains("seed 1234", first.Error);
        Assert.StartsWith(Prompt, first.Out);
    }

    [Fact]
    public void SmallContext_StopsWhenFull()
    {
        var result = CliHost.Run("generate", "--model", CliHost.StoriesModel, "--prompt", Prompt, "-n", "-1", "--temp", "0", "-c", "16");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("stop: context full", result.Error);
        Assert.Contains("decode: 12 tokens", result.Error); // 5 prompt + 11 fed + the last one sampled
    }
}
