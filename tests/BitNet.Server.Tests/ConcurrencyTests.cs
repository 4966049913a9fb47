using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>Many clients at once (more than the KV slots), and KV reuse across the turns of a conversation.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ConcurrencyTests(DefaultServer server)
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Sixteen_concurrent_streams_complete_with_token_counts_matching_usage()
    {
        const int clients = 16, maxTokens = 12;
        Assert.True(clients > DefaultServer.Parallel, "the test must also exercise the wait queue");
        string[] subjects = ["a cat", "a dog", "a bird", "a frog", "a fish", "a bear", "a mouse", "a duck",
            "a tree", "a boat", "a ball", "a cake", "a star", "a king", "a girl", "a boy"];

        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(async i =>
        {
            // logprobs: every generated token then arrives in a chunk of its own, so the tokens can be counted.
            var body = Api.ChatBody($"Tell me a story about {subjects[i]}.", maxTokens).BanEndOfSequence()
                .With("stream", true).With("logprobs", true)
                .With("stream_options", new JsonObject { ["include_usage"] = true });
            return Sse.Chunks(await _client.PostStreamAsync(Api.Chat, body));
        }));

        var ids = new HashSet<string>();
        foreach (var chunks in results)
        {
            Assert.True(ids.Add(chunks[0].GetProperty("id").GetString()!), "two streams share an id");
            int streamedTokens = 0;
            string? finish = null;
            foreach (var chunk in chunks[..^1])
            {
                var choice = chunk.Choice();
                if (choice.GetProperty("logprobs").ValueKind == JsonValueKind.Object)
                    streamedTokens += choice.GetProperty("logprobs").GetProperty("content").GetArrayLength();
                if (choice.GetProperty("finish_reason").ValueKind == JsonValueKind.String) finish = choice.GetProperty("finish_reason").GetString();
            }
            var usage = chunks[^1];
            Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
            Assert.NotNull(finish);
            Assert.InRange(usage.Usage("completion_tokens"), 1, maxTokens);
            Assert.Equal(streamedTokens, usage.Usage("completion_tokens"));
            if (finish == "length") Assert.Equal(maxTokens, streamedTokens);
        }
    }

    [Fact]
    public async Task The_second_turn_of_a_conversation_reuses_the_first_turns_kv()
    {
        const string question = "Tell me a story about a little boat.";
        var first = await _client.PostOkAsync(Api.Chat, Api.ChatBody(question, 16).With("messages", Infrastructure.Json.Messages(("user", question))));
        var second = await _client.PostOkAsync(Api.Chat, Api.ChatBody(question, 8).With("messages",
            Infrastructure.Json.Messages(("user", question), ("assistant", first.Content()), ("user", "What happened next?"))));

        // The first turn's prompt is a text prefix of the second's, so all its tokens but possibly the last one
        // (which may merge with what follows) come from the KV the first turn left behind.
        int firstPrompt = first.Usage("prompt_tokens");
        Assert.True(second.CachedTokens() >= firstPrompt - 1,
            $"cached {second.CachedTokens()} of {second.Usage("prompt_tokens")} prompt tokens; the first turn's prompt had {firstPrompt}");
        Assert.True(second.Usage("prompt_tokens") > firstPrompt);
        Assert.Equal(second.CachedTokens(), second.GetProperty("timings").GetProperty("cache_n").GetInt32());
    }
}
