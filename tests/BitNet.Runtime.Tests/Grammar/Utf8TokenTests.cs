using System.Text;
using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

/// <summary>
/// Tokens that end inside a UTF-8 character or span several grammar terminals, on a synthetic vocabulary built to
/// have many of both, so the trie walk's handling of partial characters is exercised directly.
/// </summary>
public sealed class Utf8TokenTests
{
    private const int Eos = 0;

    /// <summary>Every single byte, plus pieces that split characters and pieces that span JSON structure.</summary>
    private static readonly TokenVocabulary Vocabulary = BuildVocabulary();

    private static TokenVocabulary BuildVocabulary()
    {
        var tokens = new List<byte[]?> { null }; // id 0: end of generation (no bytes)
        for (int b = 0; b < 256; b++) tokens.Add([(byte)b]);
        foreach (string text in (string[])["日本", "é", "🎉", "naïve", "Ünïcödé ✓", "€"])
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            for (int start = 0; start < bytes.Length; start++)
                for (int end = start + 2; end <= Math.Min(bytes.Length, start + 5); end++)
                    tokens.Add(bytes[start..end]);
        }
        foreach (string piece in (string[])["{\"", "\":", "\":\"", "\",\"", "\"}", "\"]", "},{\"", "]}", "\": [", "true}", "null,", "\":\"日", "本\"}", " \"", "ab\"", "\\u00", "\\n"])
            tokens.Add(Encoding.UTF8.GetBytes(piece));
        tokens.Add([0xE6, 0x97, 0xA5, 0xE6]); // ends one character in and starts another
        tokens.Add([0xC3, 0x41]); // invalid: a lead byte followed by ASCII
        tokens.Add([0xA9, 0x22]); // continuation then a quote: finishes é and closes the string
        return TokenVocabulary.FromTokens(tokens, [Eos]);
    }

    [Theory]
    [InlineData(TestSchemas.Unicode, "{\"word\":\"")]
    [InlineData(TestSchemas.Unicode, "{\"word\":\"\u65E5")]
    [InlineData(TestSchemas.Unicode, "{\"word\":\"\u00E9\",\"fixed\":\"\u00DCn")]
    [InlineData(TestSchemas.Unicode, "{\"word\":\"\u00E9\",\"fixed\":\"\u00DCn\u00EFc\u00F6d\u00E9 \u2713\",\"free\":\"")]
    [InlineData(TestSchemas.Unicode, "{\"word\":\"\u00E9\",\"fixed\":\"\u00DCn\u00EFc\u00F6d\u00E9 \u2713\",\"free\":\"x\",\"short\":\"\u65E5")]
    [InlineData("""{"type":"object"}""", "{\"a\":[")]
    public void MaskMatchesTheRecognizerTokenByToken(string schema, string prefix)
    {
        var grammar = JsonGrammar.FromSchema(schema);
        var constraint = grammar.Start(Vocabulary);
        byte[] prefixBytes = Encoding.UTF8.GetBytes(prefix);
        Assert.True(constraint.AcceptBytes(prefixBytes));
        var mask = new ulong[Vocabulary.MaskLength];
        constraint.ComputeMask(mask);
        int allowed = 0;
        for (int id = 1; id < Vocabulary.VocabSize; id++)
        {
            byte[] bytes = Vocabulary.TokenBytes(id).ToArray();
            bool expected = grammar.IsPrefix([.. prefixBytes, .. bytes]);
            Assert.True(expected == TokenMask.IsAllowed(mask, id), $"token {id} [{Convert.ToHexString(bytes)}] after '{prefix}': recognizer says {expected}");
            if (expected) allowed++;
        }
        Assert.True(allowed > 0);
    }

    [Fact]
    public void PartialCharactersAreAllowedOnlyWhereTheyCanBeCompleted()
    {
        var grammar = JsonGrammar.FromSchema("""{"enum":["日本"]}""");
        var constraint = grammar.Start(Vocabulary);
        Assert.True(constraint.AcceptBytes("\""u8));
        var mask = new ulong[Vocabulary.MaskLength];
        constraint.ComputeMask(mask);
        Assert.True(TokenMask.IsAllowed(mask, 1 + 0xE6)); // first byte of 日 alone
        Assert.False(TokenMask.IsAllowed(mask, 1 + 0xE5)); // wrong lead byte
        Assert.False(TokenMask.IsAllowed(mask, 1 + 'a'));
        // Feed 日本 one byte at a time, then the closing quote: complete, only EOS is left.
        foreach (byte b in "日本\""u8) Assert.True(constraint.Accept(1 + b));
        Assert.True(constraint.MustEnd);
        Assert.Equal(1, constraint.ComputeMask(mask));
        Assert.True(TokenMask.IsAllowed(mask, Eos));
    }

    [Fact]
    public void FreeStringsRejectBrokenUtf8()
    {
        var grammar = JsonGrammar.FromSchema("""{"type":"string"}""");
        Assert.False(grammar.IsPrefix("\"\u00E9"u8[..2].ToArray().Append((byte)'A').ToArray())); // C3 then 'A'
        Assert.False(grammar.IsPrefix([(byte)'"', 0xED, 0xA0, 0x80])); // encoded surrogate
        Assert.False(grammar.IsPrefix([(byte)'"', 0xC0, 0xAF])); // overlong
        Assert.False(grammar.IsPrefix([(byte)'"', 0xF4, 0x90])); // beyond U+10FFFF
        Assert.True(grammar.Matches("\"🎉 naïve 日本\""));
    }

    [Fact]
    public void RandomGenerationThroughSplitCharactersValidates()
    {
        var grammar = JsonGrammar.FromSchema(TestSchemas.Unicode);
        for (int seed = 0; seed < 40; seed++)
        {
            var result = GrammarTesting.Generate(grammar, Vocabulary, new Random(seed), budget: 200);
            Assert.True(result.Finished, result.Text);
            GrammarTesting.AssertValid(TestSchemas.Unicode, result.Bytes);
        }
    }
}
