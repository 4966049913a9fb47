using System.Text;
using System.Text.Json;
using BitNet.Runtime.Chat;
using BitNet.Runtime.Grammar;

namespace BitNet.Runtime.Tests.Grammar;

/// <summary>
/// The grammar of answers with tools (tool_choice auto / required / named): marked calls whose arguments validate
/// against their tool's schema (JsonSchema.Net), or, with auto, free text that does not open with the marker.
/// </summary>
[Collection(GrammarCollection.Name)]
public sealed class ToolCallAnswerGrammarTests(GrammarFixture fixture)
{
    private const string Marker = ToolPrompt.CallMarker;

    private const string Weather = """
        {"type":"object","properties":{"city":{"type":"string","maxLength":10},"unit":{"enum":["c","f"]}},"required":["city","unit"],"additionalProperties":false}
        """;

    private const string Search = """
        {"type":"object","properties":{"query":{"type":"string","minLength":1,"maxLength":8},"limit":{"type":"integer","minimum":1,"maximum":5}},"required":["query"],"additionalProperties":false}
        """;

    private static List<ToolSchema> Tools() =>
    [
        new("get_weather", JsonDocument.Parse(Weather).RootElement),
        new("search", JsonDocument.Parse(Search).RootElement),
    ];

    [Fact]
    public void Auto_AcceptsTextOrMarkedCalls_AndNothingInBetween()
    {
        var auto = JsonGrammar.ForToolCallAnswer(Tools(), Marker, parallel: true, allowText: true);
        Assert.True(auto.Matches("Once upon a time."));
        Assert.True(auto.Matches("Say \"<tool_call>\" later\n\tis fine"));
        Assert.True(auto.Matches(""));
        Assert.True(auto.Matches("  "));
        Assert.True(auto.Matches("<tool"));
        Assert.True(auto.Matches("<b>bold</b>"));
        Assert.True(auto.Matches(""" <tool_call>{"name":"search","arguments":{"query":"x"}}"""));
        Assert.True(auto.Matches("""<tool_call> {"name": "search", "arguments": {"query":"x"}}""" + "\n" + """<tool_call>{"name":"get_weather","arguments":{"city":"Oslo","unit":"c"}}"""));
        Assert.False(auto.Matches("<tool_call>"));
        Assert.False(auto.Matches("<tool_call>hello"));
        Assert.False(auto.Matches("""<tool_call>{"name":"delete","arguments":{}}"""));
        Assert.False(auto.Matches("""<tool_call>{"name":"search","arguments":{"city":"x","unit":"c"}}"""));
        Assert.False(auto.Matches("""<tool_call>{"name":"search","arguments":{"query":"x"}} and then text"""));
    }

    [Fact]
    public void Required_IsCallsOnly_AndSingleUnlessParallel()
    {
        string call = """<tool_call>{"name":"search","arguments":{"query":"x"}}""";
        var required = JsonGrammar.ForToolCallAnswer(Tools(), Marker, parallel: false, allowText: false);
        Assert.True(required.Matches(call));
        Assert.False(required.Matches(call + "\n" + call));
        Assert.False(required.Matches("Hello"));
        Assert.False(required.Matches(""));
        var parallel = JsonGrammar.ForToolCallAnswer(Tools(), Marker, parallel: true, allowText: false);
        Assert.True(parallel.Matches(call + "\n" + call));
        Assert.True(parallel.Matches(call + call));
        Assert.Equal(Encoding.UTF8.GetByteCount("""<tool_call>{"name":"search","arguments":{"query":"x"}}"""), required.MinimumLength);
    }

    [Theory]
    [InlineData("stories", true)]
    [InlineData("stories", false)]
    [InlineData("tiny", true)]
    [InlineData("tiny", false)]
    public void RandomAnswers_AreTextOrCallsThatValidate(string tokenizerName, bool allowText)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.ForToolCallAnswer(Tools(), Marker, parallel: true, allowText);
        int calls = 0, texts = 0;
        for (int seed = 0; seed < 24; seed++)
        {
            // Uniform choices rarely spell the marker, so half of the auto runs start with it written in (as a model
            // that decided to call would); the rest of the answer is random either way.
            string? prefix = allowText && seed % 2 == 1 ? (seed % 4 == 1 ? " " : "") + Marker : null;
            var result = GrammarTesting.Generate(grammar, vocabulary, new Random(seed), budget: 160, GrammarTesting.Closing(vocabulary), prefix);
            Assert.True(result.Finished, result.Text);
            var parser = new ToolCallParser();
            var parts = new List<ToolCallPart>();
            parser.Push(result.Text, parts);
            parser.Finish(parts);
            if (parser.Calls.Count == 0)
            {
                Assert.True(allowText, $"required produced text: {result.Text}");
                Assert.False(result.Text.TrimStart().StartsWith(Marker, StringComparison.Ordinal));
                texts++;
                continue;
            }
            calls++;
            foreach (var call in parser.Calls)
            {
                Assert.True(call.Complete, result.Text);
                GrammarTesting.AssertValid(call.Name == "search" ? Search : Weather, Encoding.UTF8.GetBytes(call.Arguments.ToString()));
            }
        }
        Assert.True(calls > 0);
        if (allowText) Assert.True(texts > 0);
    }

    [Theory]
    [InlineData("stories")]
    [InlineData("tiny")]
    public void ATightBudget_StillClosesTheCall(string tokenizerName)
    {
        var vocabulary = TokenVocabulary.For(fixture.Get(tokenizerName));
        var grammar = JsonGrammar.ForToolCallAnswer(Tools(), Marker, parallel: true, allowText: false);
        int budget = grammar.MinimumLength + 3;
        for (int seed = 0; seed < 10; seed++)
        {
            var result = GrammarTesting.Generate(grammar, vocabulary, new Random(seed), budget);
            Assert.True(result.Finished, result.Text);
            Assert.True(result.Tokens.Count <= budget);
            Assert.True(grammar.Matches(result.Text), result.Text);
        }
    }

    [Fact]
    public void AMarkerWithWhitespaceIsRefused()
    {
        Assert.Throws<ArgumentException>(() => JsonGrammar.ForToolCallAnswer(Tools(), "<call me>", parallel: false, allowText: true));
    }
}
