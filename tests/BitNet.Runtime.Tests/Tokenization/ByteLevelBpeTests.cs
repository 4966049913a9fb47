using System.Text;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>Regex choice and merge semantics of byte-level vocabularies, on a vocabulary small enough to reason about.</summary>
public sealed class ByteLevelBpeTests
{
    [Fact]
    public void Gpt2Pre_FollowsTheMergeList()
    {
        var t = TextTokenizer.FromGguf(SyntheticVocabularies.ByteLevel("gpt2"));
        Assert.Equal([259], t.Encode(" the", addBos: false, parseSpecial: false));
        // "Ġth" is a token but no merge builds it: merge-list BPE stops at "Ġt" + "h".
        Assert.Equal([256, 'h'], t.Encode(" th", addBos: false, parseSpecial: false));
        // GPT-2's regex keeps a digit run together.
        Assert.Equal([263], t.Encode("12345", addBos: false, parseSpecial: false));
    }

    [Fact]
    public void Llama3Pre_UsesTheLlama3RegexAndWholeTokenLookup()
    {
        var t = TextTokenizer.FromGguf(SyntheticVocabularies.ByteLevel("llama-bpe"));
        // Llama-3 splits digits in groups of three.
        Assert.Equal([261, '4', '5'], t.Encode("12345", addBos: false, parseSpecial: false));
        // llama.cpp's ignore_merges: a regex piece that is a token is emitted whole.
        Assert.Equal([257], t.Encode(" th", addBos: false, parseSpecial: false));
        Assert.Equal([259], t.Encode(" the", addBos: false, parseSpecial: false));
    }

    [Fact]
    public void MissingPre_OnANonLlama3Vocabulary_IsGpt2()
    {
        var t = TextTokenizer.FromGguf(SyntheticVocabularies.ByteLevel(pre: null));
        Assert.Equal([263], t.Encode("12345", addBos: false, parseSpecial: false));
        Assert.False(t.AddBos);
        Assert.Equal(-1, t.BosId);
        Assert.Equal(264, t.EosId);
        Assert.Equal([264], t.EndOfGenerationIds);
    }

    [Fact]
    public void ControlTokens_AreParsedOnlyOnRequest()
    {
        var t = TextTokenizer.FromGguf(SyntheticVocabularies.ByteLevel("gpt2"));
        Assert.Equal([259, 264], t.Encode(" the<|endoftext|>", addBos: true, parseSpecial: true)); // no BOS in this vocabulary
        int[] typed = t.Encode("<|endoftext|>", addBos: false, parseSpecial: false);
        Assert.DoesNotContain(264, typed);
        Assert.Equal("<|endoftext|>", t.Decode(typed));
    }

    [Fact]
    public void AnyText_RoundTripsThroughTheByteAlphabet()
    {
        var t = TextTokenizer.FromGguf(SyntheticVocabularies.ByteLevel("gpt2"));
        var random = new Random(1234);
        for (int round = 0; round < 200; round++)
        {
            var text = new StringBuilder();
            int length = random.Next(0, 20);
            for (int i = 0; i < length; i++)
            {
                int codePoint = random.Next(4) switch
                {
                    0 => random.Next(0, 0x80),
                    1 => random.Next(0x80, 0x800),
                    2 => random.Next(0x800, 0xD800),
                    _ => random.Next(0x10000, 0x110000),
                };
                text.Append(char.ConvertFromUtf32(codePoint));
            }
            string s = text.ToString();
            Assert.Equal(s, t.Decode(t.Encode(s, addBos: false, parseSpecial: false)));
        }
    }
}
