using System.Text;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>TokenBytes / TokenText / Decode: raw bytes per token and id validation.</summary>
[Collection(TokenizerCollection.Name)]
public sealed class TokenBytesTests(TokenizerFixture fixture)
{
    [Fact]
    public void SentencePieceTokens_MapMarkerAndByteTokens()
    {
        var spm = fixture.LlamaSpm;
        Assert.Equal([0x0A], spm.TokenBytes(13).ToArray()); // <0x0A>
        Assert.Equal([0xF0], spm.TokenBytes(3 + 0xF0).ToArray()); // <0xF0>
        Assert.Equal(" Hello"u8.ToArray(), spm.TokenBytes(15043).ToArray()); // "▁Hello"
        Assert.Equal("<s>"u8.ToArray(), spm.TokenBytes(1).ToArray());
        Assert.Equal(" Hello", spm.TokenText(15043));
    }

    [Fact]
    public void SentencePieceByteFallback_SpellsMultiByteCharacters()
    {
        var spm = fixture.LlamaSpm;
        int[] ids = spm.Encode("🦙", addBos: false, parseSpecial: false); // not a piece: "▁" then 4 byte tokens
        Assert.Equal([29871, 243, 162, 169, 156], ids);
        var bytes = new List<byte>();
        foreach (int id in ids[1..]) bytes.AddRange(spm.TokenBytes(id).ToArray());
        Assert.Equal(Encoding.UTF8.GetBytes("🦙"), bytes.ToArray());
        Assert.Equal("\uFFFD", spm.TokenText(243)); // one byte of four is not a character
    }

    [Fact]
    public void ByteLevelTokens_AreUnmappedFromTheGpt2Alphabet()
    {
        var t = fixture.Llama3Gguf;
        Assert.Equal(" "u8.ToArray(), t.TokenBytes(220).ToArray()); // "Ġ"
        Assert.Equal("\n"u8.ToArray(), t.TokenBytes(198).ToArray()); // "Ċ"
        Assert.Equal("Hello"u8.ToArray(), t.TokenBytes(9906).ToArray());
        Assert.Equal("<|eot_id|>"u8.ToArray(), t.TokenBytes(128009).ToArray());

        // A multi-byte character: every token's bytes concatenated give the UTF-8, even where a token splits it.
        foreach (string text in new[] { "🦙", "Führer", "нещо", "我想在apple工作", "ပုံ" })
        {
            var bytes = new List<byte>();
            foreach (int id in t.Encode(text, addBos: false, parseSpecial: false)) bytes.AddRange(t.TokenBytes(id).ToArray());
            Assert.Equal(Encoding.UTF8.GetBytes(text), bytes.ToArray());
        }
        int[] llama = t.Encode("🦙", addBos: false, parseSpecial: false);
        Assert.True(llama.Length > 1, "the llama emoji is split across byte-level tokens in this vocabulary");
    }

    [Fact]
    public void IdsOutsideTheVocabulary_Throw()
    {
        foreach (var t in new[] { fixture.Llama3Gguf, fixture.LlamaSpm })
        {
            foreach (int bad in new[] { -1, t.VocabSize, int.MaxValue })
            {
                Assert.Throws<ArgumentOutOfRangeException>(() => t.TokenBytes(bad).Length);
                Assert.Throws<ArgumentOutOfRangeException>(() => t.TokenText(bad));
                Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([1, bad]));
                Assert.Throws<ArgumentOutOfRangeException>(() => t.IsSpecial(bad));
                Assert.Throws<ArgumentOutOfRangeException>(() => t.CreateStreamingDetokenizer().Append(bad));
            }
        }
    }

    [Fact]
    public void InvalidUtf8_DecodesToReplacementCharacters()
    {
        var spm = fixture.LlamaSpm;
        int Byte(int b) => 3 + b;
        Assert.Equal("\uFFFDA", spm.Decode([Byte(0xE4), Byte(0x41)]));
        Assert.Equal("\uFFFD", spm.Decode([Byte(0xF0), Byte(0x9F), Byte(0xA6)])); // truncated at the end
        Assert.Equal("🦙", spm.Decode([Byte(0xF0), Byte(0x9F), Byte(0xA6), Byte(0x99)]));
    }

    [Fact]
    public void MalformedMetadata_FailsWithTheKeyName()
    {
        var metadata = fixture.SpmMetadata;
        var e = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromGguf(TokenizerFixture.With(metadata,
            "tokenizer.ggml.token_type", new GgufValue(GgufValueType.Array, new int[5], GgufValueType.Int32))));
        Assert.Contains("tokenizer.ggml.token_type", e.Message);

        e = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromGguf(TokenizerFixture.With(metadata,
            "tokenizer.ggml.bos_token_id", new GgufValue(GgufValueType.UInt32, 40000u))));
        Assert.Contains("tokenizer.ggml.bos_token_id", e.Message);

        e = Assert.Throws<InvalidDataException>(() => TextTokenizer.FromGguf(TokenizerFixture.Without(metadata, "tokenizer.ggml.tokens")));
        Assert.Contains("tokenizer.ggml.tokens", e.Message);

        Assert.Throws<NotSupportedException>(() => TextTokenizer.FromGguf(TokenizerFixture.With(metadata,
            "tokenizer.ggml.model", new GgufValue(GgufValueType.String, "bert"))));
    }
}
