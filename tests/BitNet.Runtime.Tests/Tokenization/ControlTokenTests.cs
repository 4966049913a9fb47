using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>Control tokens in generated text: the ones that end a turn or a document end generation, the others are never text.</summary>
[Collection(TokenizerCollection.Name)]
public sealed class ControlTokenTests(TokenizerFixture fixture)
{
    [Fact]
    public void TheStoriesModelsBosEndsGeneration()
    {
        // The bundled TinyStories model writes <s> between stories: the story it was writing is over.
        Assert.Equal([2, 1], fixture.Stories.EndOfGenerationIds);
        Assert.True(fixture.Stories.IsEndOfGeneration(fixture.Stories.BosId));
    }

    [Fact]
    public void OutputText_DropsControlTokens_ButDecodeStillShowsThem()
    {
        var t = fixture.Llama3Gguf;
        int header = 128006, headerEnd = 128007;
        int[] hi = t.Encode("Hi there", addBos: false, parseSpecial: false);
        int[] ids = [128000, header, .. hi, headerEnd, 128009];
        Assert.True(t.IsControl(header));
        Assert.False(t.IsControl(hi[0]));

        var output = t.CreateOutputDetokenizer(atSequenceStart: false);
        string text = string.Concat(ids.Select(output.Append)) + output.Flush();
        Assert.Equal("Hi there", text);
        // /detokenize and the CLI's `tokenize` round trips keep showing specials unless asked not to.
        Assert.Equal("<|begin_of_text|><|start_header_id|>Hi there<|end_header_id|><|eot_id|>", t.Decode(ids));
    }

    [Fact]
    public void OutputText_OfTheStoriesModel_NeverShowsBos()
    {
        var t = fixture.Stories;
        int[] first = t.Encode("Once upon a time", addBos: true, parseSpecial: false);
        int[] second = t.Encode("Once upon a time", addBos: true, parseSpecial: false);
        var output = t.CreateOutputDetokenizer(atSequenceStart: true);
        string text = string.Concat(first.Concat(second).Select(output.Append)) + output.Flush();
        Assert.DoesNotContain("<s>", text);
        Assert.StartsWith("Once upon a time", text);
    }
}
