using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>Non-streaming chat completions: the response shape, n, stop strings, seeds, logprobs.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class ChatCompletionTests(DefaultServer server)
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Chat_completion_has_the_openai_shape()
    {
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var r = await _client.PostOkAsync(Api.Chat, Api.ChatBody(maxTokens: 8).BanEndOfSequence());

        Assert.StartsWith("chatcmpl-", r.GetProperty("id").GetString());
        Assert.Equal("chat.completion", r.GetProperty("object").GetString());
        Assert.InRange(r.GetProperty("created").GetInt64(), before - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        Assert.Equal(server.ModelId, r.GetProperty("model").GetString());
        Assert.False(string.IsNullOrEmpty(r.GetProperty("system_fingerprint").GetString()));

        var choice = Assert.Single(r.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.False(string.IsNullOrWhiteSpace(r.Content()));
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal("length", r.FinishReason());

        Assert.InRange(r.Usage("prompt_tokens"), 5, 100);
        Assert.Equal(8, r.Usage("completion_tokens"));
        Assert.Equal(r.Usage("prompt_tokens") + 8, r.Usage("total_tokens"));
        Assert.InRange(r.CachedTokens(), 0, r.Usage("prompt_tokens") - 1);
        Assert.Equal(0, r.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
    }

    [Fact]
    public async Task Max_completion_tokens_bounds_the_answer_and_the_model_alias_is_accepted()
    {
        var body = Api.ChatBody().BanEndOfSequence().With("max_completion_tokens", 5).With("model", server.ModelId);
        body.Remove("max_tokens");
        var r = await _client.PostOkAsync(Api.Chat, body);
        Assert.Equal(5, r.Usage("completion_tokens"));
        Assert.Equal("length", r.FinishReason());
    }

    [Fact]
    public async Task Content_parts_and_unknown_fields_give_the_same_answer_as_plain_content()
    {
        var plain = await _client.PostOkAsync(Api.Chat, Api.ChatBody("Tell me about a dog.", 10));
        var parts = Api.ChatBody("ignored", 10);
        parts["messages"] = new JsonArray(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Tell me about a dog." }),
        });
        parts["some_future_field"] = new JsonObject { ["nested"] = new JsonArray(1, 2) };
        parts["user"] = "test-user";
        var r = await _client.PostOkAsync(Api.Chat, parts);
        Assert.Equal(plain.Content(), r.Content());
    }

    [Fact]
    public async Task N_three_returns_three_indexed_choices()
    {
        var body = Api.ChatBody(maxTokens: 12).BanEndOfSequence().With("n", 3).With("temperature", 1.0).With("seed", 11).With("logprobs", true);
        var r = await _client.PostOkAsync(Api.Chat, body);
        var choices = r.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal(3, choices.Length);
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        int tokens = 0;
        foreach (var c in choices)
        {
            Assert.Equal("assistant", c.GetProperty("message").GetProperty("role").GetString());
            tokens += c.GetProperty("logprobs").GetProperty("content").GetArrayLength();
        }
        // Every generated token of every choice is counted once in usage (EOS is banned, so each token has a logprob).
        Assert.Equal(tokens, r.Usage("completion_tokens"));
        // Sampled with one seed per choice: the choices are not copies of each other.
        var texts = new[] { r.Content(0), r.Content(1), r.Content(2) };
        Assert.True(texts.Distinct().Count() > 1, $"all three choices are identical: {texts[0]}");
    }

    [Fact]
    public async Task Stop_string_ends_the_text_before_it()
    {
        var baseline = await _client.PostOkAsync(Api.Chat, Api.ChatBody("Tell me a story about a frog.", 24).BanEndOfSequence());
        string text = baseline.Content();
        var (stop, expected) = PickStop(text);

        var single = await _client.PostOkAsync(Api.Chat, Api.ChatBody("Tell me a story about a frog.", 24).BanEndOfSequence().With("stop", stop));
        Assert.Equal(expected, single.Content());
        Assert.DoesNotContain(stop, single.Content());
        Assert.Equal("stop", single.FinishReason());

        var list = Api.ChatBody("Tell me a story about a frog.", 24).BanEndOfSequence().With("stop", new JsonArray("zzz-not-generated", stop));
        var fromList = await _client.PostOkAsync(Api.Chat, list);
        Assert.Equal(expected, fromList.Content());
        Assert.Equal("stop", fromList.FinishReason());

        var streamed = Sse.Chunks(await _client.PostStreamAsync(Api.Chat, Api.ChatBody("Tell me a story about a frog.", 24)
            .BanEndOfSequence().With("stop", stop).With("stream", true)));
        Assert.Equal(expected, Sse.ChatText(streamed));
        Assert.Equal("stop", streamed.Last(c => c.GetProperty("choices").GetArrayLength() > 0)
            .GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    /// <summary>A stop string from the middle of a greedy answer, and the text that must remain before it.</summary>
    internal static (string Stop, string Expected) PickStop(string text)
    {
        Assert.True(text.Length >= 12, $"the baseline answer is too short to pick a stop string from: '{text}'");
        string stop = text.Substring(text.Length / 2, 3);
        int at = text.IndexOf(stop, StringComparison.Ordinal);
        Assert.True(at > 0, $"stop string '{stop}' occurs at the start of '{text}'");
        return (stop, text[..at]);
    }

    [Fact]
    public async Task Seed_reproduces_a_sampled_completion()
    {
        JsonObject Body(int seed) => Api.ChatBody("Write about the sea.", 20).BanEndOfSequence().With("temperature", 1.0).With("seed", seed);
        var first = await _client.PostOkAsync(Api.Chat, Body(1234));
        var again = await _client.PostOkAsync(Api.Chat, Body(1234));
        var other = await _client.PostOkAsync(Api.Chat, Body(4321));
        Assert.Equal(first.Content(), again.Content());
        Assert.NotEqual(first.Content(), other.Content());
    }

    [Fact]
    public async Task Logprobs_have_the_openai_shape()
    {
        var body = Api.ChatBody(maxTokens: 8).BanEndOfSequence().With("logprobs", true).With("top_logprobs", 3);
        var r = await _client.PostOkAsync(Api.Chat, body);
        var content = r.Choice().GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
        Assert.Equal(r.Usage("completion_tokens"), content.Length);
        var text = new StringBuilder();
        foreach (var entry in content)
        {
            string token = entry.GetProperty("token").GetString()!;
            float logprob = entry.GetProperty("logprob").GetSingle();
            Assert.True(float.IsFinite(logprob) && logprob <= 0, $"logprob {logprob} of '{token}'");
            byte[] bytes = entry.GetProperty("bytes").EnumerateArray().Select(b => checked((byte)b.GetInt32())).ToArray();
            Assert.Equal(token, Encoding.UTF8.GetString(bytes));
            text.Append(token);

            var top = entry.GetProperty("top_logprobs").EnumerateArray().ToArray();
            Assert.Equal(3, top.Length);
            for (int i = 0; i < top.Length; i++)
            {
                Assert.False(string.IsNullOrEmpty(top[i].GetProperty("token").GetString()));
                Assert.Equal(JsonValueKind.Array, top[i].GetProperty("bytes").ValueKind);
                if (i > 0) Assert.True(top[i].GetProperty("logprob").GetSingle() <= top[i - 1].GetProperty("logprob").GetSingle());
            }
            // Greedy decoding picks the most likely token.
            Assert.Equal(token, top[0].GetProperty("token").GetString());
            Assert.Equal(logprob, top[0].GetProperty("logprob").GetSingle(), 4);
        }
        // The tokens spell the answer (the dummy space SentencePiece puts before the first word may be dropped).
        Assert.Equal(text.ToString().TrimStart(), r.Content().TrimStart());
    }
}
