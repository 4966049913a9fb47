using BitNet.Runtime.Chat;

namespace BitNet.Runtime.Tests.Chat;

/// <summary>The streaming reader of answers in the tool syntax: any split of the text gives the same result.</summary>
public class ToolCallParserTests
{
    private sealed record Parsed(string Content, List<(string Name, string Arguments, bool Complete)> Calls, List<ToolCallPart> Parts);

    private static Parsed Parse(IEnumerable<string> pieces)
    {
        var parser = new ToolCallParser();
        var parts = new List<ToolCallPart>();
        foreach (var piece in pieces) parser.Push(piece, parts);
        parser.Finish(parts);
        return new Parsed(parser.Content.ToString(), parser.Calls.Select(c => (c.Name, c.Arguments.ToString(), c.Complete)).ToList(), parts);
    }

    private static IEnumerable<string> Chars(string text) => text.Select(c => c.ToString());

    private const string TwoCalls = " <tool_call> {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Os}lo\\\"\", \"n\": [1, {\"a\": 2}]} }\n" +
        "<tool_call>{\"name\":\"search\",\"arguments\":{}}";

    [Fact]
    public void ParsesMarkedCalls_WholeOrCharByChar()
    {
        foreach (var parsed in new[] { Parse([TwoCalls]), Parse(Chars(TwoCalls)) })
        {
            Assert.Equal("", parsed.Content);
            Assert.Equal(2, parsed.Calls.Count);
            Assert.Equal(("get_weather", "{\"city\": \"Os}lo\\\"\", \"n\": [1, {\"a\": 2}]}", true), parsed.Calls[0]);
            Assert.Equal(("search", "{}", true), parsed.Calls[1]);
            // Streamed parts: a start per call (with its name) before its argument fragments, which concatenate.
            Assert.Equal([0, 1], parsed.Parts.Where(p => p.Kind == ToolCallPartKind.CallStarted).Select(p => p.Index));
            for (int i = 0; i < 2; i++)
                Assert.Equal(parsed.Calls[i].Arguments, string.Concat(parsed.Parts.Where(p => p.Kind == ToolCallPartKind.Arguments && p.Index == i).Select(p => p.Text)));
            int firstStart = parsed.Parts.FindIndex(p => p.Kind == ToolCallPartKind.CallStarted && p.Index == 1);
            Assert.All(parsed.Parts.Take(firstStart), p => Assert.True(p.Index == 0));
        }
    }

    [Theory]
    [InlineData("Once upon a time <tool_call> was a word.")]
    [InlineData("  <tool a>")]
    [InlineData("<tool_cal")]
    [InlineData("   ")]
    [InlineData("")]
    public void TextThatDoesNotOpenWithTheMarker_IsContent(string text)
    {
        foreach (var parsed in new[] { Parse([text]), Parse(Chars(text)) })
        {
            Assert.Equal(text, parsed.Content);
            Assert.Empty(parsed.Calls);
            Assert.All(parsed.Parts, p => Assert.Equal(ToolCallPartKind.Content, p.Kind));
        }
    }

    [Fact]
    public void ContentIsReleasedAsSoonAsItCannotBeTheMarker()
    {
        var parser = new ToolCallParser();
        var parts = new List<ToolCallPart>();
        parser.Push(" <to", parts);
        Assert.Empty(parts);
        parser.Push("y", parts);
        Assert.Equal(" <toy", Assert.Single(parts).Text);
    }

    [Fact]
    public void ACutCall_IsIncomplete_AndNothingThrows()
    {
        var parsed = Parse(["<tool_call>{\"name\":\"f\",\"arguments\":{\"a\":\"x"]);
        Assert.Equal(("f", "{\"a\":\"x", false), Assert.Single(parsed.Calls));
        var broken = Parse(["<tool_call>{\"name\":\"f\",\"arguments\":{}} trailing words"]);
        Assert.True(Assert.Single(broken.Calls).Complete);
        Assert.Empty(Parse(["<tool_call>{\"nom\":1}"]).Calls);
    }

    [Fact]
    public void WhatToolPromptWrites_ReadsBack()
    {
        string text = ToolPrompt.AppendCalls("", [new ChatToolCall("1", "f", "{\"x\":[1,2]}"), new ChatToolCall("2", "g_2", "{}")]);
        var parsed = Parse(Chars(text));
        Assert.Equal([("f", "{\"x\":[1,2]}", true), ("g_2", "{}", true)], parsed.Calls);
        Assert.Equal("", parsed.Content);
    }
}
