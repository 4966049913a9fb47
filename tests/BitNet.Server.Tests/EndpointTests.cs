using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>The small endpoints: health, models, tokenizer utilities, metrics and the OpenAPI document.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class EndpointTests(DefaultServer server)
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Health_is_ok_once_the_model_is_loaded()
    {
        using var response = await _client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("ok", body.GetProperty("status").GetString());
        Assert.Equal(server.ModelId, body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task Models_lists_the_loaded_model_under_its_id()
    {
        var list = JsonDocument.Parse(await _client.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", list.GetProperty("object").GetString());
        var model = Assert.Single(list.GetProperty("data").EnumerateArray());
        // No alias configured: the id is the file name of the bundled model.
        Assert.Equal(Path.GetFileNameWithoutExtension(TestPaths.BundledModel), model.GetProperty("id").GetString());
        Assert.Equal(server.ModelId, model.GetProperty("id").GetString());
        Assert.Equal("model", model.GetProperty("object").GetString());
        long created = model.GetProperty("created").GetInt64();
        Assert.InRange(created, DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
        Assert.False(string.IsNullOrEmpty(model.GetProperty("owned_by").GetString()));
    }

    [Fact]
    public async Task Model_by_id_returns_its_card_and_unknown_ids_are_404()
    {
        var card = JsonDocument.Parse(await _client.GetStringAsync($"/v1/models/{server.ModelId}")).RootElement;
        Assert.Equal(server.ModelId, card.GetProperty("id").GetString());
        Assert.Equal("model", card.GetProperty("object").GetString());
        Assert.Equal(server.Host.Engine!.ContextLength, card.GetProperty("meta").GetProperty("n_ctx").GetInt32());
        Assert.Equal(new FileInfo(TestPaths.BundledModel).Length, card.GetProperty("meta").GetProperty("size").GetInt64());

        using var missing = await _client.GetAsync("/v1/models/gpt-4o");
        var error = await Api.AssertErrorAsync(missing, HttpStatusCode.NotFound, "not_found_error", "model_not_found");
        Assert.Contains("gpt-4o", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Tokenize_and_detokenize_round_trip()
    {
        const string text = "Once upon a time, there was a cat.";
        var plain = await _client.PostOkAsync("/tokenize", new JsonObject { ["content"] = text });
        int[] tokens = plain.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.NotEmpty(tokens);
        Assert.All(tokens, t => Assert.InRange(t, 0, server.Host.Tokenizer!.VocabSize - 1));
        Assert.Equal(server.Host.Tokenizer!.Encode(text, addBos: false, parseSpecial: false), tokens);

        var withBos = await _client.PostOkAsync("/tokenize", new JsonObject { ["content"] = text, ["add_special"] = true });
        int[] special = withBos.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal(tokens.Length + 1, special.Length);
        Assert.Equal(1, special[0]); // the model's BOS (SentencePiece <s>)

        var back = await _client.PostOkAsync("/detokenize", new JsonObject { ["tokens"] = new JsonArray(tokens.Select(t => (JsonNode)t).ToArray()) });
        Assert.Equal(text, back.GetProperty("content").GetString());
    }

    [Fact]
    public async Task Tokenizer_endpoints_refuse_bad_input_with_400()
    {
        using var noContent = await _client.PostAsync("/tokenize", new JsonObject { ["content"] = 5 });
        var e1 = await Api.AssertErrorAsync(noContent, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal("content", e1.GetProperty("param").GetString());

        using var outside = await _client.PostAsync("/detokenize", new JsonObject { ["tokens"] = new JsonArray(1, 99999) });
        var e2 = await Api.AssertErrorAsync(outside, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal("tokens", e2.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Metrics_expose_the_gen_ai_server_metrics_after_a_request()
    {
        await _client.PostOkAsync(Api.Completions, Api.CompletionBody("The dog", maxTokens: 4));
        using var response = await _client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE gen_ai_server_request_duration_seconds histogram", text);
        Assert.Contains("gen_ai_server_time_to_first_token_seconds_bucket", text);
        Assert.Contains("gen_ai_server_time_per_output_token_seconds_bucket", text);
        Assert.Contains("gen_ai_operation_name=\"text_completion\"", text);
        Assert.Contains("bitnet_requests_running", text);
        Assert.Contains("bitnet_kv_cache_usage", text);
    }

    [Fact]
    public async Task Swagger_document_describes_the_api()
    {
        using var response = await _client.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(doc.TryGetProperty("openapi", out _), "not an OpenAPI document");
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/models/{id}", "/tokenize", "/detokenize", "/health" })
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
        Assert.True(paths.GetProperty("/v1/chat/completions").TryGetProperty("post", out _));
    }
}
