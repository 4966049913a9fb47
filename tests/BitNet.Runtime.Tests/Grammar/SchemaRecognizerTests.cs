using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

/// <summary>Each supported keyword, checked on complete strings through the recognizer (no tokenizer involved).</summary>
public sealed class SchemaRecognizerTests
{
    public static TheoryData<string, string, bool> Cases => new()
    {
        // objects
        { """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}""", """{"a":1}""", true },
        { """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}""", """{"a":"x"}""", false },
        { """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}""", """{}""", false },
        { """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}""", """{"a":1,"b":2}""", false },
        { """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}""", """{ "a" : 1 }""", true },
        { """{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["b"],"additionalProperties":false}""", """{"b":"x"}""", true },
        { """{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["b"],"additionalProperties":false}""", """{"a":2,"b":"x"}""", true },
        { """{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["b"],"additionalProperties":false}""", """{"a":2}""", false },
        { """{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"additionalProperties":false}""", """{}""", true },
        { """{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"additionalProperties":false}""", """{"a":1,}""", false },
        // additional properties allowed: extra keys after the declared ones, never a declared name again
        { """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}""", """{"a":1,"zz":[true,null]}""", true },
        { """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}""", """{"a":1,"a":2}""", false },
        { """{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}""", """{"a":1,"ab":2}""", true },
        { """{"type":"object","additionalProperties":{"type":"boolean"}}""", """{"x y":true,"z":false}""", true },
        { """{"type":"object","additionalProperties":{"type":"boolean"}}""", """{"x":1}""", false },
        // arrays
        { """{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}""", "[1,2]", true },
        { """{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}""", "[1]", false },
        { """{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}""", "[1,2,3,4]", false },
        { """{"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3}""", "[1, 2, 3]", true },
        { """{"type":"array","items":{"type":"integer"}}""", "[]", true },
        { """{"type":"array","items":{"type":"integer"}}""", "[1.5]", false },
        // strings
        { """{"type":"string","enum":["red","green"]}""", "\"green\"", true },
        { """{"type":"string","enum":["red","green"]}""", "\"blue\"", false },
        { """{"const":"x\"y"}""", "\"x\\\"y\"", true },
        { """{"type":"string","minLength":2,"maxLength":3}""", "\"ab\"", true },
        { """{"type":"string","minLength":2,"maxLength":3}""", "\"a\"", false },
        { """{"type":"string","minLength":2,"maxLength":3}""", "\"abcd\"", false },
        { """{"type":"string","minLength":2,"maxLength":3}""", "\"\\n\\t\"", true },
        { """{"type":"string"}""", "\"a\\u00e9\\\\ \"", true },
        { """{"type":"string"}""", "\"a\nb\"", false },
        { """{"type":"string"}""", "\"\\ud800\"", false },
        { """{"type":"string","pattern":"^[a-z]+-\\d{2,3}$"}""", "\"abc-12\"", true },
        { """{"type":"string","pattern":"^[a-z]+-\\d{2,3}$"}""", "\"abc-1\"", false },
        { """{"type":"string","pattern":"^[a-z]+-\\d{2,3}$"}""", "\"Abc-12\"", false },
        { """{"type":"string","pattern":"b+c"}""", "\"xxbbcyy\"", true },
        { """{"type":"string","pattern":"b+c"}""", "\"xxbyy\"", false },
        { """{"type":"string","pattern":"^(cat|dog)s?$"}""", "\"dogs\"", true },
        { """{"type":"string","pattern":"^(cat|dog)s?$"}""", "\"cow\"", false },
        { """{"type":"string","pattern":"^\\w+@\\w+\\.com$"}""", "\"me@x.com\"", true },
        { """{"type":"string","pattern":"^[^\"]*$"}""", "\"a\\\\b\"", true },
        { """{"type":"string","pattern":"^.{2}$"}""", "\"日本\"", true },
        { """{"type":"string","format":"date"}""", "\"2024-02-28\"", true },
        { """{"type":"string","format":"date"}""", "\"2024-02-30\"", false },
        { """{"type":"string","format":"date"}""", "\"2024-13-01\"", false },
        { """{"type":"string","format":"date-time"}""", "\"2024-06-30T23:59:59.123Z\"", true },
        { """{"type":"string","format":"date-time"}""", "\"2024-06-30T24:00:00Z\"", false },
        { """{"type":"string","format":"date-time"}""", "\"2024-06-30T10:00:00+02:00\"", true },
        { """{"type":"string","format":"email"}""", "\"jane.doe@example.com\"", true },
        { """{"type":"string","format":"email"}""", "\"jane@\"", false },
        { """{"type":"string","format":"uuid"}""", "\"123e4567-e89b-12d3-a456-426614174000\"", true },
        { """{"type":"string","format":"uuid"}""", "\"123e4567-e89b-12d3-a456-42661417400\"", false },
        { """{"type":"string","format":"uri"}""", "\"https://example.com/a/b.html\"", true },
        { """{"type":"string","format":"uri"}""", "\"not a uri\"", false },
        { """{"type":"string","format":"ipv4"}""", "\"192.168.0.255\"", true },
        { """{"type":"string","format":"ipv4"}""", "\"192.168.0.256\"", false },
        { """{"type":"string","format":"x-custom"}""", "\"anything\"", true },
        // integers and numbers
        { """{"type":"integer","minimum":17,"maximum":253}""", "17", true },
        { """{"type":"integer","minimum":17,"maximum":253}""", "253", true },
        { """{"type":"integer","minimum":17,"maximum":253}""", "254", false },
        { """{"type":"integer","minimum":17,"maximum":253}""", "16", false },
        { """{"type":"integer","minimum":17,"maximum":253}""", "099", false },
        { """{"type":"integer","minimum":-5,"maximum":5}""", "-5", true },
        { """{"type":"integer","minimum":-5,"maximum":5}""", "-6", false },
        { """{"type":"integer","minimum":-5,"maximum":5}""", "-0", false },
        { """{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}""", "0", false },
        { """{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}""", "9", true },
        { """{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":10}""", "10", false },
        { """{"type":"integer"}""", "1e3", false },
        { """{"type":"number"}""", "-12.5e-3", true },
        { """{"type":"number"}""", "01", false },
        { """{"type":"number"}""", "1.", false },
        { """{"type":"number","minimum":0,"maximum":1}""", "0.75", true },
        { """{"type":"number","minimum":0,"maximum":1}""", "1.0", true },
        { """{"type":"number","minimum":0,"maximum":1}""", "1.5", false },
        { """{"type":"number","minimum":0,"maximum":1}""", "-0.5", false },
        { """{"type":"number","exclusiveMinimum":0,"maximum":1}""", "0.0", false },
        { """{"type":"number","exclusiveMinimum":0,"maximum":1}""", "0.01", true },
        { """{"type":"number","minimum":-2.5,"maximum":-1}""", "-1.5", true },
        { """{"type":"number","minimum":-2.5,"maximum":-1}""", "-0.5", false },
        // booleans, null, nullable, enum/const of any value
        { """{"type":"boolean"}""", "false", true },
        { """{"type":"boolean"}""", "0", false },
        { """{"type":"null"}""", "null", true },
        { """{"type":["string","null"]}""", "null", true },
        { """{"type":["string","null"]}""", "\"s\"", true },
        { """{"type":["string","null"]}""", "1", false },
        { """{"enum":[1,"a",{"k":[true]},null]}""", """{"k":[true]}""", true },
        { """{"enum":[1,"a",{"k":[true]},null]}""", """{"k":[false]}""", false },
        { """{"const":3.5}""", "3.5", true },
        // anyOf, oneOf with a discriminator, allOf with one element
        { """{"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]}""", "\"a\"", true },
        { """{"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]}""", "\"ab\"", false },
        { """{"oneOf":[{"type":"object","properties":{"k":{"const":"a"},"x":{"type":"integer"}},"required":["k","x"],"additionalProperties":false},{"type":"object","properties":{"k":{"const":"b"}},"required":["k"],"additionalProperties":false}]}""", """{"k":"b"}""", true },
        { """{"oneOf":[{"type":"object","properties":{"k":{"const":"a"},"x":{"type":"integer"}},"required":["k","x"],"additionalProperties":false},{"type":"object","properties":{"k":{"const":"b"}},"required":["k"],"additionalProperties":false}]}""", """{"k":"a"}""", false },
        { """{"allOf":[{"type":"integer"}],"description":"wrapped"}""", "4", true },
        // $defs / $ref with recursion
        { """{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v","next"],"additionalProperties":false}},"$ref":"#/$defs/node"}""", """{"v":1,"next":{"v":2,"next":null}}""", true },
        { """{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v","next"],"additionalProperties":false}},"$ref":"#/$defs/node"}""", """{"v":1,"next":{"v":2}}""", false },
        { """{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#"}}},"required":["children"],"additionalProperties":false}""", """{"children":[{"children":[]}]}""", true },
        // non-strict: annotations ignored, untyped schemas
        { """{"title":"T","description":"d","default":1,"examples":[2],"type":"integer"}""", "3", true },
        { """{}""", """[{"a":null}]""", true },
        { """{"properties":{"a":{"type":"boolean"}},"required":["a"]}""", """{"a":true}""", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Recognizes(string schema, string text, bool valid)
    {
        var grammar = JsonGrammar.FromSchema(schema);
        Assert.Equal(valid, grammar.Matches(text));
        // Formats the grammar does not know are annotations (plain strings).
        if (valid) GrammarTesting.AssertValid(schema, System.Text.Encoding.UTF8.GetBytes(text), assertFormats: !schema.Contains("x-custom"));
    }

    [Theory]
    [InlineData("{}", true)]
    [InlineData("""{"a":[1,{"b":null}],"c":"\u00e9"}""", true)]
    [InlineData("[]", false)]
    [InlineData("\"x\"", false)]
    [InlineData("""{"a":1} """, false)]
    [InlineData("""{"a":}""", false)]
    public void AnyJsonObjectAcceptsObjectsOnly(string text, bool valid) => Assert.Equal(valid, JsonGrammar.AnyJsonObject().Matches(text));

    [Fact]
    public void WhitespaceRunsAreBounded()
    {
        var grammar = JsonGrammar.AnyJsonObject(new GrammarOptions { MaxWhitespace = 3 });
        Assert.True(grammar.Matches("{   \"a\":1}"));
        Assert.False(grammar.Matches("{    \"a\":1}"));
        var compact = JsonGrammar.AnyJsonObject(new GrammarOptions { MaxWhitespace = 0 });
        Assert.False(compact.Matches("{ }"));
        Assert.True(compact.Matches("{}"));
    }

    [Fact]
    public void MinimumLengthIsTheShortestValue()
    {
        Assert.Equal(2, JsonGrammar.AnyJsonObject().MinimumLength);
        Assert.Equal("""{"a":0}""".Length, JsonGrammar.FromSchema("""{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}""").MinimumLength);
    }
}
