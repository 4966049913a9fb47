using BitNet.Runtime.IO;
using System.Buffers.Binary;
using System.Text.Json;

namespace BitNet.Runtime.Safetensors;

/// <summary>Element types of the safetensors format (huggingface/safetensors, <c>Dtype</c>) and their sizes.</summary>
public static class SafetensorsDtype
{
    private static readonly Dictionary<string, int> Sizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    /// <summary>Bytes per element, or null for a dtype the format does not define.</summary>
    public static int? SizeOf(string dtype) => Sizes.TryGetValue(dtype, out int s) ? s : null;
}

/// <summary>One tensor of a safetensors file: row-major, <see cref="Shape"/>[0] is the outermost (slowest) dimension.</summary>
public sealed record SafetensorsTensor(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public long ByteSize => End - Begin;

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n *= d;
            return n;
        }
    }

    public override string ToString() => $"{Name} {Dtype} [{string.Join(", ", Shape)}]";
}

/// <summary>
/// A <c>.safetensors</c> file, memory-mapped read-only: an 8-byte little-endian header length, a JSON header
/// (name -> dtype, shape, data_offsets), then the data. The header is validated before anything is used: its length
/// fits the file, the JSON is well formed, every dtype is known, shape x dtype size equals the byte span, every span
/// lies inside the data section, spans do not overlap and names are unique. Any violation is one
/// <see cref="InvalidDataException"/> naming the file and the tensor.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The reference implementation refuses headers above 100 MB; so do we, before allocating anything.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly IDisposable _owner;
    private readonly byte* _base;
    private readonly Dictionary<string, SafetensorsTensor> _byName;
    private bool _disposed;

    private SafetensorsFile(byte* basePtr, long length, IDisposable owner, string source)
    {
        _base = basePtr;
        _owner = owner;
        Source = source;
        Length = length;
        (Tensors, Metadata, DataOffset) = Parse(basePtr, length);
        _byName = Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Source { get; }
    public long Length { get; }

    /// <summary>Absolute offset of the data section (8 + header length).</summary>
    public long DataOffset { get; }

    /// <summary>The optional <c>__metadata__</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensors in the order of their data.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    public static SafetensorsFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        if (info.Length < 8) throw new InvalidDataException($"{path}: file is {info.Length} bytes, too small to be safetensors");
        var bytes = PinnedBytes.Map(path, info.Length);
        try
        {
            return new SafetensorsFile(bytes.Pointer, bytes.Length, bytes, path);
        }
        catch
        {
            bytes.Dispose();
            throw;
        }
    }

    /// <summary>Parses bytes held in memory (tests, fuzzing); they are copied to native memory.</summary>
    public static SafetensorsFile FromBytes(ReadOnlySpan<byte> bytes, string source = "<memory>")
    {
        var copy = PinnedBytes.Copy(bytes);
        try
        {
            return new SafetensorsFile(copy.Pointer, copy.Length, copy, source);
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    public bool TryGetTensor(string name, out SafetensorsTensor tensor) => _byName.TryGetValue(name, out tensor!);

    public SafetensorsTensor GetTensor(string name) => _byName.TryGetValue(name, out var t)
        ? t
        : throw new InvalidDataException($"{Source}: tensor '{name}' is missing");

    /// <summary>Pointer to a tensor's first byte; valid while the file is open.</summary>
    public byte* GetPointer(SafetensorsTensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _base + DataOffset + tensor.Begin;
    }

    public ReadOnlySpan<byte> GetData(SafetensorsTensor tensor)
    {
        if (tensor.ByteSize > int.MaxValue)
            throw new NotSupportedException($"{Source}: tensor '{tensor.Name}' is larger than 2 GiB; use a pointer view");
        return new ReadOnlySpan<byte>(GetPointer(tensor), (int)tensor.ByteSize);
    }

    private (SafetensorsTensor[], Dictionary<string, string>, long) Parse(byte* p, long length)
    {
        if (length < 8) throw Error($"file is {length} bytes, too small to be safetensors");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(p, 8));
        if (headerLength < 2 || headerLength > MaxHeaderBytes || (long)headerLength > length - 8)
            throw Error($"header length {headerLength} does not fit a {length}-byte file (at most {Math.Min(MaxHeaderBytes, length - 8)})");
        long dataOffset = 8 + (long)headerLength;
        long dataLength = length - dataOffset;

        JsonDocument doc;
        try
        {
            var bytes = new ReadOnlySpan<byte>(p + 8, (int)headerLength);
            // JsonDocument accepts invalid UTF-8 inside strings and fails only when a name is read.
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw Error("header is not valid UTF-8");
            // The writer pads the header with spaces to align the data; JSON allows trailing whitespace.
            doc = JsonDocument.Parse(bytes.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Error($"header is not valid JSON ({e.Message})");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Error("header is not a JSON object");
            var tensors = new List<SafetensorsTensor>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                string name = prop.Name;
                if (!seen.Add(name)) throw Error($"tensor '{name}' appears twice in the header");
                if (name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Error("__metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Error($"__metadata__ '{m.Name}' is not a string");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                tensors.Add(ParseTensor(name, prop.Value, dataLength));
            }

            // Sorted by offset, each tensor must start at or after the end of the previous one.
            tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            for (int i = 1; i < tensors.Count; i++)
                if (tensors[i].Begin < tensors[i - 1].End)
                    throw Error($"tensor '{tensors[i].Name}' (bytes {tensors[i].Begin}..{tensors[i].End}) overlaps '{tensors[i - 1].Name}' " +
                         $"(bytes {tensors[i - 1].Begin}..{tensors[i - 1].End})");
            return (tensors.ToArray(), metadata, dataOffset);
        }
    }

    private SafetensorsTensor ParseTensor(string name, JsonElement e, long dataLength)
    {
        string Where() => $"tensor '{name}'";
        if (e.ValueKind != JsonValueKind.Object) throw Error($"{Where()} is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw Error($"{Where()} has no dtype string");
        string dtype = dt.GetString()!;
        int size = SafetensorsDtype.SizeOf(dtype) ?? throw Error($"{Where()} has unknown dtype '{dtype}'");

        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw Error($"{Where()} has no shape array");
        if (sh.GetArrayLength() > 8) throw Error($"{Where()} has {sh.GetArrayLength()} dimensions");
        var shape = new long[sh.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw Error($"{Where()} has an invalid dimension {d.GetRawText()}");
            shape[i++] = v;
            if (v != 0 && elements > dataLength / v) throw Error($"{Where()} shape [{string.Join(", ", shape)}] is larger than the file");
            elements *= v;
        }

        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Error($"{Where()} has no data_offsets [begin, end]");
        long[] be = new long[2];
        i = 0;
        foreach (var o in off.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out long v) || v < 0)
                throw Error($"{Where()} has an invalid data offset {o.GetRawText()}");
            be[i++] = v;
        }
        if (be[0] > be[1] || be[1] > dataLength)
            throw Error($"{Where()} data_offsets [{be[0]}, {be[1]}] lie outside the {dataLength}-byte data section");
        if (elements > long.MaxValue / size || elements * size != be[1] - be[0])
            throw Error($"{Where()} is {dtype} [{string.Join(", ", shape)}] = {elements} x {size} bytes, but its data_offsets span {be[1] - be[0]} bytes");
        foreach (var prop in e.EnumerateObject())
            if (prop.Name is not ("dtype" or "shape" or "data_offsets")) throw Error($"{Where()} has an unknown field '{prop.Name}'");
        return new SafetensorsTensor(name, dtype, shape, be[0], be[1]);
    }

    private InvalidDataException Error(string message) => new($"{Source}: {message}");


    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _owner.Dispose();
    }
}

/// <summary>Writes safetensors files (tests, fixtures): the header padded with spaces to 8 bytes, then the data in order.</summary>
public static class SafetensorsWriter
{
    public sealed record Entry(string Name, string Dtype, long[] Shape, byte[] Data);

    public static byte[] ToBytes(IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = entries.ToList();
        using var header = new MemoryStream();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            if (metadata is not null)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in list)
            {
                w.WriteStartObject(e.Name);
                w.WriteString("dtype", e.Dtype);
                w.WriteStartArray("shape");
                foreach (var d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + e.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += e.Data.Length;
            }
            w.WriteEndObject();
        }
        var json = header.ToArray().ToList();
        while ((json.Count + 8) % 8 != 0) json.Add((byte)' ');
        using var output = new MemoryStream();
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)json.Count);
        output.Write(len);
        output.Write(json.ToArray());
        foreach (var e in list) output.Write(e.Data);
        return output.ToArray();
    }

    public static void Write(string path, IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata = null) =>
        File.WriteAllBytes(path, ToBytes(entries, metadata));

}
