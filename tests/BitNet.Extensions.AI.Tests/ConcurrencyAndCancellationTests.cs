using Microsoft.Extensions.AI;

namespace BitNet.Extensions.AI.Tests;

/// <summary>Several callers share the engine's forward passes; cancelling or abandoning a call frees its sequence.</summary>
public sealed class ConcurrencyAndCancellationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string[] Prompts =
        ["Tell me a story about a dragon.", "Tell me about a cat.", "Tell me a story about a girl.", "Tell me about a bird."];

    [Fact]
    public async Task Concurrent_callers_are_batched_and_get_the_answers_they_get_alone()
    {
        using var host = TestModel.Load(parallel: 4);
        var chat = host.ChatClient;
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 40 };

        var alone = new List<ChatResponse>();
        long before = host.Engine.Steps;
        foreach (var prompt in Prompts) alone.Add(await chat.GetResponseAsync(prompt, options));
        long sequentialSteps = host.Engine.Steps - before;

        before = host.Engine.Steps;
        // Four thread-pool callers at once, as four requests of a web app would be.
        var together = await Task.WhenAll(Prompts.Select(prompt => Task.Run(() => chat.GetResponseAsync(prompt, options))));
        long batchedSteps = host.Engine.Steps - before;

        Assert.Equal(alone.Select(r => r.Text), together.Select(r => r.Text));
        long tokens = together.Sum(r => r.Usage!.OutputTokenCount!.Value);
        output.WriteLine($"{Prompts.Length} callers, {tokens} tokens: {sequentialSteps} steps one after another, {batchedSteps} steps at once");
        Assert.True(tokens > 60, $"only {tokens} tokens generated: the answers ended too early to show batching");
        // Alone, every token is a forward pass; together, one pass decodes a token of every running answer.
        Assert.True(sequentialSteps >= tokens, $"sequential {sequentialSteps} steps for {tokens} tokens");
        Assert.True(batchedSteps * 2 < sequentialSteps, $"batched {batchedSteps} steps vs sequential {sequentialSteps}");
    }

    [Fact]
    public async Task More_callers_than_slots_wait_their_turn()
    {
        using var host = TestModel.Load(parallel: 2);
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 12 };
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => host.ChatClient.GetResponseAsync(Prompts[i % 4], options)));
        Assert.All(answers, a => Assert.InRange(a.Usage!.OutputTokenCount!.Value, 1, 12));
        Assert.Equal(answers[0].Text, answers[4].Text);
    }

    [Fact]
    public async Task Cancelling_a_stream_throws_and_frees_the_sequence()
    {
        using var host = TestModel.Load(parallel: 1);
        var options = new ChatOptions { Temperature = 1, Seed = 7, MaxOutputTokens = 400 };
        long full = (await host.ChatClient.GetResponseAsync(Prompts[0], options)).Usage!.OutputTokenCount!.Value;
        Assert.True(full > 100, $"the uncancelled answer has only {full} tokens");
        long generatedBefore = host.Engine.Stats.GeneratedTokens;

        using var cts = new CancellationTokenSource();
        int updates = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in host.ChatClient.GetStreamingResponseAsync(Prompts[0], options, cts.Token))
                if (++updates == 1) cts.Cancel();
        });
        Assert.True(updates >= 1);
        await WaitIdle(host);
        long generated = host.Engine.Stats.GeneratedTokens - generatedBefore;
        output.WriteLine($"cancelled after the first update: {generated} of {full} tokens generated");
        Assert.True(generated < full / 2, $"{generated} of {full} tokens generated after cancelling at the first");

        // The only slot is free again.
        var next = await host.ChatClient.GetResponseAsync(Prompts[1], new ChatOptions { MaxOutputTokens = 4 });
        Assert.Equal(4, next.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Cancelling_a_waiting_call_throws_and_an_already_cancelled_token_never_submits()
    {
        using var host = TestModel.Load(parallel: 1);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.ChatClient.GetResponseAsync(Prompts[0], null, cancelled.Token));
        Assert.Throws<OperationCanceledException>(() => host.ChatClient.GetStreamingResponseAsync(Prompts[0], null, cancelled.Token));

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(30));
        var first = host.ChatClient.GetResponseAsync(Prompts[1], new ChatOptions { Temperature = 0, MaxOutputTokens = 64 });
        var second = host.ChatClient.GetResponseAsync(Prompts[2], new ChatOptions { Temperature = 0, MaxOutputTokens = 64 }, cts.Token);
        await first;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        await WaitIdle(host);
    }

    [Fact]
    public async Task Abandoning_a_stream_stops_the_engine_work()
    {
        using var host = TestModel.Load(parallel: 1);
        var options = new ChatOptions { Temperature = 1, Seed = 7, MaxOutputTokens = 400 };
        long full = (await host.ChatClient.GetResponseAsync(Prompts[0], options)).Usage!.OutputTokenCount!.Value;
        Assert.True(full > 100, $"the uncancelled answer has only {full} tokens");
        long generatedBefore = host.Engine.Stats.GeneratedTokens;
        await foreach (var update in host.ChatClient.GetStreamingResponseAsync(Prompts[0], options))
            if (update.Text.Length > 0) break;      // disposes the enumerator: the request is cancelled in the engine
        await WaitIdle(host);
        long generated = host.Engine.Stats.GeneratedTokens - generatedBefore;
        output.WriteLine($"abandoned after the first update: {generated} of {full} tokens generated");
        Assert.True(generated < full / 2, $"{generated} of {full} tokens generated after abandoning at the first");
    }

    private static async Task WaitIdle(BitNetModelHost host)
    {
        for (int i = 0; i < 200 && (host.Engine.Stats.Running > 0 || host.Engine.Stats.Waiting > 0); i++) await Task.Delay(25);
        Assert.Equal(0, host.Engine.Stats.Running);
        Assert.Equal(0, host.Engine.Stats.Waiting);
    }
}
