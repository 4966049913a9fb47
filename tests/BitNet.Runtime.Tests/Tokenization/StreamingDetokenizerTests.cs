using System.Text;
using BitNet.Runtime.Tokenization;

namespace BitNet.Runtime.Tests.Tokenization;

/// <summary>Streaming output: whole characters only, and the concatenation always equals Decode of all ids.</summary>
[Collection(TokenizerCollection.Name)]
public sealed class StreamingDetokenizerTests(TokenizerFixture fixture)
{
    private static readonly TextTokenizer Synthetic = TextTokenizer.FromGguf(SyntheticVocabularies.SentencePiece());

    [Fact]
    public void EmojiSplitAcrossByteTokens_IsEmittedWhenComplete()
    {
        int[] ids = Synthetic.Encode("😀", addBos: false, parseSpecial: false);
        int[] bytes = [.. Encoding.UTF8.GetBytes("😀").Select(b => SyntheticVocabularies.ByteToken(b))];
        Assert.Equal(bytes, ids[1..]); // "▁" then F0 9F 98 80 as byte tokens

        var stream = Synthetic.CreateStreamingDetokenizer();
        Assert.Equal("", stream.Append(ids[0])); // the dummy-prefix space of the first token is dropped
        Assert.Equal("", stream.Append(ids[1]));
        Assert.Equal("", stream.Append(ids[2]));
        Assert.Equal("", stream.Append(ids[3]));
        Assert.Equal("😀", stream.Append(ids[4]));
        Assert.Equal("", stream.Flush());
    }

    [Fact]
    public void CjkSplitAcrossByteTokens_IsEmittedWhenComplete()
    {
        var stream = Synthetic.CreateStreamingDetokenizer(atSequenceStart: false);
        Assert.Equal(" 你好", stream.Append(Synthetic.Encode("你好", false, false).Single()));
        byte[] utf8 = Encoding.UTF8.GetBytes("世");
        Assert.Equal("", stream.Append(SyntheticVocabularies.ByteToken(utf8[0])));
        Assert.Equal("", stream.Append(SyntheticVocabularies.ByteToken(utf8[1])));
        Assert.Equal("世", stream.Append(SyntheticVocabularies.ByteToken(utf8[2])));
    }

    [Fact]
    public void InvalidBytes_BecomeReplacementCharactersOnceTheyCannotComplete()
    {
        var stream = Synthetic.CreateStreamingDetokenizer();
        Assert.Equal("", stream.Append(SyntheticVocabularies.ByteToken(0xE4)));
        Assert.Equal("\uFFFDA", stream.Append(SyntheticVocabularies.ByteToken('A')));
        Assert.Equal("", stream.Append(SyntheticVocabularies.ByteToken(0xF0)));
        Assert.Equal("", stream.Append(SyntheticVocabularies.ByteToken(0x9F)));
        Assert.Equal("\uFFFD", stream.Flush());
    }

    [Fact]
    public void LeadingSpace_IsDroppedOnlyAtTheStartOfASequence()
    {
        int[] ids = fixture.Stories.Encode("Once upon a time", addBos: true, parseSpecial: false);
        Assert.Equal("Once upon a time", Stream(fixture.Stories, ids, skipSpecial: true));
        Assert.Equal("<s>Once upon a time", Stream(fixture.Stories, ids, skipSpecial: false));
        Assert.Equal(" Once upon a time", Stream(fixture.Stories, ids[1..], skipSpecial: false, atSequenceStart: false));

        // Flush ends the sequence: the next one starts fresh.
        var stream = fixture.Stories.CreateStreamingDetokenizer();
        var first = new StringBuilder();
        foreach (int id in ids[1..]) first.Append(stream.Append(id));
        first.Append(stream.Flush());
        var second = new StringBuilder();
        foreach (int id in ids[1..]) second.Append(stream.Append(id));
        Assert.Equal(first.ToString(), second.ToString());
    }

    [Fact]
    public void RandomSyntheticSequences_StreamEqualsDecode()
    {
        var random = new Random(42);
        foreach (var tokenizer in new[] { Synthetic, TextTokenizer.FromGguf(SyntheticVocabularies.SentencePiece(addSpacePrefix: false)) })
        {
            for (int round = 0; round < 300; round++)
            {
                // Mostly byte tokens, so UTF-8 sequences are split, truncated and interleaved at random.
                int[] ids = new int[random.Next(1, 40)];
                for (int i = 0; i < ids.Length; i++)
                    ids[i] = random.Next(4) == 0 ? random.Next(tokenizer.VocabSize) : SyntheticVocabularies.ByteToken(RandomUtf8Byte(random));
                AssertStreamEqualsDecode(tokenizer, ids);
            }
        }
    }

