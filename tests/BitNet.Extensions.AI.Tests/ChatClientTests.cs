using BitNet.Runtime.Scheduling;
using Microsoft.Extensions.AI;

namespace BitNet.Extensions.AI.Tests;

/// <summary>IChatClient as an application uses it, on the bundled model: answers, streaming, usage, finish reasons, stops.</summary>
public sealed class ChatClientTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private IChatClient Chat => fixture.Host.ChatClient;

    private static ChatOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokens = maxTokens };

    [Fact]
    public async Task Non_streaming_answer_has_text_usage_and_ids()
    {
        var response = await Chat.GetResponseAsync("Tell me a story about a dragon.", Greedy(40));

        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        var message = Assert.Single(response.Messages);
        Assert.Equal(ChatRole.Assistant, message.Role);
        Assert.StartsWith("chatcmpl-", response.ResponseId);
        Assert.Equal(fixture.Host.ModelId, response.ModelId);
        Assert.Equal("stories3m-b158-i2_s", response.ModelId);
        Assert.NotNull(response.FinishReason);
        var usage = response.Usage!;
        Assert.True(usage.InputTokenCount > 5, $"input {usage.InputTokenCount}");
        Assert.InRange(usage.OutputTokenCount!.Value, 1, 40);
        Assert.Equal(usage.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
        Assert.True(response.AdditionalProperties!.ContainsKey("time_to_first_token_ms"));
    }

    [Fact]
    public async Task Streaming_updates_concatenate_to_the_non_streaming_answer()
    {
        var options = Greedy(48);
        var whole = await Chat.GetResponseAsync("Once upon a time there was a cat.", options);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in Chat.GetStreamingResponseAsync("Once upon a time there was a cat.", options))
            updates.Add(update);

        Assert.True(updates.Count > 3, $"{updates.Count} updates");
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        // Only the last update ends the answer and carries the usage, as OpenAI's final chunk does.
        Assert.All(updates[..^1], u => Assert.Null(u.FinishReason));
        Assert.Equal(whole.FinishReason, updates[^1].FinishReason);
        var usage = Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents)).Details;
        Assert.Equal(whole.Usage!.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);

        // The M.E.AI helper that apps use to rebuild a response from updates gives the same message and usage.
        var rebuilt = updates.ToChatResponse();
        Assert.Equal(whole.Text, rebuilt.Text);
        Assert.Equal(whole.Usage.OutputTokenCount, rebuilt.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task MaxOutputTokens_ends_with_length_and_exact_count()
    {
        var response = await Chat.GetResponseAsync("Tell me a long story about a big red dog and his friends.", Greedy(3));
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(3, response.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Stop_sequence_cuts_the_answer_and_finishes_with_stop()
    {
        var free = await Chat.GetResponseAsync("Tell me a story about a girl.", Greedy(60));
        // A word from the middle of the free answer: the stopped answer must be exactly the text before it.
        var words = free.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length > 6, free.Text);
        string stop = " " + words[4];
        int cut = free.Text.IndexOf(stop, StringComparison.Ordinal);
        Assert.True(cut > 0, $"'{stop}' in '{free.Text}'");

        var options = Greedy(60);
        options.StopSequences = [stop];
        var stopped = await Chat.GetResponseAsync("Tell me a story about a girl.", options);
        Assert.Equal(free.Text[..cut], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task Same_seed_same_answer_at_temperature_one()
    {
        var options = new ChatOptions { Temperature = 1, Seed = 1234, MaxOutputTokens = 32 };
        var first = await Chat.GetResponseAsync("Tell me about a bird.", options);
        var second = await Chat.GetResponseAsync("Tell me about a bird.", options);
        Assert.Equal(first.Text, second.Text);
        var seeds = new HashSet<string> { first.Text };
        for (long seed = 1; seed <= 4; seed++)
            seeds.Add((await Chat.GetResponseAsync("Tell me about a bird.", new ChatOptions { Temperature = 1, Seed = seed, MaxOutputTokens = 32 })).Text);
        Assert.True(seeds.Count > 2, string.Join(" | ", seeds));
    }

    [Fact]
    public async Task A_second_turn_reuses_the_cached_prefix()
    {
        List<ChatMessage> history = [new(ChatRole.System, "You tell short stories."), new(ChatRole.User, "Tell me about a fox.")];
        var first = await Chat.GetResponseAsync(history, Greedy(16));
        history.AddMessages(first);
        history.Add(new(ChatRole.User, "And then?"));
        var second = await Chat.GetResponseAsync(history, Greedy(16));
        Assert.True(second.Usage!.CachedInputTokenCount >= first.Usage!.InputTokenCount - 1,
            $"cached {second.Usage.CachedInputTokenCount} of {second.Usage.InputTokenCount}; first turn had {first.Usage.InputTokenCount}");
    }

    [Fact]
    public void Metadata_and_services()
    {
        var metadata = Chat.GetService<ChatClientMetadata>()!;
        Assert.Equal("bitnet", metadata.ProviderName);
        Assert.Equal(fixture.Host.ModelId, metadata.DefaultModelId);
        Assert.Same(fixture.Host.Engine, Chat.GetService<InferenceEngine>());
        Assert.Same(Chat, Chat.GetService<BitNetChatClient>());
        Assert.Null(Chat.GetService<ChatClientMetadata>("some key"));
    }
}
