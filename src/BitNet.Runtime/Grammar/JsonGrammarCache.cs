using System.Text.Json;

namespace BitNet.Runtime.Grammar;

/// <summary>
/// Compiled grammars by schema text, so clients that send the same schema on every request (the SDKs' structured
/// output helpers do) compile it once. Bounded: past <see cref="Capacity"/> schemas the least recently used is dropped.
/// Thread-safe; a <see cref="JsonGrammar"/> is immutable and shared by every sequence that uses it. Schemas that fail
/// to compile are not cached (the error is thrown each time).
/// </summary>
public sealed class JsonGrammarCache
{
    /// <summary>Default number of schemas kept.</summary>
    public const int DefaultCapacity = 64;

    private readonly Dictionary<string, LinkedListNode<(string Key, JsonGrammar Grammar)>> _byKey = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, JsonGrammar Grammar)> _recent = new();
    private readonly Lock _lock = new();
    private JsonGrammar? _anyObject;

    /// <summary>A cache keeping at most <paramref name="capacity"/> compiled schemas.</summary>
    public JsonGrammarCache(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>Most schemas kept.</summary>
    public int Capacity { get; }

    /// <summary>Schemas currently kept.</summary>
    public int Count
    {
        get { lock (_lock) return _byKey.Count; }
    }

    /// <summary>Compilations done (cache misses), for tests and diagnostics.</summary>
    public long Compilations => Interlocked.Read(ref _compilations);

    private long _compilations;

    /// <summary>The free-JSON-object grammar (response_format json_object), compiled once.</summary>
    public JsonGrammar AnyJsonObject() => _anyObject ??= JsonGrammar.AnyJsonObject();

    /// <summary>The cached grammar of <paramref name="schema"/>'s exact text, without compiling (or refreshing) it.</summary>
    public bool TryGet(JsonElement schema, out JsonGrammar grammar)
    {
        lock (_lock)
        {
            bool found = _byKey.TryGetValue(schema.GetRawText(), out var node);
            grammar = found ? node!.Value.Grammar : null!;
            return found;
        }
    }

    /// <summary>
    /// The grammar of <paramref name="schema"/>, compiled on first use of its exact text.
    /// </summary>
    /// <exception cref="SchemaNotSupportedException">As <see cref="JsonGrammar.FromSchema(JsonElement, GrammarOptions?)"/>.</exception>
    public JsonGrammar FromSchema(JsonElement schema)
    {
        string key = schema.GetRawText();
        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var hit))
            {
                _recent.Remove(hit);
                _recent.AddFirst(hit);
                return hit.Value.Grammar;
            }
        }
        // Compile outside the lock: a large schema must not stall requests with other schemas. Two requests racing on
        // the same new schema may both compile it; the second result replaces nothing and is simply used once.
        var grammar = JsonGrammar.FromSchema(schema);
        Interlocked.Increment(ref _compilations);
        lock (_lock)
        {
            if (_byKey.TryGetValue(key, out var raced)) return raced.Value.Grammar;
            _byKey[key] = _recent.AddFirst((key, grammar));
            while (_byKey.Count > Capacity)
            {
                var oldest = _recent.Last!;
                _recent.RemoveLast();
                _byKey.Remove(oldest.Value.Key);
            }
        }
        return grammar;
    }
}
