using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.AI;

namespace BitNet.Extensions.AI.Tests;

/// <summary>ChatResponseFormat through the grammar engine: the text always validates (checked by JsonSchema.Net, not our code).</summary>
public sealed class StructuredOutputTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private const string PersonSchema = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120},
         "pets":{"type":"array","items":{"enum":["cat","dog","fish"]},"maxItems":3}},
         "required":["name","age","pets"],"additionalProperties":false}
        """;

    private static void AssertValid(string schemaJson, string text)
    {
        using var document = JsonDocument.Parse(text);
        var result = JsonSchema.FromText(schemaJson).Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"output does not validate: {text}");
    }

    [Theory]
    [InlineData(0f, 1L)]
    [InlineData(1f, 2L)]
    [InlineData(1.5f, 3L)]
    public async Task Json_schema_answers_validate_at_any_temperature(float temperature, long seed)
    {
        var format = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(PersonSchema).RootElement, "person");
        var response = await fixture.Host.ChatClient.GetResponseAsync("Describe a person.",
            new ChatOptions { ResponseFormat = format, Temperature = temperature, Seed = seed, MaxOutputTokens = 60 });
        AssertValid(PersonSchema, response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task Streamed_json_schema_answer_validates_when_joined()
    {
        var format = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(PersonSchema).RootElement, "person");
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in fixture.Host.ChatClient.GetStreamingResponseAsync("Describe a person.",
            new ChatOptions { ResponseFormat = format, Temperature = 1, Seed = 9, MaxOutputTokens = 60 }))
        {
            text.Append(update.Text);
            finish ??= update.FinishReason;
        }
        AssertValid(PersonSchema, text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
    }

    [Fact]
    public async Task Json_format_without_schema_is_a_json_object()
    {
        var response = await fixture.Host.ChatClient.GetResponseAsync("Tell me about a cat.",
            new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Temperature = 0.8f, Seed = 5, MaxOutputTokens = 48 });
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        using var document = JsonDocument.Parse(response.Text);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
    }

    private sealed record Pet(string Name, int Legs);

    [Fact]
    public async Task Typed_response_helper_deserializes_the_constrained_answer()
    {
        // GetResponseAsync<T> (Microsoft.Extensions.AI) builds the schema from the type and parses the answer.
        var response = await fixture.Host.ChatClient.GetResponseAsync<Pet>("Describe a pet.",
            new ChatOptions { Temperature = 0.7f, Seed = 3, MaxOutputTokens = 60 });
        Assert.True(response.TryGetResult(out var pet), response.Text);
        Assert.NotNull(pet!.Name);
    }
}
