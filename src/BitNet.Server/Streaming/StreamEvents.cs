using System.Runtime.CompilerServices;
using System.Threading.Channels;
using BitNet.Runtime.Scheduling;

namespace BitNet.Server.Streaming;

public static class StreamEvents
{
    /// <summary>How long a stream may stay silent (e.g. during a long prompt or in the queue) before a `: ping` comment.</summary>
    public static TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Yields the run's events, writing an SSE comment whenever none arrives for <see cref="KeepAliveInterval"/>.</summary>
    public static async IAsyncEnumerable<GenerationEvent> ReadWithKeepAliveAsync(
        ChannelReader<GenerationEvent> reader, SseWriter sse, [EnumeratorCancellation] CancellationToken ct)
    {
        while (true)
        {
            while (reader.TryRead(out var e)) yield return e;
            var pending = reader.WaitToReadAsync(ct);
            bool more;
            if (pending.IsCompletedSuccessfully)
            {
                more = pending.Result;
            }
            else
            {
                var task = pending.AsTask();
                while (true)
                {
                    try
                    {
                        more = await task.WaitAsync(KeepAliveInterval, ct);
                        break;
                    }
                    catch (TimeoutException)
                    {
                        await sse.PingAsync(ct);
                    }
                }
            }
            if (!more) yield break;
        }
    }
}
