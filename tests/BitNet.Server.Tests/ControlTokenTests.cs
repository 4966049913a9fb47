using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>
/// Control tokens are never text: the bundled model's BOS between stories ends a completion with "stop" (it used to
/// come out as "&lt;s&gt; Once upon a time..." and run on), on every API, streaming or not, and is not counted in usage.
/// </summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ControlTokenTests(DefaultServer server)
{
    private readonly HttpClient _client = server.Client;

    /// <summary>A +100 bias makes BOS the first token sampled.</summary>
    private static JsonObject ForceBos(JsonObject body) =>
        body.With("logit_bias", new JsonObject { [Infrastructure.Json.BeginOfSequence.ToString(System.Globalization.CultureInfo.InvariantCulture)] = 100 });

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task A_long_completion_ends_with_its_story(int seed)
    {
        var r = await _client.PostOkAsync(Api.Completions, new JsonObject { ["prompt"] = "Once upon a time", ["max_tokens"] = 400, ["seed"] = seed });
        string text = r.Choice().GetProperty("text").GetString()!;
        Assert.DoesNotContain("<s>", text);
        Assert.DoesNotContain("Once upon a time", text);
        if (r.Usage("completion_tokens") < 400) Assert.Equal("stop", r.FinishReason());
    }

    [Fact]
    public async Task Bos_ends_a_completion_with_stop_and_is_not_counted()
    {
        var r = await _client.PostOkAsync(Api.Completions, ForceBos(Api.CompletionBody(maxTokens: 20)));
        Assert.Equal("", r.Choice().GetProperty("text").GetString());
        Assert.Equal("stop", r.FinishReason());
        Assert.Equal(0, r.Usage("completion_tokens"));
    }

    [Fact]
    public async Task Bos_ends_a_streamed_completion_with_stop()
    {
        var body = ForceBos(Api.CompletionBody(maxTokens: 20)).With("stream", true)
            .With("stream_options", new JsonObject { ["include_usage"] = true });
        var chunks = Sse.Chunks(await _client.PostStreamAsync(Api.Completions, body));
        string text = string.Concat(chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Select(c => c.GetProperty("text").GetString()));
        Assert.Equal("", text);
        var finish = chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("finish_reason")).Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString());
        Assert.Equal(["stop"], finish);
        Assert.Equal(0, chunks[^1].Usage("completion_tokens"));
    }

    [Fact]
    public async Task Bos_ends_a_chat_answer_streamed_or_not()
    {
        var r = await _client.PostOkAsync(Api.Chat, ForceBos(Api.ChatBody(maxTokens: 20)));
        Assert.Equal("", r.Content());
        Assert.Equal("stop", r.FinishReason());
        Assert.Equal(0, r.Usage("completion_tokens"));

        var chunks = Sse.Chunks(await _client.PostStreamAsync(Api.Chat, ForceBos(Api.ChatBody(maxTokens: 20)).With("stream", true)));
        Assert.Equal("", Sse.ChatText(chunks));
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Long_chat_answers_never_show_control_tokens()
    {
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var body = Api.ChatBody("Tell me a story.", 300).With("temperature", 0.8).With("seed", seed);
            string text = (await _client.PostOkAsync(Api.Chat, body)).Content();
            Assert.DoesNotContain("<s>", text);
            Assert.DoesNotContain("</s>", text);
        }
    }
}
