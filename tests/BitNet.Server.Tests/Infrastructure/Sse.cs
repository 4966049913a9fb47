using System.Text;
using System.Text.Json;

namespace BitNet.Server.Tests.Infrastructure;

/// <summary>Server-sent events as OpenAI clients read them, checked strictly: the framing is part of the contract.</summary>
public static class Sse
{
    public const string Done = "[DONE]";

    /// <summary>
    /// Splits a complete SSE body into the payloads of its <c>data:</c> events and fails unless every event is exactly
    /// <c>data: {payload}\n\n</c> (keep-alive comments <c>: ping\n\n</c> are allowed and skipped) and the last one is [DONE].
    /// </summary>
    public static List<string> ParseComplete(string body)
    {
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
        var payloads = new List<string>();
        int at = 0;
        while (at < body.Length)
        {
            int end = body.IndexOf("\n\n", at, StringComparison.Ordinal);
            Assert.True(end >= 0, $"event at offset {at} is not terminated by a blank line: {Excerpt(body, at)}");
            string evt = body[at..end];
            at = end + 2;
            if (evt.StartsWith(':')) continue;
            Assert.True(evt.StartsWith("data: ", StringComparison.Ordinal), $"event does not start with 'data: ': {Excerpt(evt, 0)}");
            Assert.DoesNotContain('\n', evt);
            payloads.Add(evt["data: ".Length..]);
        }
        Assert.Equal(Done, payloads[^1]);
        Assert.Equal(1, payloads.Count(p => p == Done));
        return payloads;
    }

    /// <summary>The JSON chunks of a complete stream (everything before [DONE]).</summary>
    public static List<JsonElement> Chunks(string body)
    {
        var payloads = ParseComplete(body);
        var chunks = new List<JsonElement>(payloads.Count - 1);
        for (int i = 0; i < payloads.Count - 1; i++) chunks.Add(JsonDocument.Parse(payloads[i]).RootElement.Clone());
        return chunks;
    }

    /// <summary>Concatenates the content deltas of one choice of a chat stream.</summary>
    public static string ChatText(IEnumerable<JsonElement> chunks, int choice = 0)
    {
        var text = new StringBuilder();
        foreach (var chunk in chunks)
            foreach (var c in chunk.GetProperty("choices").EnumerateArray())
                if (c.GetProperty("index").GetInt32() == choice && c.GetProperty("delta").TryGetProperty("content", out var content))
                    text.Append(content.GetString());
        return text.ToString();
    }

    private static string Excerpt(string s, int at) => s.Substring(at, Math.Min(80, s.Length - at)).Replace("\n", "\\n");
}

/// <summary>Reads a live SSE response one event at a time (for tests that act in the middle of a stream).</summary>
public sealed class SseReader(Stream stream) : IDisposable
{
    private readonly StreamReader _reader = new(stream, Encoding.UTF8);

    /// <summary>The next data payload (comments skipped), or null at the end of the stream.</summary>
    public async Task<string?> NextAsync(CancellationToken ct = default)
    {
        while (true)
        {
            string? line = await _reader.ReadLineAsync(ct);
            if (line is null) return null;
            if (line.Length == 0 || line.StartsWith(':')) continue;
            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            string? blank = await _reader.ReadLineAsync(ct);
            Assert.Equal("", blank);
            return line["data: ".Length..];
        }
    }

    public void Dispose() => _reader.Dispose();
}
