using System.Text.Json;
using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

[Collection(GrammarCollection.Name)]
public sealed class ToolCallGrammarTests(GrammarFixture fixture)
{
    private const string Weather = """
        {"type":"object","properties":{"city":{"type":"string","maxLength":10},"unit":{"enum":["c","f"]}},"required":["city","unit"],"additionalProperties":false}
        """;

    private const string Search = """
        {"$defs":{"q":{"type":"string","minLength":1,"maxLength":8}},"type":"object","properties":{"query":{"$ref":"#/$defs/q"},"limit":{"type":"integer","minimum":1,"maximum":5}},"required":["query"],"additionalProperties":false}
        """;

    private static List<ToolSchema> Tools() =>
    [
        new("get_weather", JsonDocument.Parse(Weather).RootElement),
        new("search", JsonDocument.Parse(Search).RootElement),
    ];

    [Fact]
    public void RecognizesCallsOfTheListedToolsOnly()
    {
        var grammar = JsonGrammar.ForToolCalls(Tools());
        Assert.True(grammar.Matches("""{"name":"get_weather","arguments":{"city":"Oslo","unit":"c"}}"""));
        Assert.True(grammar.Matches("""{"name": "search", "arguments": {"query":"x"}}"""));
        Assert.False(grammar.Matches("""{"name":"search","arguments":{"city":"Oslo","unit":"c"}}"""));
        Assert.False(grammar.Matches("""{"name":"delete_all","arguments":{}}"""));
        var parallel = JsonGrammar.ForToolCalls(Tools(), parallel: true);
        Assert.True(parallel.Matches("""[{"name":"search","arguments":{"query":"a"}},{"name":"search","arguments":{"query":"b","limit":2}}]"""));
        Assert.False(parallel.Matches("[]"));
    }

    [Theory]
    [InlineData("stories")]
    [InlineData("tiny")]
    public void RandomCallsValidateAgainstTheirToolSchema(string tokenizerName)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.ForToolCalls(Tools(), parallel: true);
        for (int seed = 0; seed < 20; seed++)
        {
            var result = GrammarTesting.Generate(grammar, vocabulary, new Random(seed), budget: 250);
            Assert.True(result.Finished, result.Text);
            using var document = JsonDocument.Parse(result.Bytes);
            foreach (var call in document.RootElement.EnumerateArray())
            {
                string name = call.GetProperty("name").GetString()!;
                string schema = name == "search" ? Search : Weather;
                GrammarTesting.AssertValid(schema, JsonSerializer.SerializeToUtf8Bytes(call.GetProperty("arguments")));
            }
        }
    }

    [Fact]
    public void UnsupportedParameterSchemasAreNamed()
    {
        var tools = new List<ToolSchema> { new("f", JsonDocument.Parse("""{"type":"object","patternProperties":{"x":{}}}""").RootElement) };
        var error = Assert.Throws<SchemaNotSupportedException>(() => JsonGrammar.ForToolCalls(tools));
        Assert.Equal("patternProperties", error.Keyword);
    }
}
