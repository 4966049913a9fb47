using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>Chat completions over SSE: framing, chunk order, usage chunk, and agreement with the non-streamed answer.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class StreamingTests(DefaultServer server)
{
    private readonly HttpClient _client = server.Client;

    private static JsonObject StreamBody(int maxTokens = 12, bool includeUsage = false)
    {
        var body = Api.ChatBody("Tell me a story about a bear.", maxTokens).BanEndOfSequence().With("stream", true);
        if (includeUsage) body["stream_options"] = new JsonObject { ["include_usage"] = true };
        return body;
    }

    [Fact]
    public async Task Chat_stream_is_framed_as_openai_clients_expect()
    {
        string raw = await _client.PostStreamAsync(Api.Chat, StreamBody());
        var chunks = Sse.Chunks(raw); // every event is "data: ...\n\n" and "data: [DONE]" is the last one

        string id = chunks[0].GetProperty("id").GetString()!;
        long created = chunks[0].GetProperty("created").GetInt64();
        Assert.StartsWith("chatcmpl-", id);
        foreach (var chunk in chunks)
        {
            Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString());
            Assert.Equal(id, chunk.GetProperty("id").GetString());
            Assert.Equal(created, chunk.GetProperty("created").GetInt64());
            Assert.Equal(server.ModelId, chunk.GetProperty("model").GetString());
            Assert.Equal(JsonValueKind.Null, chunk.GetProperty("usage").ValueKind); // no usage chunk was asked for
            Assert.Single(chunk.GetProperty("choices").EnumerateArray());
        }

        var first = chunks[0].Choice();
        Assert.Equal("assistant", first.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("finish_reason").ValueKind);

        var last = chunks[^1].Choice();
        Assert.Empty(last.GetProperty("delta").EnumerateObject());
        Assert.Equal("length", last.GetProperty("finish_reason").GetString());

        var middle = chunks[1..^1];
        Assert.NotEmpty(middle);
        foreach (var chunk in middle)
        {
            var delta = chunk.Choice().GetProperty("delta");
            Assert.False(delta.TryGetProperty("role", out _), "only the first chunk carries the role");
            Assert.Equal(JsonValueKind.String, delta.GetProperty("content").ValueKind);
            Assert.Equal(JsonValueKind.Null, chunk.Choice().GetProperty("finish_reason").ValueKind);
        }
        Assert.False(string.IsNullOrWhiteSpace(Sse.ChatText(chunks)));
    }

    [Fact]
    public async Task Include_usage_adds_one_usage_chunk_before_done()
    {
        var whole = await _client.PostOkAsync(Api.Chat, StreamBody().With("stream", false));
        var chunks = Sse.Chunks(await _client.PostStreamAsync(Api.Chat, StreamBody(includeUsage: true)));

        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.Equal(chunks[0].GetProperty("id").GetString(), usageChunk.GetProperty("id").GetString());
        Assert.Equal(whole.Usage("prompt_tokens"), usageChunk.Usage("prompt_tokens"));
        Assert.Equal(whole.Usage("completion_tokens"), usageChunk.Usage("completion_tokens"));
        Assert.Equal(usageChunk.Usage("prompt_tokens") + usageChunk.Usage("completion_tokens"), usageChunk.Usage("total_tokens"));
        foreach (var chunk in chunks[..^1])
        {
            Assert.Equal(JsonValueKind.Null, chunk.GetProperty("usage").ValueKind);
            Assert.Equal(1, chunk.GetProperty("choices").GetArrayLength());
        }
        Assert.Equal("length", chunks[^2].Choice().GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Streamed_text_equals_the_non_streamed_text_for_the_same_seed()
    {
        JsonObject Body() => Api.ChatBody("Tell me about a brave mouse.", 24).BanEndOfSequence().With("temperature", 0.9).With("seed", 77);
        var whole = await _client.PostOkAsync(Api.Chat, Body());
        var chunks = Sse.Chunks(await _client.PostStreamAsync(Api.Chat, Body().With("stream", true)
            .With("stream_options", new JsonObject { ["include_usage"] = true })));
        Assert.Equal(whole.Content(), Sse.ChatText(chunks));
        Assert.Equal(whole.FinishReason(), chunks[^2].Choice().GetProperty("finish_reason").GetString());
        Assert.Equal(whole.Usage("completion_tokens"), chunks[^1].Usage("completion_tokens"));
    }

    [Fact]
    public async Task Three_choices_stream_role_first_and_finish_once_each()
    {
        JsonObject Body() => Api.ChatBody("Tell me about a red ball.", 10).BanEndOfSequence()
            .With("n", 3).With("temperature", 1.0).With("seed", 5);
        var whole = await _client.PostOkAsync(Api.Chat, Body());
        var chunks = Sse.Chunks(await _client.PostStreamAsync(Api.Chat, Body().With("stream", true)));

        var seenRole = new bool[3];
        var finishes = new int[3];
        foreach (var chunk in chunks)
        {
            var choice = Assert.Single(chunk.GetProperty("choices").EnumerateArray());
            int index = choice.GetProperty("index").GetInt32();
            Assert.InRange(index, 0, 2);
            var delta = choice.GetProperty("delta");
            if (delta.TryGetProperty("role", out var role))
            {
                Assert.Equal("assistant", role.GetString());
                Assert.False(seenRole[index], $"choice {index} got a second role chunk");
                seenRole[index] = true;
            }
            else Assert.True(seenRole[index], $"choice {index} streamed before its role chunk");
            if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
            {
                finishes[index]++;
                Assert.Empty(delta.EnumerateObject());
            }
            else Assert.Equal(0, finishes[index]); // nothing of a choice after its finish chunk
        }
        Assert.Equal([1, 1, 1], finishes);
        for (int i = 0; i < 3; i++) Assert.Equal(whole.Content(i), Sse.ChatText(chunks, i));
    }
}