    [Fact]
    public void StoriesVocabulary_RandomIds_StreamEqualsDecode()
    {
        var random = new Random(7);
        int[] ids = new int[400];
        for (int i = 0; i < ids.Length; i++) ids[i] = random.Next(fixture.Stories.VocabSize);
        AssertStreamEqualsDecode(fixture.Stories, ids);
        for (int start = 0; start < ids.Length; start += 50) AssertStreamEqualsDecode(fixture.Stories, ids[start..(start + 50)]);
    }

    [Fact]
    public void Llama3Vocabulary_StreamEqualsDecode()
    {
        var t = fixture.Llama3Gguf;
        foreach (var golden in fixture.Llama3Golden)
        {
            int[] ids = t.Encode(golden.Text, addBos: true, parseSpecial: false);
            Assert.Equal(golden.Text, Stream(t, ids, skipSpecial: true));
        }
        var random = new Random(99);
        for (int round = 0; round < 20; round++)
        {
            int[] ids = new int[30];
            for (int i = 0; i < ids.Length; i++) ids[i] = random.Next(t.VocabSize);
            AssertStreamEqualsDecode(t, ids);
        }
    }

    [Fact]
    public void Appending_AllocatesOnlyTheReturnedText()
    {
        var stream = Synthetic.CreateStreamingDetokenizer(atSequenceStart: false);
        int[] partial = [SyntheticVocabularies.ByteToken(0xF0), SyntheticVocabularies.ByteToken(0x9F), SyntheticVocabularies.ByteToken(0x98)];
        int last = SyntheticVocabularies.ByteToken(0x80);
        for (int warm = 0; warm < 3; warm++)
        {
            foreach (int id in partial) stream.Append(id);
            stream.Append(last);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (int id in partial) Assert.Same(string.Empty, stream.Append(id));
        long afterPartial = GC.GetAllocatedBytesForCurrentThread();
        string emoji = stream.Append(last);
        long afterEmoji = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal("😀", emoji);
        Assert.Equal(0, afterPartial - before);
        Assert.True(afterEmoji - afterPartial <= 64, $"{afterEmoji - afterPartial} bytes for a 2-char string");
    }

    private static byte RandomUtf8Byte(Random random) => random.Next(5) switch
    {
        0 => (byte)random.Next(0x20, 0x7F), // ASCII
        1 => (byte)random.Next(0x80, 0xC0), // continuation
        2 => (byte)random.Next(0xC2, 0xE0), // 2-byte lead
        3 => (byte)random.Next(0xE0, 0xF0), // 3-byte lead
        _ => (byte)random.Next(0xF0, 0xF8), // 4-byte lead (0xF5.. are invalid)
    };

    private static void AssertStreamEqualsDecode(TextTokenizer tokenizer, int[] ids)
    {
        foreach (bool skipSpecial in new[] { false, true })
        {
            string expected = tokenizer.Decode(ids, skipSpecial);
            Assert.True(expected == Stream(tokenizer, ids, skipSpecial), $"ids {string.Join(' ', ids)} (skipSpecial {skipSpecial})");
        }
    }

    private static string Stream(TextTokenizer tokenizer, int[] ids, bool skipSpecial, bool atSequenceStart = true)
    {
        var stream = tokenizer.CreateStreamingDetokenizer(skipSpecial, atSequenceStart);
        var text = new StringBuilder();
        foreach (int id in ids)
        {
            string piece = stream.Append(id);
            AssertWholeCharacters(piece);
            text.Append(piece);
        }
        string tail = stream.Flush();
        AssertWholeCharacters(tail);
        return text.Append(tail).ToString();
    }

    private static void AssertWholeCharacters(string piece)
    {
        for (int i = 0; i < piece.Length; i++)
        {
            if (char.IsHighSurrogate(piece[i]) && i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1])) i++;
            else Assert.False(char.IsSurrogate(piece[i]), $"half a surrogate pair in '{piece}'");
        }
    }
}
