namespace BitNet.Runtime.Gguf;

/// <summary>The key/value section of a GGUF file, with typed lookups that name the key on failure.</summary>
public sealed class GgufMetadata
{
    private readonly Dictionary<string, GgufValue> _values;

    public GgufMetadata(Dictionary<string, GgufValue> values) => _values = values;

    public IReadOnlyDictionary<string, GgufValue> Values => _values;

    public bool Contains(string key) => _values.ContainsKey(key);

    public bool TryGet(string key, out GgufValue value) => _values.TryGetValue(key, out value!);

    public GgufValue Get(string key) => _values.TryGetValue(key, out var v)
        ? v
        : throw new InvalidDataException($"GGUF metadata key '{key}' is missing");

    public string GetString(string key) => Wrap(key, () => Get(key).AsString());

    public string? GetStringOrNull(string key) => TryGet(key, out var v) ? Wrap(key, v.AsString) : null;

    public long GetInt(string key) => Wrap(key, () => Get(key).AsInt64());

    public long GetInt(string key, long fallback) => TryGet(key, out var v) ? Wrap(key, v.AsInt64) : fallback;

    public double GetDouble(string key, double fallback) => TryGet(key, out var v) ? Wrap(key, v.AsDouble) : fallback;

    public bool GetBool(string key, bool fallback) => TryGet(key, out var v) ? Wrap(key, v.AsBool) : fallback;

    public T[]? GetArrayOrNull<T>(string key) => TryGet(key, out var v) ? Wrap(key, v.AsArray<T>) : null;

    private static T Wrap<T>(string key, Func<T> read)
    {
        try { return read(); }
        catch (InvalidDataException e) when (!e.Message.Contains(key, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"GGUF metadata key '{key}': {e.Message}", e);
        }
    }
}
