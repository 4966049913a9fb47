using BitNet.Runtime.Chat;
using BitNet.Server.Contracts;
using BitNet.Server.Options;
using Microsoft.Extensions.Options;

namespace BitNet.Server.Hosting;

/// <summary>A stored response: what GET returns, and the conversation a follow-up (previous_response_id) continues.</summary>
/// <param name="Response">The response object as it was returned.</param>
/// <param name="Conversation">Every message up to and including this response's answer, instructions excluded (OpenAI
/// does not carry them over to the next turn).</param>
public sealed record StoredResponse(ResponseObject Response, IReadOnlyList<ChatMessage> Conversation);

/// <summary>
/// The responses kept for GET /v1/responses/{id} and previous_response_id, in memory and bounded: past
/// <see cref="ServerOptions.ResponseStoreSize"/> entries the oldest is evicted (a follow-up to it is then a 404), and
/// nothing survives a restart. Thread-safe.
/// </summary>
public sealed class ResponseStore(IOptions<ServerOptions> options)
{
    private readonly int _capacity = options.Value.ResponseStoreSize;
    private readonly Dictionary<string, StoredResponse> _byId = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly Lock _lock = new();

    /// <summary>Most responses kept; 0 = nothing is stored.</summary>
    public int Capacity => _capacity;

    public int Count
    {
        get { lock (_lock) return _byId.Count; }
    }

    public void Add(StoredResponse stored)
    {
        if (_capacity == 0) return;
        lock (_lock)
        {
            if (_byId.TryAdd(stored.Response.Id, stored)) _order.Enqueue(stored.Response.Id);
            while (_byId.Count > _capacity && _order.TryDequeue(out var oldest)) _byId.Remove(oldest);
        }
    }

    public bool TryGet(string id, out StoredResponse stored)
    {
        lock (_lock) return _byId.TryGetValue(id, out stored!);
    }

    /// <summary>Removes a response; false when it is not (or no longer) stored.</summary>
    public bool Remove(string id)
    {
        lock (_lock)
        {
            if (!_byId.Remove(id)) return false;
            // Keep the queue in step so a deleted id never evicts a live one later.
            int n = _order.Count;
            for (int i = 0; i < n; i++)
            {
                var x = _order.Dequeue();
                if (x != id) _order.Enqueue(x);
            }
            return true;
        }
    }
}
