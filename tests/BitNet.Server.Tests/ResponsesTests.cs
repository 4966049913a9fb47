using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;
using Json.Schema;

namespace BitNet.Server.Tests;

/// <summary>
/// POST /v1/responses over raw HTTP: the response object's shape, the named SSE event sequence (and that it carries the
/// same text as the non-streamed answer), text.format through the grammar, store / GET / DELETE, previous_response_id,
/// and one-line 400s for what the endpoint does not take.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ResponsesTests(DefaultServer server)
{
    private const string Path = "/v1/responses";

    internal const string PersonSchema = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120},
         "pets":{"type":"array","items":{"enum":["cat","dog","fish"]},"maxItems":3}},
         "required":["name","age","pets"],"additionalProperties":false}
        """;

    private static JsonObject Body(string input = "Tell me a story about a cat.", int maxTokens = 16) => new()
    {
        ["input"] = input, ["max_output_tokens"] = maxTokens, ["temperature"] = 0,
    };

    [Fact]
    public async Task A_string_input_gets_a_response_object_with_one_message_and_usage()
    {
        var r = await server.Client.PostOkAsync(Path, Body().BanEndOfSequence());
        Assert.StartsWith("resp_", r.GetProperty("id").GetString());
        Assert.Equal("response", r.GetProperty("object").GetString());
        Assert.Equal(server.ModelId, r.GetProperty("model").GetString());
        Assert.True(r.GetProperty("created_at").GetInt64() > 1_700_000_000);
        // 16 tokens without end-of-sequence: cut by max_output_tokens.
        Assert.Equal("incomplete", r.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", r.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("error").ValueKind);
        var item = Assert.Single(r.GetProperty("output").EnumerateArray());
        Assert.Equal("message", item.GetProperty("type").GetString());
        Assert.StartsWith("msg_", item.GetProperty("id").GetString());
        Assert.Equal("assistant", item.GetProperty("role").GetString());
        var part = Assert.Single(item.GetProperty("content").EnumerateArray());
        Assert.Equal("output_text", part.GetProperty("type").GetString());
        Assert.Equal(0, part.GetProperty("annotations").GetArrayLength());
        Assert.NotEmpty(part.GetProperty("text").GetString()!);
        var usage = r.GetProperty("usage");
        Assert.Equal(16, usage.GetProperty("output_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("input_tokens").GetInt32() + 16, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal("text", r.GetProperty("text").GetProperty("format").GetProperty("type").GetString());
    }

    [Fact]
    public async Task The_answer_is_the_chat_answer_to_the_same_conversation()
    {
        // Instructions are the system message; input items are the turns: the same prompt as a chat request.
        var body = new JsonObject
        {
            ["instructions"] = "You tell short stories.",
            ["input"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "input_text", ["text"] = "A story about a dog." }) }),
            ["max_output_tokens"] = 20, ["temperature"] = 0,
        };
        var response = await server.Client.PostOkAsync(Path, body.BanEndOfSequence());
        var chat = Api.ChatBody("A story about a dog.", 20).BanEndOfSequence();
        ((JsonArray)chat["messages"]!).Insert(0, new JsonObject { ["role"] = "system", ["content"] = "You tell short stories." });
        var expected = (await server.Client.PostOkAsync(Api.Chat, chat)).Content();
        Assert.Equal(expected, OutputText(response));
        Assert.Equal("You tell short stories.", response.GetProperty("instructions").GetString());
    }

    [Fact]
    public async Task The_stream_is_the_responses_event_sequence_and_carries_the_same_text()
    {
        var body = Body("Tell me about the sea.", 24).BanEndOfSequence();
        string expected = OutputText(await server.Client.PostOkAsync(Path, body.DeepClone()));
        body["stream"] = true;
        var events = ParseEvents(await server.Client.PostStreamAsync(Path, body));

        string[] head = ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"];
        string[] tail = ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"];
        Assert.Equal(head, events.Take(4).Select(e => e.Name));
        Assert.Equal(tail, events.TakeLast(4).Select(e => e.Name));
        Assert.All(events.Skip(4).SkipLast(4), e => Assert.Equal("response.output_text.delta", e.Name));
        for (int i = 0; i < events.Count; i++)
        {
            Assert.Equal(events[i].Name, events[i].Data.GetProperty("type").GetString());
            Assert.Equal(i, events[i].Data.GetProperty("sequence_number").GetInt32());
        }
        string id = events[0].Data.GetProperty("response").GetProperty("id").GetString()!;
        Assert.Equal("in_progress", events[0].Data.GetProperty("response").GetProperty("status").GetString());
        string itemId = events[2].Data.GetProperty("item").GetProperty("id").GetString()!;
        var deltas = events.Where(e => e.Name == "response.output_text.delta").ToList();
        Assert.All(deltas, d => Assert.Equal(itemId, d.Data.GetProperty("item_id").GetString()));
        string streamed = string.Concat(deltas.Select(d => d.Data.GetProperty("delta").GetString()));
        Assert.Equal(expected, streamed);
        Assert.Equal(expected, events[^4].Data.GetProperty("text").GetString());
        var final = events[^1].Data.GetProperty("response");
        Assert.Equal(id, final.GetProperty("id").GetString());
        Assert.Equal(expected, OutputText(final));
        Assert.Equal(24, final.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(1.0, 2)]
    [InlineData(1.0, 3)]
    [InlineData(1.0, 4)]
    public async Task Text_format_json_schema_output_validates_streamed_or_not(double temperature, int seed)
    {
        var body = new JsonObject
        {
            ["input"] = "Describe a person.", ["temperature"] = temperature, ["seed"] = seed, ["max_output_tokens"] = 60,
            ["text"] = new JsonObject { ["format"] = new JsonObject
            {
                ["type"] = "json_schema", ["name"] = "person", ["strict"] = true, ["schema"] = JsonNode.Parse(PersonSchema),
            } },
        };
        var response = await server.Client.PostOkAsync(Path, body.DeepClone());
        Assert.Equal("completed", response.GetProperty("status").GetString());
        AssertValid(PersonSchema, OutputText(response));
        Assert.Equal("json_schema", response.GetProperty("text").GetProperty("format").GetProperty("type").GetString());

        body["stream"] = true;
        var events = ParseEvents(await server.Client.PostStreamAsync(Path, body));
        Assert.Equal("response.completed", events[^1].Name);
        AssertValid(PersonSchema, string.Concat(events.Where(e => e.Name == "response.output_text.delta").Select(e => e.Data.GetProperty("delta").GetString())));
    }

    [Fact]
    public async Task Text_format_json_object_is_an_object()
    {
        var body = Body("Hi", 20);
        body["temperature"] = 1.0;
        body["seed"] = 5;
        body["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "json_object" } };
        var response = await server.Client.PostOkAsync(Path, body);
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(OutputText(response)).RootElement.ValueKind);
        Assert.Equal("completed", response.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_stored_response_can_be_read_continued_and_deleted()
    {
        var first = await server.Client.PostOkAsync(Path, Body("My name is Tom.", 8));
        string id = first.GetProperty("id").GetString()!;
        var read = await server.Client.GetFromJsonElementAsync($"{Path}/{id}");
        Assert.Equal(OutputText(first), OutputText(read));

        // The follow-up's prompt holds the first turn and its answer: more input tokens than the new input alone.
        var alone = await server.Client.PostOkAsync(Path, Body("And yours?", 4));
        var followUp = Body("And yours?", 4);
        followUp["previous_response_id"] = id;
        var continued = await server.Client.PostOkAsync(Path, followUp);
        Assert.Equal(id, continued.GetProperty("previous_response_id").GetString());
        Assert.True(continued.GetProperty("usage").GetProperty("input_tokens").GetInt32() > alone.GetProperty("usage").GetProperty("input_tokens").GetInt32());

        using (var deleted = await server.Client.DeleteAsync($"{Path}/{id}"))
        {
            var d = JsonDocument.Parse(await deleted.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            Assert.True(d.GetProperty("deleted").GetBoolean());
            Assert.Equal("response.deleted", d.GetProperty("object").GetString());
        }
        using (var gone = await server.Client.GetAsync($"{Path}/{id}"))
            await Api.AssertErrorAsync(gone, HttpStatusCode.NotFound, "invalid_request_error", "not_found");
        using (var again = await server.Client.PostAsync(Path, followUp))
        {
            var error = await Api.AssertErrorAsync(again, HttpStatusCode.NotFound, "invalid_request_error", "previous_response_not_found");
            Assert.Equal("previous_response_id", error.GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task Store_false_keeps_nothing()
    {
        var body = Body("Hello", 4);
        body["store"] = false;
        var r = await server.Client.PostOkAsync(Path, body);
        Assert.False(r.GetProperty("store").GetBoolean());
        using var get = await server.Client.GetAsync($"{Path}/{r.GetProperty("id").GetString()}");
        await Api.AssertErrorAsync(get, HttpStatusCode.NotFound, "invalid_request_error");
    }

    [Theory]
    [InlineData("""{"max_output_tokens":4}""", "input")]
    [InlineData("""{"input":42}""", "input")]
    [InlineData("""{"input":[]}""", "input")]
    [InlineData("""{"input":[{"role":"robot","content":"x"}]}""", "input[0].role")]
    [InlineData("""{"input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]}""", "input[0].content[0].type")]
    [InlineData("""{"input":[{"type":"reasoning","summary":[]}]}""", "input[0].type")]
    [InlineData("""{"input":"x","temperature":3}""", "temperature")]
    [InlineData("""{"input":"x","max_output_tokens":0}""", "max_output_tokens")]
    [InlineData("""{"input":"x","text":{"format":{"type":"yaml"}}}""", "text.format.type")]
    [InlineData("""{"input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{"not":{}}}}}""", "text.format.schema")]
    public async Task Bad_bodies_are_a_400_naming_the_field(string json, string param)
    {
        using var response = await server.Client.PostRawAsync(Path, json);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task The_same_schema_compiles_once_across_requests_and_endpoints()
    {
        // A schema no other test uses, sent three times (twice through responses, once through chat).
        const string schema = """{"type":"object","properties":{"colour":{"enum":["red","green","blue"]}},"required":["colour"],"additionalProperties":false}""";
        var element = JsonDocument.Parse(schema).RootElement;
        var cache = BitNet.Server.Endpoints.RequestParser.Grammars;
        BitNet.Runtime.Grammar.JsonGrammar? first = null;
        for (int i = 0; i < 2; i++)
        {
            var body = Body("Pick a colour.", 20);
            body["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "json_schema", ["name"] = "c", ["schema"] = JsonNode.Parse(schema) } };
            AssertValid(schema, OutputText(await server.Client.PostOkAsync(Path, body)));
            Assert.True(cache.TryGet(element, out var grammar));
            first ??= grammar;
            Assert.Same(first, grammar);
        }
        var chat = Api.ChatBody("Pick a colour.", 20);
        chat["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "c", ["schema"] = JsonNode.Parse(schema) } };
        AssertValid(schema, (await server.Client.PostOkAsync(Api.Chat, chat)).Content());
        Assert.True(cache.TryGet(element, out var afterChat));
        Assert.Same(first, afterChat);
    }

    internal static string OutputText(JsonElement response) => string.Concat(
        response.GetProperty("output").EnumerateArray().Where(i => i.GetProperty("type").GetString() == "message")
            .SelectMany(i => i.GetProperty("content").EnumerateArray()).Select(p => p.GetProperty("text").GetString()));

    internal static void AssertValid(string schemaJson, string text)
    {
        using var document = JsonDocument.Parse(text);
        var result = JsonSchema.FromText(schemaJson).Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, $"output does not validate: {text}");
    }

    /// <summary>Splits an SSE body into (event name, data JSON) pairs; every data line must follow an event line.</summary>
    private static List<(string Name, JsonElement Data)> ParseEvents(string sse)
    {
        var events = new List<(string, JsonElement)>();
        foreach (var block in sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            if (block.StartsWith(':')) continue; // keep-alive comment
            var lines = block.Split('\n');
            Assert.True(lines.Length == 2 && lines[0].StartsWith("event: ") && lines[1].StartsWith("data: "), $"not an event: {block}");
            events.Add((lines[0][7..], JsonDocument.Parse(lines[1][6..]).RootElement.Clone()));
        }
        Assert.DoesNotContain("[DONE]", sse);
        return events;
    }
}

internal static class ResponsesHttp
{
    public static async Task<JsonElement> GetFromJsonElementAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
