using System.Runtime.CompilerServices;
using System.Threading.Channels;
using BitNet.Runtime.Scheduling;

namespace BitNet.Server.Streaming;

public static class StreamEvents
{
    /// <summary>How long a stream may stay silent (e.g. during a long prompt or in the queue) before a `: ping` comment.</summary>
    public static TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Yields the run's events, writing an SSE comment whenever none arrives for <paramref name="interval"/> (default
    /// <see cref="KeepAliveInterval"/>). One deadline source serves the whole stream: each wait re-arms its one timer,
    /// and it is replaced only after it fired, so a streamed token costs no Task and no timer.
    /// </summary>
    public static async IAsyncEnumerable<GenerationEvent> ReadWithKeepAliveAsync(
        ChannelReader<GenerationEvent> reader, SseWriter sse, [EnumeratorCancellation] CancellationToken ct, TimeSpan? interval = null)
    {
        var period = interval ?? KeepAliveInterval;
        var silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            while (true)
            {
                while (reader.TryRead(out var e)) yield return e;
                bool more;
                while (true)
                {
                    if (!silence.TryReset())
                    {
                        // It fired while the events were being written (a slow client): that was not silence.
                        silence.Dispose();
                        silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    }
                    silence.CancelAfter(period);
                    try
                    {
                        more = await reader.WaitToReadAsync(silence.Token);
                        break;
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        await sse.PingAsync(ct);
                    }
                }
                if (!more) yield break;
            }
        }
        finally
        {
            silence.Dispose();
        }
    }
}
