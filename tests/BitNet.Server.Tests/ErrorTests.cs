using System.Net;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>
/// Every request problem is a 4xx with OpenAI's error body (the SDKs retry 5xx, so a validation 500 would be retried
/// forever): malformed JSON, wrong types, out-of-range values, context overflow, unsupported formats, unknown models,
/// oversized bodies.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ErrorTests(DefaultServer server)
{
    private readonly HttpClient _client = server.Client;

    [Theory]
    [InlineData("{\"messages\": [")]
    [InlineData("not json at all")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],}")]
    [InlineData("[{\"role\": \"user\", \"content\": \"hi\"}]")]
    [InlineData("\"just a string\"")]
    [InlineData("")]
    public async Task Malformed_json_is_400(string body)
    {
        using var response = await _client.PostRawAsync(Api.Chat, body);
        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
    }

    [Theory]
    [InlineData("\"messages\": \"hi\"", "messages")]
    [InlineData("\"messages\": []", "messages")]
    [InlineData("\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]", "messages[0].role")]
    [InlineData("\"messages\": [{\"content\": \"hi\"}]", "messages[0].role")]
    [InlineData("\"messages\": [{\"role\": \"user\", \"content\": 5}]", "messages[0].content")]
    [InlineData("\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]}]", "messages[0].content[0].type")]
    public async Task Invalid_messages_are_400_naming_the_field(string messages, string param)
    {
        using var response = await _client.PostRawAsync(Api.Chat, "{" + messages + "}");
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("\"model\": 5", "model")]
    [InlineData("\"temperature\": \"hot\"", "temperature")]
    [InlineData("\"temperature\": 2.5", "temperature")]
    [InlineData("\"temperature\": -0.1", "temperature")]
    [InlineData("\"top_p\": 1.5", "top_p")]
    [InlineData("\"max_tokens\": 1.5", "max_tokens")]
    [InlineData("\"max_tokens\": 0", "max_tokens")]
    [InlineData("\"max_tokens\": \"ten\"", "max_tokens")]
    [InlineData("\"max_completion_tokens\": -4", "max_completion_tokens")]
    [InlineData("\"n\": 0", "n")]
    [InlineData("\"n\": 9", "n")] // above the server's 8 parallel sequences
    [InlineData("\"frequency_penalty\": -3", "frequency_penalty")]
    [InlineData("\"presence_penalty\": \"x\"", "presence_penalty")]
    [InlineData("\"stop\": 5", "stop")]
    [InlineData("\"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]", "stop")]
    [InlineData("\"stop\": [\"a\", 1]", "stop")]
    [InlineData("\"seed\": \"x\"", "seed")]
    [InlineData("\"seed\": 1.5", "seed")]
    [InlineData("\"stream\": \"yes\"", "stream")]
    [InlineData("\"stream_options\": 5", "stream_options")]
    [InlineData("\"logprobs\": \"yes\"", "logprobs")]
    [InlineData("\"logprobs\": true, \"top_logprobs\": 21", "top_logprobs")]
    [InlineData("\"top_logprobs\": 2", "top_logprobs")]
    [InlineData("\"logit_bias\": {\"abc\": 1}", "logit_bias")]
    [InlineData("\"logit_bias\": {\"5\": 101}", "logit_bias")]
    [InlineData("\"logit_bias\": [1, 2]", "logit_bias")]
    [InlineData("\"response_format\": \"json\"", "response_format")]
    public async Task Wrong_types_and_out_of_range_values_are_400_naming_the_field(string field, string param)
    {
        string body = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], " + field + "}";
        using var response = await _client.PostRawAsync(Api.Chat, body);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("{\"max_tokens\": 4}", "prompt")]
    [InlineData("{\"prompt\": 5}", "prompt")]
    [InlineData("{\"prompt\": [-1, 5]}", "prompt")]
    [InlineData("{\"prompt\": [\"one\", \"two\"]}", "prompt")]
    [InlineData("{\"prompt\": [99999]}", "prompt")]
    [InlineData("{\"prompt\": \"hi\", \"logprobs\": 6}", "logprobs")]
    [InlineData("{\"prompt\": \"hi\", \"logprobs\": true}", "logprobs")]
    public async Task Invalid_completion_requests_are_400_naming_the_field(string body, string param)
    {
        using var response = await _client.PostRawAsync(Api.Completions, body);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_context_length_exceeded()
    {
        string longText = string.Join(' ', Enumerable.Repeat("hello", 600));
        using var chat = await _client.PostAsync(Api.Chat, Api.ChatBody(longText, 4));
        await AssertContextLengthExceeded(chat);

        using var completion = await _client.PostAsync(Api.Completions, Api.CompletionBody(longText, 4));
        var error = await AssertContextLengthExceeded(completion);
        // /v1/completions has a prompt, not messages.
        Assert.Equal("prompt", error.GetProperty("param").GetString());
        Assert.Contains("in the prompt", error.GetProperty("message").GetString());
        Assert.DoesNotContain("messages", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Prompt_plus_max_tokens_over_the_context_is_context_length_exceeded()
    {
        int context = server.Host.Engine!.ContextLength;
        using var chat = await _client.PostAsync(Api.Chat, Api.ChatBody("Hi", context));
        var error = await AssertContextLengthExceeded(chat);
        Assert.Contains($"{context} in the completion", error.GetProperty("message").GetString());

        using var completion = await _client.PostAsync(Api.Completions, Api.CompletionBody("Hi", context));
        var completionError = await AssertContextLengthExceeded(completion);
        Assert.Equal("prompt", completionError.GetProperty("param").GetString());
        Assert.DoesNotContain("messages", completionError.GetProperty("message").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
    }

    private async Task<System.Text.Json.JsonElement> AssertContextLengthExceeded(HttpResponseMessage response)
    {
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "context_length_exceeded");
        // Clients (LangChain, LiteLLM, the SDKs' docs) match this exact sentence to detect overflow.
        Assert.StartsWith($"This model's maximum context length is {server.Host.Engine!.ContextLength} tokens.", error.GetProperty("message").GetString());
        return error;
    }

    [Theory]
    [InlineData("{\"type\": \"xml\"}")]
    [InlineData("{\"type\": \"json_schema\"}")]
    [InlineData("{\"type\": \"json_schema\", \"json_schema\": {\"name\": \"x\", \"schema\": {\"type\": \"object\", \"if\": {}}}}")]
    public async Task Unsupported_response_formats_are_400(string format)
    {
        var body = Api.ChatBody(maxTokens: 4).With("response_format", JsonNode.Parse(format));
        using var response = await _client.PostAsync(Api.Chat, body);
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Equal("response_format", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Text_response_format_is_accepted()
    {
        var r = await _client.PostOkAsync(Api.Chat, Api.ChatBody(maxTokens: 4).With("response_format", new JsonObject { ["type"] = "text" }));
        Assert.InRange(r.Usage("completion_tokens"), 1, 4);
    }

    [Fact]
    public async Task Any_model_name_is_served_by_the_one_model_and_reported_as_its_id()
    {
        // Apps hard-code a model name (the SDK samples' gpt-4o-mini, LangChain's gpt-3.5-turbo).
        var chat = await _client.PostOkAsync(Api.Chat, Api.ChatBody(maxTokens: 4).With("model", "gpt-4o-mini"));
        Assert.Equal(server.ModelId, chat.GetProperty("model").GetString());
        var completion = await _client.PostOkAsync(Api.Completions, Api.CompletionBody(maxTokens: 4).With("model", "gpt-3.5-turbo-instruct"));
        Assert.Equal(server.ModelId, completion.GetProperty("model").GetString());
        string stream = await _client.PostStreamAsync(Api.Chat, Api.ChatBody(maxTokens: 4).With("model", "gpt-3.5-turbo").With("stream", true));
        Assert.All(Sse.Chunks(stream), c => Assert.Equal(server.ModelId, c.GetProperty("model").GetString()));
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        // The default limit is 4 MiB.
        var body = Api.ChatBody(new string('a', 5 << 20), 4);
        using var response = await _client.PostAsync(Api.Chat, body);
        await Api.AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
    }
}
