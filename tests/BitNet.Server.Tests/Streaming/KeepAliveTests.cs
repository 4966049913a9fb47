using System.Text;
using System.Threading.Channels;
using BitNet.Runtime.Scheduling;
using BitNet.Server.Infrastructure;
using BitNet.Server.Streaming;
using Microsoft.AspNetCore.Http;

namespace BitNet.Server.Tests.Streaming;

/// <summary>Keep-alive comments during silence only, with events passed through in order.</summary>
public sealed class KeepAliveTests
{
    private static (SseWriter Sse, LockedBody Body) NewWriter()
    {
        var context = new DefaultHttpContext();
        var body = new LockedBody();
        context.Response.Body = body;
        return (new SseWriter(context.Response, JsonDefaults.Options), body);
    }

    private static int Pings(LockedBody body) => body.Text().Split(": ping\n\n").Length - 1;

    /// <summary>A response body that a test may read while the stream writes it.</summary>
    private sealed class LockedBody : MemoryStream
    {
        private readonly Lock _gate = new();

        public override void Write(byte[] buffer, int offset, int count) { lock (_gate) base.Write(buffer, offset, count); }

        public override void Write(ReadOnlySpan<byte> buffer) { lock (_gate) base.Write(buffer); }

        public string Text() { lock (_gate) return Encoding.UTF8.GetString(ToArray()); }
    }

    [Fact]
    public async Task Silence_longer_than_the_interval_sends_pings_then_the_events_follow()
    {
        var (sse, body) = NewWriter();
        var channel = Channel.CreateUnbounded<GenerationEvent>();
        var producer = Task.Run(async () =>
        {
            // A long prompt: nothing to say until two pings are out. A fixed 700 ms of silence failed under a loaded CI
            // run (0 pings: the reader's timer ran late, after the events were already queued).
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (Pings(body) < 2 && waited.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
            for (int i = 0; i < 3; i++) channel.Writer.TryWrite(new GenerationEvent(GenerationEventKind.Token, TokenId: i));
            channel.Writer.Complete();
        });
        var seen = new List<int>();
        await foreach (var e in StreamEvents.ReadWithKeepAliveAsync(channel.Reader, sse, CancellationToken.None, TimeSpan.FromMilliseconds(150)))
            seen.Add(e.TokenId);
        await producer;
        Assert.Equal([0, 1, 2], seen);
        Assert.InRange(Pings(body), 2, 6);
    }

    private const int Events = 100;

    [Fact]
    public async Task Events_closer_than_the_interval_send_no_ping_however_long_the_stream()
    {
        var (sse, body) = NewWriter();
        var channel = Channel.CreateUnbounded<GenerationEvent>();
        var producer = Task.Run(async () =>
        {
            for (int i = 0; i < Events; i++) // Events x 30 ms: longer than the interval in total, never silent for it
            {
                await Task.Delay(30);
                channel.Writer.TryWrite(new GenerationEvent(GenerationEventKind.Token, TokenId: i));
            }
            channel.Writer.Complete();
        });
        int count = 0;
        // 2 s: far longer than the 30 ms gaps, so that a loaded CI run's stalled thread pool (once over 1 s, with a 1 s
        // interval) does not make a real silence; the stream (100 x 30 ms) still lasts longer than the interval.
        await foreach (var e in StreamEvents.ReadWithKeepAliveAsync(channel.Reader, sse, CancellationToken.None, TimeSpan.FromSeconds(2)))
            Assert.Equal(count++, e.TokenId);
        await producer;
        Assert.Equal(Events, count);
        Assert.Equal(0, Pings(body));
    }

    [Fact]
    public async Task Cancellation_ends_the_stream()
    {
        var (sse, _) = NewWriter();
        var channel = Channel.CreateUnbounded<GenerationEvent>();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in StreamEvents.ReadWithKeepAliveAsync(channel.Reader, sse, cts.Token, TimeSpan.FromMilliseconds(50))) { }
        });
    }
}
