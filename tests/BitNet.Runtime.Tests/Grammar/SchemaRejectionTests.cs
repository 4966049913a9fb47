using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

public sealed class SchemaRejectionTests
{
    [Theory]
    [InlineData("""{"type":"object","patternProperties":{"^x":{"type":"string"}}}""", "patternProperties", "#")]
    [InlineData("""{"type":"object","properties":{"a":{"if":{"type":"string"},"then":{"maxLength":2}}}}""", "if", "#/properties/a")]
    [InlineData("""{"not":{"type":"string"}}""", "not", "#")]
    [InlineData("""{"type":"object","dependentSchemas":{"a":{}}}""", "dependentSchemas", "#")]
    [InlineData("""{"type":"array","items":{"type":"integer"},"uniqueItems":true}""", "uniqueItems", "#")]
    [InlineData("""{"type":"integer","multipleOf":3}""", "multipleOf", "#")]
    [InlineData("""{"type":"array","prefixItems":[{"type":"integer"}]}""", "prefixItems", "#")]
    [InlineData("""{"type":"object","properties":{"list":{"type":"array","items":{"type":"object","propertyNames":{"maxLength":3}}}}}""", "propertyNames", "#/properties/list/items")]
    [InlineData("""{"allOf":[{"type":"integer"},{"minimum":1}]}""", "allOf", "#")]
    [InlineData("""{"oneOf":[{"type":"integer"},{"type":"integer","minimum":3}]}""", "oneOf", "#")]
    [InlineData("""{"$ref":"https://example.com/s.json"}""", "$ref", "#")]
    [InlineData("""{"$ref":"#/$defs/missing"}""", "$ref", "#")]
    [InlineData("""{"type":"string","pattern":"^(?=a)b$"}""", "pattern", "#")]
    [InlineData("""{"type":"string","pattern":"\\bword"}""", "pattern", "#")]
    [InlineData("""{"type":"string","pattern":"^a$b"}""", "pattern", "#")]
    [InlineData("""{"type":"string","pattern":"x","maxLength":3}""", "pattern", "#")]
    [InlineData("""{"type":"strnig"}""", "type", "#")]
    [InlineData("""{"type":"object","properties":{"a":false},"required":["a"]}""", "false", "#/properties/a")]
    [InlineData("""{"type":"object","required":["a"],"additionalProperties":false}""", "required", "#")]
    [InlineData("""{"$ref":"#/$defs/a","type":"object","$defs":{"a":{"type":"object"}}}""", "type", "#")]
    public void UnsupportedKeywordsAreNamed(string schema, string keyword, string path)
    {
        var error = Assert.Throws<SchemaNotSupportedException>(() => JsonGrammar.FromSchema(schema));
        Assert.Equal(keyword, error.Keyword);
        Assert.Equal(path, error.SchemaPath);
        Assert.Contains($"'{keyword}'", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void RecursionWithoutABaseCaseAdmitsNoValue()
    {
        // Every node requires another node: no finite JSON value exists.
        var error = Assert.Throws<SchemaNotSupportedException>(() => JsonGrammar.FromSchema(
            """{"type":"object","properties":{"next":{"$ref":"#"}},"required":["next"],"additionalProperties":false}"""));
        Assert.Contains("no finite", error.Message);
    }

    [Fact]
    public void HarmlessFormsOfUnsupportedKeywordsAreAccepted()
    {
        Assert.True(JsonGrammar.FromSchema("""{"type":"array","uniqueItems":false,"items":{"type":"integer"}}""").Matches("[1,1]"));
        Assert.True(JsonGrammar.FromSchema("""{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"minProperties":1,"additionalProperties":false}""").Matches("""{"a":1}"""));
    }
}

public sealed class NumericBoundTests
{
    [Theory]
    [InlineData("""{"type":"integer","minimum":1e30}""")]
    [InlineData("""{"type":"integer","maximum":-1e30}""")]
    public void BoundsBeyondTheDigitLimitAdmitNoValue(string schema) =>
        Assert.Throws<SchemaNotSupportedException>(() => JsonGrammar.FromSchema(schema));

    [Fact]
    public void HugeUpperBoundsAreLimitedByDigits()
    {
        var grammar = JsonGrammar.FromSchema("""{"type":"integer","minimum":0,"maximum":1e30}""", new GrammarOptions { MaxIntegerDigits = 3 });
        Assert.True(grammar.Matches("999"));
        Assert.False(grammar.Matches("1000"));
    }

    [Fact]
    public void IntervalsWithoutAnIntegerFallBackToTheirMiddle()
    {
        var grammar = JsonGrammar.FromSchema("""{"type":"number","minimum":0.2,"maximum":0.8}""");
        Assert.True(grammar.Matches("0.5"));
        Assert.False(grammar.Matches("0.9"));
    }
}
