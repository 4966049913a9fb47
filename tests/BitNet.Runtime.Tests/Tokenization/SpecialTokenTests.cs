using BitNet.Runtime.Chat;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>Special tokens: parsed only on request, BOS exactly once, end-of-generation ids, prompt segments.</summary>
[Collection(TokenizerCollection.Name)]
public sealed class SpecialTokenTests(TokenizerFixture fixture)
{
    private const int BeginOfText = 128000, EndOfText = 128001, EndOfMessage = 128008, EndOfTurn = 128009;

    [Fact]
    public void EotText_IsTheSpecialTokenOnlyWhenParsingSpecials()
    {
        foreach (var t in new[] { fixture.Llama3Gguf, fixture.Llama3Tiktoken })
        {
            Assert.Equal([EndOfTurn], t.Encode("<|eot_id|>", addBos: false, parseSpecial: true));

            int[] typed = t.Encode("<|eot_id|>", addBos: false, parseSpecial: false);
            Assert.True(typed.Length > 1);
            Assert.DoesNotContain(EndOfTurn, typed);
            Assert.All(typed, id => Assert.False(t.IsSpecial(id)));
            Assert.Equal("<|eot_id|>", t.Decode(typed));
        }
    }

    [Fact]
    public void SpecialsInsideText_SplitTheTextAroundThem()
    {
        var t = fixture.Llama3Gguf;
        int[] ids = t.Encode("Hello<|eot_id|> world", addBos: false, parseSpecial: true);
        int[] expected = [.. t.Encode("Hello", false, false), EndOfTurn, .. t.Encode(" world", false, false)];
        Assert.Equal(expected, ids);
        Assert.Equal("Hello<|eot_id|> world", t.Decode(ids));
        Assert.Equal("Hello world", t.Decode(ids, skipSpecial: true));
    }

    [Fact]
    public void Bos_IsAddedOnce()
    {
        var t = fixture.Llama3Gguf;
        int[] plain = t.Encode("Hello", addBos: true, parseSpecial: false);
        Assert.Equal(BeginOfText, plain[0]);
        Assert.Equal(plain, t.Encode("<|begin_of_text|>Hello", addBos: true, parseSpecial: true));
        Assert.Equal(plain, t.Encode("<|begin_of_text|>Hello", addBos: false, parseSpecial: true));

        // Typed as text, the BOS spelling is just characters: one real BOS, then ordinary tokens.
        int[] typed = t.Encode("<|begin_of_text|>Hello", addBos: true, parseSpecial: false);
        Assert.Single(typed, id => id == BeginOfText);
        Assert.Equal([BeginOfText], t.Encode("", addBos: true, parseSpecial: true));
        Assert.Empty(t.Encode("", addBos: false, parseSpecial: false));
    }

    [Fact]
    public void SentencePieceSpecials_FollowLlamaCpp()
    {
        var spm = fixture.LlamaSpm;
        // llama.cpp prefixes every run of text with the dummy space, also after a special token.
        Assert.Equal([1, 15043], spm.Encode("<s>Hello", addBos: true, parseSpecial: true));
        Assert.Equal([1, 15043, 2], spm.Encode("Hello</s>", addBos: true, parseSpecial: true));
        int[] typed = spm.Encode("<s>Hello", addBos: false, parseSpecial: false);
        Assert.DoesNotContain(1, typed);
        Assert.Equal("<s>Hello", spm.Decode(typed));
        Assert.Equal("<s>Hello</s>", spm.Decode([1, 15043, 2]));
        Assert.Equal("Hello", spm.Decode([1, 15043, 2], skipSpecial: true));
    }

    [Fact]
    public void EndOfGeneration_CoversEndOfTextAndEndOfTurn()
    {
        // BOS last: a model that begins a new document has ended the current one.
        Assert.Equal([EndOfText, EndOfMessage, EndOfTurn, BeginOfText], fixture.Llama3Gguf.EndOfGenerationIds);
        Assert.Equal([EndOfText, EndOfMessage, EndOfTurn, BeginOfText], fixture.Llama3Tiktoken.EndOfGenerationIds);

        // A file whose EOS is eot_id (instruct conversions) still stops on end_of_text.
        var eot = TextTokenizer.FromGguf(TokenizerFixture.With(fixture.Llama3Metadata, "tokenizer.ggml.eos_token_id",
            new GgufValue(GgufValueType.UInt32, (uint)EndOfTurn)));
        Assert.Equal(EndOfTurn, eot.EosId);
        Assert.Equal([EndOfTurn, EndOfText, EndOfMessage, BeginOfText], eot.EndOfGenerationIds);
        Assert.True(eot.IsEndOfGeneration(EndOfText));
        Assert.False(eot.IsEndOfGeneration(128006)); // <|start_header_id|>: a control token that ends nothing

        var spmWithEot = TextTokenizer.FromGguf(TokenizerFixture.With(fixture.SpmMetadata, "tokenizer.ggml.eot_token_id",
            new GgufValue(GgufValueType.Int32, 32)));
        Assert.Equal([2, 32, 1], spmWithEot.EndOfGenerationIds);
    }

    [Fact]
    public void SpecialTokenIds_CanBeLookedUpByText()
    {
        var t = fixture.Llama3Gguf;
        Assert.True(t.TryGetSpecialTokenId("<|eot_id|>", out int eot));
        Assert.Equal(EndOfTurn, eot);
        Assert.True(t.TryGetSpecialTokenId("<|start_header_id|>", out int header));
        Assert.Equal(128006, header);
        Assert.False(t.TryGetSpecialTokenId("Hello", out _));
        Assert.True(t.IsSpecial(EndOfTurn));
        Assert.True(t.IsSpecial(128255));
        Assert.False(t.IsSpecial(9906));
    }

    [Fact]
    public void PromptSegments_ParseSpecialsOnlyInTemplatesAndJoinText()
    {
        var t = fixture.Llama3Gguf;
        PromptSegment[] segments =
        [
            new("<|begin_of_text|>User: ", AllowSpecial: true),
            new("Hi <|eot_id|>", AllowSpecial: false),
            new("<|eot_id|>Assistant: ", AllowSpecial: true),
        ];
        int[] ids = t.Encode(segments, addBos: true);
        int[] expected =
        [
            BeginOfText,
            .. t.Encode("User: Hi <|eot_id|>", addBos: false, parseSpecial: false), // joined across the boundary
            EndOfTurn,
            .. t.Encode("Assistant: ", addBos: false, parseSpecial: false),
        ];
        Assert.Equal(expected, ids);
        Assert.Equal(2, ids.Count(id => t.IsSpecial(id)));
    }
}
