using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BitNet.Server.Tests.Browser;

/// <summary>
/// A minimal Chrome DevTools Protocol client: JSON commands with ids over one WebSocket, responses matched by id,
/// events handed to <see cref="EventReceived"/>. Enough to drive one page without a browser-automation package
/// (nothing to download at test time, no Node driver).
/// </summary>
internal sealed class CdpConnection : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1); // a WebSocket allows one send at a time
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _receiveLoop;
    private int _nextId;

    private CdpConnection(ClientWebSocket socket)
    {
        _socket = socket;
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>Raised on the receive loop for every CDP event (method name, params).</summary>
    public event Action<string, JsonElement>? EventReceived;

    public static async Task<CdpConnection> ConnectAsync(Uri webSocketUrl, CancellationToken ct = default)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await socket.ConnectAsync(webSocketUrl, ct);
        return new CdpConnection(socket);
    }

    /// <summary>Sends a command and returns its "result"; throws with the browser's message if it answered an error.</summary>
    public async Task<JsonElement> SendAsync(string method, object? parameters = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        var message = new JsonObject
        {
            ["id"] = id,
            ["method"] = method,
            ["params"] = parameters is null ? new JsonObject() : JsonSerializer.SerializeToNode(parameters),
        };
        byte[] bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _sendLock.WaitAsync();
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, _closing.Token);
        }
        finally
        {
            _sendLock.Release();
        }

        JsonElement reply;
        try
        {
            reply = await tcs.Task.WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"CDP command {method} got no answer within {CommandTimeout.TotalSeconds} s");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
        if (reply.TryGetProperty("error", out var error)) throw new InvalidOperationException($"CDP command {method} failed: {error}");
        return reply.TryGetProperty("result", out var result) ? result : default;
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                message.SetLength(0);
                WebSocketReceiveResult frame;
                do
                {
                    frame = await _socket.ReceiveAsync(buffer, _closing.Token);
                    if (frame.MessageType == WebSocketMessageType.Close) return;
                    message.Write(buffer, 0, frame.Count);
                }
                while (!frame.EndOfMessage);

                // Clone: the document is disposed here, the element lives on in the awaiting test.
                using var doc = JsonDocument.Parse(message.ToArray());
                var root = doc.RootElement.Clone();
                if (root.TryGetProperty("id", out var idElement) && _pending.TryGetValue(idElement.GetInt32(), out var tcs))
                    tcs.TrySetResult(root);
                else if (root.TryGetProperty("method", out var method))
                    EventReceived?.Invoke(method.GetString()!, root.TryGetProperty("params", out var p) ? p : default);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The browser went away or we are closing; pending commands are failed below.
        }
        finally
        {
            foreach (var pending in _pending.Values)
                pending.TrySetException(new InvalidOperationException("the DevTools connection closed"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _closing.Cancel();
        try
        {
            await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // The loop is stuck on a dead socket; Dispose below aborts it.
        }
        _socket.Dispose();
        _closing.Dispose();
        _sendLock.Dispose();
    }
}
