using System.Text.Json;
using BitNet.Runtime.Chat;

namespace BitNet.Runtime.Tests.Chat;

/// <summary>The documented tool prompt: signature lines in the system turn, marked calls, tool results per format.</summary>
public class ToolPromptTests
{
    private static readonly ChatTool Weather = new("get_weather", "Current weather.\nIn a city.", JsonDocument.Parse("""
        {"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]}},"required":["city"]}
        """).RootElement);

    private static readonly ChatMessage[] Conversation =
    [
        new("system", "Be brief."),
        new("user", "Weather in Oslo?"),
        new("assistant", "") { ToolCalls = [new ChatToolCall("call_1", "get_weather", """{"city":"Oslo"}""")] },
        new("tool", "3 C, rain") { ToolCallId = "call_1" },
    ];

    private const string ToolList =
        "Tools: to call one, answer <tool_call>{\"name\":\"<tool>\",\"arguments\":{...}}\n" +
        "get_weather(city: string, unit?: \"c\" | \"f\") - Current weather. In a city.";

    private const string Call = "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Oslo\"}}";

    private static string Text(IReadOnlyList<PromptSegment> segments) => string.Concat(segments.Select(s => s.Text));

    [Theory]
    [InlineData("bitnet-2b4t",
        "<|begin_of_text|>System: Be brief.\n\n" + ToolList + "<|eot_id|>User: Weather in Oslo?<|eot_id|>Assistant: " + Call +
        "<|eot_id|>Tool: 3 C, rain<|eot_id|>Assistant: ")]
    [InlineData("llama3",
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.\n\n" + ToolList + "<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nWeather in Oslo?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" + Call + "<|eot_id|>" +
        "<|start_header_id|>ipython<|end_header_id|>\n\n3 C, rain<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")]
    [InlineData("chatml",
        "<|im_start|>system\nBe brief.\n\n" + ToolList + "<|im_end|>\n<|im_start|>user\nWeather in Oslo?<|im_end|>\n" +
        "<|im_start|>assistant\n" + Call + "<|im_end|>\n<|im_start|>tool\n3 C, rain<|im_end|>\n<|im_start|>assistant\n")]
    [InlineData("falcon3",
        "<|system|>\nBe brief.\n\n" + ToolList + "\n<|user|>\nWeather in Oslo?\n<|assistant|>\n" + Call + "<|endoftext|>\n" +
        "<|user|>\nTool: 3 C, rain\n<|assistant|>\n")]
    [InlineData("plain",
        "Be brief.\n\n" + ToolList + "\n\nUser: Weather in Oslo?\nAssistant: " + Call + "\nTool: 3 C, rain\nAssistant:")]
    public void EveryFormat_RendersTools_Calls_And_Results_AsDocumented(string format, string expected)
    {
        Assert.Equal(expected, Text(ChatFormats.Get(format).Render(Conversation, addGenerationPrompt: true, [Weather])));
    }

    [Theory]
    [InlineData("bitnet-2b4t")]
    [InlineData("llama3")]
    [InlineData("chatml")]
    [InlineData("falcon3")]
    [InlineData("plain")]
    public void ToolTextIsNeverParsedAsSpecialTokens(string format)
    {
        var segments = ChatFormats.Get(format).Render(Conversation, addGenerationPrompt: true, [Weather]);
        Assert.All(segments.Where(s => s.Text.Contains("<tool_call>") || s.Text.Contains("3 C")), s => Assert.False(s.AllowSpecial));
    }

    [Fact]
    public void WithoutASystemMessage_TheToolListIsASystemTurnOfItsOwn()
    {
        string text = Text(ChatFormats.Get("bitnet-2b4t").Render([new("user", "Hi")], true, [Weather]));
        Assert.Equal("<|begin_of_text|>System: " + ToolList + "<|eot_id|>User: Hi<|eot_id|>Assistant: ", text);
        Assert.Equal("<|begin_of_text|>User: Hi<|eot_id|>Assistant: ", Text(ChatFormats.Get("bitnet-2b4t").Render([new("user", "Hi")], true, [])));
    }

    [Fact]
    public void AssistantContentComesBeforeItsCalls_OnePerLine()
    {
        var calls = new[] { new ChatToolCall("a", "f", "{}"), new ChatToolCall("b", "g", "not json") };
        Assert.Equal("Let me check.\n<tool_call>{\"name\":\"f\",\"arguments\":{}}\n<tool_call>{\"name\":\"g\",\"arguments\":\"not json\"}",
            ToolPrompt.AppendCalls("Let me check.", calls));
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{}}""", "f()")]
    [InlineData("""{"type":"object","properties":{"tags":{"type":"array","items":{"type":"string"}},"n":{"type":["integer","null"]}},"required":["tags","n"]}""",
        "f(tags: string[], n: integer | null)")]
    [InlineData("""{"type":"object","properties":{"p":{"type":"object","properties":{"x":{"type":"number"}},"required":["x"]},"k":{"const":"v"}}}""",
        "f(p?: {x: number}, k?: \"v\")")]
    [InlineData("""{"$defs":{"item":{"type":"string"}},"type":"object","properties":{"i":{"$ref":"#/$defs/item"},"u":{"anyOf":[{"type":"string"},{"type":"boolean"}]}},"required":["i","u"]}""",
        "f(i: item, u: string | boolean)")]
    public void Signatures_AreCompact(string schema, string expected)
    {
        Assert.Equal(expected, ToolPrompt.Signature(new ChatTool("f", null, JsonDocument.Parse(schema).RootElement)));
    }
}
