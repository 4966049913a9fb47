using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests.Ollama;

/// <summary>Ollama's /api surface on the in-memory server: shapes, NDJSON streaming, options, format, embeddings, errors.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class OllamaApiTests(DefaultServer server)
{
    private string Name => server.ModelId + ":latest";

    private static JsonObject ChatBody(string model, bool stream, int numPredict = 12) => new()
    {
        ["model"] = model,
        ["stream"] = stream,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tell me a story about a cat." }),
        ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = numPredict },
    };

    private async Task<JsonElement> GetAsync(string path)
    {
        using var response = await server.Client.GetAsync(path);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<List<JsonElement>> PostNdjsonAsync(string path, JsonNode body)
    {
        using var response = await server.Client.PostAsync(path, body);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("\n", text);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    /// <summary>Asserts Ollama's error shape: {"error": "message"} with the status; returns the message.</summary>
    private static async Task<string> AssertOllamaErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        var root = JsonDocument.Parse(text).RootElement;
        Assert.Equal(JsonValueKind.String, root.GetProperty("error").ValueKind);
        Assert.Single(root.EnumerateObject());
        return root.GetProperty("error").GetString()!;
    }

    [Fact]
    public async Task Tags_version_ps_and_show_describe_the_served_model()
    {
        var tags = await GetAsync("/api/tags");
        var model = tags.GetProperty("models").EnumerateArray().Single();
        Assert.Equal(Name, model.GetProperty("name").GetString());
        Assert.Equal(Name, model.GetProperty("model").GetString());
        Assert.Equal(new FileInfo(TestPaths.BundledModel).Length, model.GetProperty("size").GetInt64());
        Assert.Matches("^[0-9a-f]{64}$", model.GetProperty("digest").GetString()!);
        Assert.True(DateTimeOffset.TryParse(model.GetProperty("modified_at").GetString(), out _));
        var details = model.GetProperty("details");
        Assert.Equal("gguf", details.GetProperty("format").GetString());
        Assert.Equal(server.Host.Engine!.Model.Config.Architecture, details.GetProperty("family").GetString());
        Assert.Matches(@"^\d+(\.\d)?[KMB]$", details.GetProperty("parameter_size").GetString()!);
        Assert.Equal("I2_S", details.GetProperty("quantization_level").GetString());

        Assert.Matches(@"^\d+\.\d+\.\d+$", (await GetAsync("/api/version")).GetProperty("version").GetString()!);

        var ps = (await GetAsync("/api/ps")).GetProperty("models").EnumerateArray().Single();
        Assert.Equal(Name, ps.GetProperty("name").GetString());
        Assert.Equal(server.Host.Engine.ContextLength, ps.GetProperty("context_length").GetInt32());
        Assert.True(ps.GetProperty("size").GetInt64() > model.GetProperty("size").GetInt64(), "ps size includes the KV cache");

        // Both spellings of the name resolve, case-insensitively; "name" is the older key.
        foreach (var body in new[] { new JsonObject { ["model"] = server.ModelId }, new JsonObject { ["name"] = Name.ToUpperInvariant() } })
        {
            var show = await server.Client.PostOkAsync("/api/show", body);
            Assert.Equal(new[] { "completion", "embedding" }, show.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()!));
            Assert.Equal(server.Host.Engine.ContextLength, show.GetProperty("model_info").GetProperty($"{details.GetProperty("family").GetString()}.context_length").GetInt32());
            Assert.Contains("PARAMETER temperature", show.GetProperty("modelfile").GetString());
        }
    }

    [Fact]
    public async Task Chat_streams_ndjson_that_adds_up_to_the_whole_answer()
    {
        var whole = await server.Client.PostOkAsync("/api/chat", ChatBody(Name, stream: false));
        Assert.True(whole.GetProperty("done").GetBoolean());
        Assert.Equal(Name, whole.GetProperty("model").GetString());
        Assert.Equal("assistant", whole.GetProperty("message").GetProperty("role").GetString());
        foreach (var key in new[] { "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration" })
            Assert.Equal(JsonValueKind.Number, whole.GetProperty(key).ValueKind);
        Assert.True(whole.GetProperty("total_duration").GetInt64() >= whole.GetProperty("eval_duration").GetInt64());
        Assert.True(whole.GetProperty("prompt_eval_duration").GetInt64() > 0);

        var lines = await PostNdjsonAsync("/api/chat", ChatBody(Name, stream: true));
        Assert.All(lines.Take(lines.Count - 1), l => Assert.False(l.GetProperty("done").GetBoolean()));
        var last = lines[^1];
        Assert.True(last.GetProperty("done").GetBoolean());
        Assert.Equal("", last.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(whole.GetProperty("done_reason").GetString(), last.GetProperty("done_reason").GetString());
        Assert.Equal(whole.GetProperty("eval_count").GetInt32(), last.GetProperty("eval_count").GetInt32());
        string streamed = string.Concat(lines.Select(l => l.GetProperty("message").GetProperty("content").GetString()));
        Assert.Equal(whole.GetProperty("message").GetProperty("content").GetString(), streamed);

        // The same answer as the OpenAI endpoint gives the same greedy request.
        var openai = await server.Client.PostOkAsync(Api.Chat, Api.ChatBody("Tell me a story about a cat.", 12));
        Assert.Equal(openai.Content(), streamed);
        Assert.Equal(openai.Usage("prompt_tokens"), last.GetProperty("prompt_eval_count").GetInt32());
    }

    [Fact]
    public async Task Generate_applies_the_chat_format_unless_raw_and_honours_num_predict_and_stop()
    {
        var body = new JsonObject
        {
            ["model"] = server.ModelId, ["prompt"] = "Once upon a time", ["raw"] = true, ["stream"] = false,
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 3 },
        };
        var raw = await server.Client.PostOkAsync("/api/generate", body);
        var completion = await server.Client.PostOkAsync(Api.Completions, Api.CompletionBody("Once upon a time", 3));
        Assert.Equal(completion.Choice().GetProperty("text").GetString(), raw.GetProperty("response").GetString());
        Assert.Equal(completion.Usage("completion_tokens"), raw.GetProperty("eval_count").GetInt32());

        var chatLike = await server.Client.PostOkAsync("/api/generate", new JsonObject
        {
            ["model"] = server.ModelId, ["prompt"] = "Tell me a story about a cat.", ["stream"] = false,
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 12 },
        });
        var openai = await server.Client.PostOkAsync(Api.Chat, Api.ChatBody("Tell me a story about a cat.", 12));
        Assert.Equal(openai.Content(), chatLike.GetProperty("response").GetString());

        // A stop string ends the answer before it.
        string full = openai.Content();
        string stop = full.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(2).First();
        var stopped = await server.Client.PostOkAsync("/api/generate", new JsonObject
        {
            ["model"] = server.ModelId, ["prompt"] = "Tell me a story about a cat.", ["stream"] = false,
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 12, ["stop"] = new JsonArray(stop) },
        });
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], stopped.GetProperty("response").GetString());
        Assert.Equal("stop", stopped.GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task An_empty_prompt_or_no_messages_is_a_load_request()
    {
        var generate = await server.Client.PostOkAsync("/api/generate", new JsonObject { ["model"] = Name, ["keep_alive"] = "5m" });
        Assert.True(generate.GetProperty("done").GetBoolean());
        Assert.Equal("load", generate.GetProperty("done_reason").GetString());
        var chat = await server.Client.PostOkAsync("/api/chat", new JsonObject { ["model"] = Name, ["messages"] = new JsonArray(), ["keep_alive"] = -1 });
        Assert.Equal("load", chat.GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task Format_json_and_a_schema_constrain_the_answer()
    {
        var json = await server.Client.PostOkAsync("/api/chat", ChatBody(Name, stream: false, numPredict: 40).With("format", "json"));
        string text = json.GetProperty("message").GetProperty("content").GetString()!;
        if (json.GetProperty("done_reason").GetString() == "stop") Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(text).RootElement.ValueKind);
        else Assert.StartsWith("{", text.TrimStart());

        var schema = JsonNode.Parse("""{"type":"object","properties":{"age":{"type":"integer"},"ok":{"type":"boolean"}},"required":["age","ok"]}""");
        var lines = await PostNdjsonAsync("/api/chat", ChatBody(Name, stream: true, numPredict: 60).With("format", schema));
        var value = JsonDocument.Parse(string.Concat(lines.Select(l => l.GetProperty("message").GetProperty("content").GetString()))).RootElement;
        Assert.Equal(JsonValueKind.Number, value.GetProperty("age").ValueKind);
        Assert.True(value.GetProperty("ok").ValueKind is JsonValueKind.True or JsonValueKind.False);
        Assert.Equal("stop", lines[^1].GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task Embed_and_the_legacy_embeddings_endpoint_return_the_v1_vectors()
    {
        var v1 = await server.Client.PostOkAsync("/v1/embeddings", new JsonObject { ["input"] = new JsonArray("The cat sat.", "A frog jumped.") });
        var embed = await server.Client.PostOkAsync("/api/embed", new JsonObject { ["model"] = Name, ["input"] = new JsonArray("The cat sat.", "A frog jumped.") });
        Assert.Equal(Name, embed.GetProperty("model").GetString());
        Assert.Equal(v1.Usage("prompt_tokens"), embed.GetProperty("prompt_eval_count").GetInt32());
        for (int i = 0; i < 2; i++)
            Assert.Equal(v1.GetProperty("data")[i].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()),
                embed.GetProperty("embeddings")[i].EnumerateArray().Select(e => e.GetSingle()));

        var legacy = await server.Client.PostOkAsync("/api/embeddings", new JsonObject { ["model"] = Name, ["prompt"] = "The cat sat." });
        Assert.Equal(embed.GetProperty("embeddings")[0].EnumerateArray().Select(e => e.GetSingle()),
            legacy.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()));

        // truncate (the default) keeps the first context-length tokens; truncate false refuses the input.
        string longText = string.Concat(Enumerable.Repeat("The cat sat on the mat and looked at the sun. ", 80));
        var truncated = await server.Client.PostOkAsync("/api/embed", new JsonObject { ["model"] = Name, ["input"] = longText });
        Assert.Equal(server.Host.Engine!.ContextLength, truncated.GetProperty("prompt_eval_count").GetInt32());
        using var refused = await server.Client.PostAsync("/api/embed", new JsonObject { ["model"] = Name, ["input"] = longText, ["truncate"] = false });
        Assert.Contains("maximum context length", await AssertOllamaErrorAsync(refused, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task Pull_reports_the_served_model_present()
    {
        var lines = await PostNdjsonAsync("/api/pull", new JsonObject { ["model"] = Name });
        Assert.Equal("pulling manifest", lines[0].GetProperty("status").GetString());
        Assert.Equal(lines[1].GetProperty("total").GetInt64(), lines[1].GetProperty("completed").GetInt64());
        Assert.Equal("success", lines[^1].GetProperty("status").GetString());
        var single = await server.Client.PostOkAsync("/api/pull", new JsonObject { ["model"] = server.ModelId, ["stream"] = false });
        Assert.Equal("success", single.GetProperty("status").GetString());
        using var unknown = await server.Client.PostAsync("/api/pull", new JsonObject { ["model"] = "llama3.2" });
        Assert.Contains("\"llama3.2\"", await AssertOllamaErrorAsync(unknown, HttpStatusCode.NotFound));
    }

    [Theory]
    [InlineData("/api/chat")]
    [InlineData("/api/generate")]
    [InlineData("/api/show")]
    [InlineData("/api/embed")]
    [InlineData("/api/embeddings")]
    public async Task An_unknown_model_is_ollamas_404(string path)
    {
        var body = new JsonObject { ["model"] = "llama3.2:1b", ["prompt"] = "hi", ["input"] = "hi", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }) };
        using var response = await server.Client.PostAsync(path, body);
        Assert.Equal("model \"llama3.2:1b\" not found, try pulling it first", await AssertOllamaErrorAsync(response, HttpStatusCode.NotFound));
    }

    [Theory]
    [InlineData("/api/chat", """{"messages":[{"role":"user","content":"hi"}]}""", "model is required")]
    [InlineData("/api/chat", """{"model":"M","messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("/api/chat", """{"model":"M","messages":[{"role":"user","content":"hi","images":["aGk="]}]}""", "images")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"tools":[{"type":"function"}]}""", "does not support tools")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"think":true}""", "does not support thinking")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"options":{"temperature":"hot"}}""", "options.temperature must be a finite number")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"options":{"num_predict":0}}""", "options.num_predict")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"options":{"stop":[1]}}""", "options.stop")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"options":"fast"}""", "options must be an object")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"format":"yaml"}""", "invalid format")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"format":{"type":"object","patternProperties":{}}}""", "patternProperties")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"keep_alive":"soon"}""", "keep_alive")]
    [InlineData("/api/chat", """{"model":"M","messages":[],"stream":"yes"}""", "stream must be a boolean")]
    [InlineData("/api/generate", """{"model":"M","prompt":"hi","suffix":"end"}""", "suffix")]
    [InlineData("/api/generate", """{"model":"M","prompt":"hi","context":[1,2]}""", "context")]
    [InlineData("/api/generate", """{"model":"M","prompt":"hi","template":"{{ .Prompt }}"}""", "template")]
    [InlineData("/api/embed", """{"model":"M"}""", "input is required")]
    [InlineData("/api/embed", """{"model":"M","input":[1,2]}""", "input must be a string or an array of strings")]
    [InlineData("/api/embed", """{"model":"M","input":"hi","dimensions":3}""", "dimensions")]
    [InlineData("/api/show", "[1]", "JSON object")]
    public async Task Bad_requests_are_ollama_shaped_400s(string path, string body, string expected)
    {
        using var response = await server.Client.PostRawAsync(path, body.Replace("\"M\"", $"\"{Name}\""));
        Assert.Contains(expected, await AssertOllamaErrorAsync(response, HttpStatusCode.BadRequest));
    }

    [Fact]
    public async Task A_prompt_longer_than_num_ctx_is_refused_and_unknown_routes_are_ollama_shaped()
    {
        var body = ChatBody(Name, stream: false);
        body["options"]!["num_ctx"] = 4;
        using var response = await server.Client.PostAsync("/api/chat", body);
        Assert.Contains("the context holds 4", await AssertOllamaErrorAsync(response, HttpStatusCode.BadRequest));

        using var missing = await server.Client.GetAsync("/api/nothing-here");
        Assert.Contains("404 page not found", await AssertOllamaErrorAsync(missing, HttpStatusCode.NotFound));
    }
}
