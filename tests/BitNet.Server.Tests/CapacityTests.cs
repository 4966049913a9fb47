using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using BitNet.Server.Tests.Infrastructure;

namespace BitNet.Server.Tests;

/// <summary>
/// One KV slot and no waiting room: a request that finds the slot taken is refused with 429 and Retry-After, and a
/// client that disconnects mid-stream gives its slot back at once.
/// </summary>
public sealed class CapacityTests(SingleSlotServer server) : IClassFixture<SingleSlotServer>
{
    private readonly HttpClient _client = server.Client;

    /// <summary>As long a generation as the context allows, so that the slot stays busy while the test acts.</summary>
    private const int HolderMaxTokens = 480;

    private static JsonObject HolderBody() =>
        Api.ChatBody("Tell me a very long story.", HolderMaxTokens).BanEndOfSequence().With("stream", true);

    /// <summary>Starts a long stream and returns once its first content token has arrived (so the sequence is running).</summary>
    private async Task<(HttpResponseMessage Response, SseReader Reader)> StartHolderAsync(CancellationToken ct)
    {
        var response = await _client.PostAsync(Api.Chat, HolderBody(), completion: HttpCompletionOption.ResponseHeadersRead, ct: ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reader = new SseReader(await response.Content.ReadAsStreamAsync(ct));
        while (true)
        {
            string? data = await reader.NextAsync(ct);
            Assert.NotNull(data);
            var delta = JsonDocument.Parse(data).RootElement.Choice().GetProperty("delta");
            if (delta.TryGetProperty("content", out var c) && c.GetString()!.Length > 0) return (response, reader);
        }
    }

    private async Task WaitUntilIdleAsync()
    {
        var engine = server.Host.Engine!;
        var deadline = Stopwatch.StartNew();
        while (engine.Stats.Running > 0 || engine.Stats.Waiting > 0)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "the engine did not become idle");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Both tests need the holder still running while they act. The engine decodes on its own thread, so on a starved
    /// machine the test's continuations can lag until the holder has finished by itself; such an attempt proves
    /// nothing and is repeated (the engine's counters tell which case it was), never counted as a pass.
    /// </summary>
    private const int Attempts = 3;

    [Fact]
    public async Task A_request_finding_the_only_slot_busy_is_429_with_Retry_After()
    {
        var engine = server.Host.Engine!;
        for (int attempt = 1; attempt <= Attempts; attempt++)
        {
            await WaitUntilIdleAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var (holder, reader) = await StartHolderAsync(cts.Token);
            using (holder)
            using (reader)
            {
                using var refused = await _client.PostAsync(Api.Chat, Api.ChatBody(maxTokens: 2));
                // A streaming request is refused before its stream starts, with a status the SDKs back off on.
                using var refusedStream = await _client.PostAsync(Api.Chat, Api.ChatBody(maxTokens: 2).With("stream", true));
                // Both answers are complete, so a running sequence now can only be the holder's.
                bool holderStillRunning = engine.Stats.Running == 1;
                cts.Cancel();
                if (refused.StatusCode != HttpStatusCode.TooManyRequests || refusedStream.StatusCode != HttpStatusCode.TooManyRequests)
                {
                    Assert.False(holderStillRunning,
                        $"answered {(int)refused.StatusCode} and {(int)refusedStream.StatusCode} while the only slot was busy and no waiting was allowed");
                    continue; // the holder ended before the requests arrived: inconclusive
                }
                await Api.AssertErrorAsync(refused, HttpStatusCode.TooManyRequests, "rate_limit_error");
                Assert.Equal(TimeSpan.FromSeconds(SingleSlotServer.RetryAfterSeconds), refused.Headers.RetryAfter?.Delta);
                await Api.AssertErrorAsync(refusedStream, HttpStatusCode.TooManyRequests, "rate_limit_error");
                Assert.NotNull(refusedStream.Headers.RetryAfter);
            }
            // Once the slot is free again the same request is served.
            await WaitUntilIdleAsync();
            var accepted = await _client.PostOkAsync(Api.Chat, Api.ChatBody(maxTokens: 2));
            Assert.Equal(2, accepted.Usage("completion_tokens"));
            return;
        }
        Assert.Fail($"in {Attempts} attempts the holder always finished before the test could act (machine too slow?)");
    }

    [Fact]
    public async Task Disconnecting_mid_stream_frees_the_slot()
    {
        var engine = server.Host.Engine!;
        for (int attempt = 1; attempt <= Attempts; attempt++)
        {
            await WaitUntilIdleAsync();
            long generatedBefore = engine.Stats.GeneratedTokens;
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var (holder, reader) = await StartHolderAsync(cts.Token);
            for (int i = 0; i < 3; i++) Assert.NotNull(await reader.NextAsync(cts.Token));
            long atDisconnect = engine.Stats.GeneratedTokens - generatedBefore;
            // The client goes away: cancel the request and drop the connection.
            cts.Cancel();
            reader.Dispose();
            holder.Dispose();
            await WaitUntilIdleAsync();
            // Margin: the engine notices a cancellation within a step, far fewer than 100 tokens.
            if (atDisconnect > HolderMaxTokens - 100) continue; // the holder was (nearly) done anyway: inconclusive

            long holderTokens = engine.Stats.GeneratedTokens - generatedBefore;
            Assert.True(holderTokens < HolderMaxTokens,
                $"the abandoned stream ran to its end ({holderTokens} tokens; {atDisconnect} when the client left) instead of being cancelled");

            // The only slot is free again: with no waiting room, a busy slot would be a 429.
            var next = await _client.PostOkAsync(Api.Chat, Api.ChatBody(maxTokens: 4).BanEndOfSequence());
            Assert.Equal(4, next.Usage("completion_tokens"));
            return;
        }
        Assert.Fail($"in {Attempts} attempts the holder was always nearly done before the client left (machine too slow?)");
    }
}
