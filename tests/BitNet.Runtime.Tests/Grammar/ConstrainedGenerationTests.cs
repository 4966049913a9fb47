using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

/// <summary>
/// Random constrained generation at "temperature infinity": uniform choice among the allowed tokens, many seeds,
/// with real vocabularies. Every output must parse and validate with an independent JSON Schema validator.
/// </summary>
[Collection(GrammarCollection.Name)]
public sealed class ConstrainedGenerationTests(GrammarFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string tokenizer in (string[])["stories", "tiny"])
            foreach (string schema in (string[])["Person", "Order", "Tree", "Loose", "Unicode", "Choices", "AnyObject"])
                data.Add(tokenizer, schema);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RandomOutputsValidate(string tokenizerName, string schemaName)
    {
        string schema = TestSchemas.Get(schemaName);
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.FromSchema(schema);
        for (int seed = 0; seed < 25; seed++)
        {
            var result = GrammarTesting.Generate(grammar, vocabulary, new Random(seed), budget: 300);
            Assert.True(result.Finished, $"seed {seed}: not finished: {result.Text}");
            if (seed < 2) output.WriteLine($"{tokenizerName}/{schemaName} seed {seed} ({result.Tokens.Count} tokens): {result.Text}");
            Assert.True(grammar.Matches(result.Text), $"seed {seed}: recognizer rejects its own output {result.Text}");
            GrammarTesting.AssertValid(schema, result.Bytes);
        }
    }

    [Theory]
    [InlineData("Order")]
    [InlineData("Unicode")]
    [InlineData("AnyObject")]
    public void RandomOutputsValidateWithLlama3Vocabulary(string schemaName)
    {
        string schema = TestSchemas.Get(schemaName);
        var vocabulary = TokenVocabulary.For(fixture.Llama3);
        var grammar = JsonGrammar.FromSchema(schema);
        for (int seed = 0; seed < 4; seed++)
        {
            var result = GrammarTesting.Generate(grammar, vocabulary, new Random(seed), budget: 120);
            Assert.True(result.Finished, $"seed {seed}: not finished: {result.Text}");
            output.WriteLine($"llama3/{schemaName} seed {seed} ({result.Tokens.Count} tokens): {result.Text}");
            GrammarTesting.AssertValid(schema, result.Bytes);
        }
    }

    [Theory]
    [InlineData("stories")]
    [InlineData("tiny")]
    public void JsonObjectModeProducesObjects(string tokenizerName)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.AnyJsonObject();
        for (int seed = 0; seed < 25; seed++)
        {
            var result = GrammarTesting.Generate(grammar, vocabulary, new Random(1000 + seed), budget: 200);
            Assert.True(result.Finished, result.Text);
            using var document = System.Text.Json.JsonDocument.Parse(result.Bytes);
            Assert.Equal(System.Text.Json.JsonValueKind.Object, document.RootElement.ValueKind);
        }
    }

    [Theory]
    [InlineData("stories")]
    [InlineData("tiny")]
    public void CompleteValueForcesEndOfGeneration(string tokenizerName)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var constraint = JsonGrammar.FromSchema("""{"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"],"additionalProperties":false}""").Start(vocabulary);
        Assert.True(constraint.AcceptBytes("{\"a\":true}"u8));
        var mask = new ulong[vocabulary.MaskLength];
        int count = constraint.ComputeMask(mask);
        Assert.True(constraint.MustEnd);
        Assert.Equal(vocabulary.EndOfGenerationIds.Count, count);
        foreach (int id in vocabulary.EndOfGenerationIds) Assert.True(TokenMask.IsAllowed(mask, id));
        Assert.True(constraint.Accept(vocabulary.EndOfGenerationIds[0]));
        Assert.True(constraint.IsFinished);
        Assert.Equal(0, constraint.ComputeMask(mask));
    }

    [Theory]
    [InlineData("stories")]
    [InlineData("tiny")]
    public void DisallowedTokensAreRefusedAndEverySingleAllowedTokenIsAccepted(string tokenizerName)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.FromSchema(TestSchemas.Person);
        var constraint = grammar.Start(vocabulary);
        Assert.True(constraint.AcceptBytes("{\"name\":\"A"u8));
        var mask = new ulong[vocabulary.MaskLength];
        constraint.ComputeMask(mask);
        // The mask must agree exactly with what the recognizer says about each token's bytes.
        for (int id = 0; id < vocabulary.VocabSize; id++)
        {
            var bytes = vocabulary.TokenBytes(id);
            bool expected = !bytes.IsEmpty && grammar.IsPrefix([.. "{\"name\":\"A"u8, .. bytes]);
            Assert.True(expected == TokenMask.IsAllowed(mask, id), $"token {id} '{System.Text.Encoding.UTF8.GetString(bytes)}': mask {!expected}, recognizer {expected}");
            var fork = constraint.Clone();
            Assert.Equal(expected, fork.Accept(id));
        }
        Assert.False(constraint.Accept(vocabulary.EndOfGenerationIds[0]), "end-of-generation before the value is complete");
    }

    [Fact]
    public void VocabulariesCanSpellEveryByte()
    {
        // The token budget's guarantee rests on this (see GrammarConstraint.ComputeMask).
        Assert.True(TokenVocabulary.For(fixture.Stories).HasAllSingleByteTokens);
        Assert.True(TokenVocabulary.For(fixture.Tiny).HasAllSingleByteTokens);
    }
}

/// <summary>More schemas under the 128k Llama-3 vocabulary, whose tokens often span several JSON terminals.</summary>
[Collection(GrammarCollection.Name)]
public sealed class Llama3GenerationTests(GrammarFixture fixture)
{
    [Theory]
    [InlineData("Person")]
    [InlineData("Tree")]
    [InlineData("Choices")]
    [InlineData("Loose")]
    public void RandomOutputsValidate(string schemaName)
    {
        string schema = TestSchemas.Get(schemaName);
        var vocabulary = TokenVocabulary.For(fixture.Llama3);
        var grammar = JsonGrammar.FromSchema(schema);
        for (int seed = 0; seed < 3; seed++)
        {
            var result = GrammarTesting.Generate(grammar, vocabulary, new Random(100 + seed), budget: 100);
            Assert.True(result.Finished, $"seed {seed}: not finished: {result.Text}");
            GrammarTesting.AssertValid(schema, result.Bytes);
        }
    }
}
