using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>The legacy text completions endpoint over raw HTTP, as benchmarks and FIM-style clients use it.</summary>
[Collection(DefaultServerCollection.Name)]
public sealed class CompletionTests(DefaultServer server)
{
    private readonly HttpClient _client = server.Client;

    [Fact]
    public async Task Text_completion_has_the_openai_shape()
    {
        var r = await _client.PostOkAsync(Api.Completions, Api.CompletionBody("Once upon a time", 8).BanEndOfSequence());
        Assert.StartsWith("cmpl-", r.GetProperty("id").GetString());
        Assert.Equal("text_completion", r.GetProperty("object").GetString());
        Assert.Equal(server.ModelId, r.GetProperty("model").GetString());
        var choice = Assert.Single(r.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("text").GetString()));
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(8, r.Usage("completion_tokens"));
        // BOS + the prompt's tokens.
        int promptTokens = server.Host.Tokenizer!.Encode("Once upon a time", addBos: true, parseSpecial: true).Length;
        Assert.Equal(promptTokens, r.Usage("prompt_tokens"));
        Assert.Equal(promptTokens + 8, r.Usage("total_tokens"));
    }

    [Fact]
    public async Task Prompt_may_be_a_string_a_one_string_array_or_token_ids()
    {
        const string prompt = "The little bird";
        var asString = await _client.PostOkAsync(Api.Completions, Api.CompletionBody(prompt, 6));
        var asArray = await _client.PostOkAsync(Api.Completions, Api.CompletionBody(prompt, 6).With("prompt", new JsonArray(prompt)));
        int[] ids = server.Host.Tokenizer!.Encode(prompt, addBos: true, parseSpecial: true);
        var asTokens = await _client.PostOkAsync(Api.Completions,
            Api.CompletionBody(prompt, 6).With("prompt", new JsonArray(ids.Select(t => (JsonNode)t).ToArray())));
        string text = asString.Choice().GetProperty("text").GetString()!;
        Assert.Equal(text, asArray.Choice().GetProperty("text").GetString());
        Assert.Equal(text, asTokens.Choice().GetProperty("text").GetString());
        Assert.Equal(ids.Length, asTokens.Usage("prompt_tokens"));
    }

    [Fact]
    public async Task Legacy_logprobs_have_tokens_offsets_and_alternatives()
    {
        var body = Api.CompletionBody("Once upon a time", 8).BanEndOfSequence().With("logprobs", 2);
        var r = await _client.PostOkAsync(Api.Completions, body);
        var choice = r.Choice();
        var lp = choice.GetProperty("logprobs");
        string[] tokens = lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        float[] logprobs = lp.GetProperty("token_logprobs").EnumerateArray().Select(t => t.GetSingle()).ToArray();
        var tops = lp.GetProperty("top_logprobs").EnumerateArray().ToArray();
        int[] offsets = lp.GetProperty("text_offset").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal(8, tokens.Length);
        Assert.Equal(8, logprobs.Length);
        Assert.Equal(8, tops.Length);
        Assert.Equal(8, offsets.Length);
        Assert.All(logprobs, v => Assert.True(float.IsFinite(v) && v <= 0));
        for (int i = 0; i < tokens.Length; i++)
        {
            var alternatives = tops[i].EnumerateObject().ToArray();
            Assert.InRange(alternatives.Length, 1, 2);
            Assert.Contains(alternatives, a => a.Name == tokens[i]); // greedy: the chosen token is among the top 2
            if (i > 0) Assert.Equal(offsets[i - 1] + tokens[i - 1].Length, offsets[i]);
        }
        Assert.Equal(string.Concat(tokens), choice.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Completion_continues_the_prompt_text()
    {
        // Greedy, the model continues "The cat sat on the" with " tree": the text must keep that leading space,
        // or prompt + text reads "The cat sat on thetree".
        const string prompt = "The cat sat on the";
        var r = await _client.PostOkAsync(Api.Completions, Api.CompletionBody(prompt, 6).BanEndOfSequence().With("logprobs", 0));
        string text = r.Choice().GetProperty("text").GetString()!;
        string[] tokens = r.Choice().GetProperty("logprobs").GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        Assert.Equal(string.Concat(tokens), text);
        Assert.StartsWith(" ", text);
    }

    [Fact]
    public async Task Completion_stream_is_framed_and_matches_the_non_streamed_text()
    {
        var body = Api.CompletionBody("Lily and Tom went to the park", 12).BanEndOfSequence();
        var whole = await _client.PostOkAsync(Api.Completions, body);
        var chunks = Sse.Chunks(await _client.PostStreamAsync(Api.Completions, body.DeepClone().AsObject()
            .With("stream", true).With("stream_options", new JsonObject { ["include_usage"] = true })));

        string id = chunks[0].GetProperty("id").GetString()!;
        long created = chunks[0].GetProperty("created").GetInt64();
        Assert.StartsWith("cmpl-", id);
        var text = new System.Text.StringBuilder();
        string? finish = null;
        foreach (var chunk in chunks[..^1])
        {
            Assert.Equal("text_completion", chunk.GetProperty("object").GetString());
            Assert.Equal(id, chunk.GetProperty("id").GetString());
            Assert.Equal(created, chunk.GetProperty("created").GetInt64());
            Assert.Null(finish); // nothing follows the finish chunk but the usage chunk
            var c = Assert.Single(chunk.GetProperty("choices").EnumerateArray());
            text.Append(c.GetProperty("text").GetString());
            if (c.GetProperty("finish_reason").ValueKind == JsonValueKind.String) finish = c.GetProperty("finish_reason").GetString();
        }
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(12, usage.Usage("completion_tokens"));
        Assert.Equal("length", finish);
        Assert.Equal(whole.Choice().GetProperty("text").GetString(), text.ToString());
    }
}
