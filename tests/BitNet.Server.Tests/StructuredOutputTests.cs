using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;
using Json.Schema;

namespace BitNet.Server.Tests;

/// <summary>
/// response_format json_object and json_schema on the bundled model: at any temperature and seed the text parses and
/// validates (JsonSchema.Net, not our code), the choice ends with "stop" when the value is complete, streamed deltas
/// assemble into the same kind of value, and schema features the grammar cannot enforce are a 400 naming the keyword.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class StructuredOutputTests(DefaultServer server)
{
    private const string PersonSchema = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120},
         "pets":{"type":"array","items":{"enum":["cat","dog","fish"]},"maxItems":3}},
         "required":["name","age","pets"],"additionalProperties":false}
        """;

    private static JsonObject JsonSchemaFormat(string schema) => new()
    {
        ["type"] = "json_schema",
        ["json_schema"] = new JsonObject { ["name"] = "person", ["strict"] = true, ["schema"] = JsonNode.Parse(schema) },
    };

    private async Task<JsonElement> PostAsync(string path, JsonObject body)
    {
        using var response = await server.Client.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
        return json;
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(1.0, 1)]
    [InlineData(1.0, 2)]
    [InlineData(1.0, 3)]
    [InlineData(1.5, 4)]
    public async Task Chat_json_schema_output_validates_at_any_temperature(double temperature, int seed)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Describe a person." }),
            ["response_format"] = JsonSchemaFormat(PersonSchema),
            ["temperature"] = temperature, ["seed"] = seed, ["max_tokens"] = 60,
        };
        var choice = (await PostAsync("/v1/chat/completions", body)).GetProperty("choices")[0];
        string content = choice.GetProperty("message").GetProperty("content").GetString()!;
        AssertValid(PersonSchema, content);
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Json_object_on_completions_is_an_object_even_with_a_tight_budget(int seed)
    {
        var body = new JsonObject
        {
            ["prompt"] = "Once upon a time", ["response_format"] = new JsonObject { ["type"] = "json_object" },
            ["temperature"] = 1.0, ["seed"] = seed, ["max_tokens"] = 12,
        };
        var choice = (await PostAsync("/v1/completions", body)).GetProperty("choices")[0];
        string text = choice.GetProperty("text").GetString()!;
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Streamed_structured_output_assembles_into_a_valid_value()
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }),
            ["response_format"] = JsonSchemaFormat(PersonSchema), ["stream"] = true,
            ["temperature"] = 1.0, ["seed"] = 7, ["max_tokens"] = 60,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = new StringBuilder();
        string? finish = null;
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]") continue;
            var chunk = JsonDocument.Parse(line[6..]).RootElement;
            foreach (var c in chunk.GetProperty("choices").EnumerateArray())
            {
                if (c.GetProperty("delta").TryGetProperty("content", out var d) && d.ValueKind == JsonValueKind.String) text.Append(d.GetString());
                if (c.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String) finish = f.GetString();
            }
        }
        AssertValid(PersonSchema, text.ToString());
        Assert.Equal("stop", finish);
    }

    [Theory]
    [InlineData("""{"type":"object","patternProperties":{"^x":{"type":"string"}}}""", "patternProperties")]
    [InlineData("""{"type":"array","uniqueItems":true,"items":{"type":"integer"}}""", "uniqueItems")]
    [InlineData("""{"not":{"type":"string"}}""", "not")]
    public async Task Unsupported_schema_keywords_are_a_400_naming_the_keyword(string schema, string keyword)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Hi" }),
            ["response_format"] = JsonSchemaFormat(schema),
        };
        using var response = await server.Client.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Contains(keyword, error.GetProperty("message").GetString());
        Assert.Equal("response_format", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task An_unknown_response_format_type_is_a_400()
    {
        var body = new JsonObject
        {
            ["prompt"] = "x", ["response_format"] = new JsonObject { ["type"] = "yaml" },
        };
        using var response = await server.Client.PostAsync("/v1/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static void AssertValid(string schemaJson, string text)
    {
        using var document = JsonDocument.Parse(text);
        var result = JsonSchema.FromText(schemaJson).Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"output does not validate: {text}");
    }
}
