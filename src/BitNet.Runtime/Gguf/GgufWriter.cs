using System.Text;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Gguf;

/// <summary>
/// Writes GGUF v3 files (metadata, tensor table, aligned data) in the layout llama.cpp and bitnet.cpp read.
/// Tensor data is supplied by callbacks so a multi-gigabyte model streams to disk without being held in memory.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<(string key, GgufValue value)> _kv = [];
    private readonly List<PendingTensor> _tensors = [];

    public int Alignment { get; init; } = GgufFile.DefaultAlignment;

    private sealed record PendingTensor(string Name, long[] Shape, GgmlType Type, long Size, Action<Stream> Write);

    public GgufWriter Add(string key, string value) => AddValue(key, new(GgufValueType.String, value));
    public GgufWriter Add(string key, uint value) => AddValue(key, new(GgufValueType.UInt32, value));
    public GgufWriter Add(string key, int value) => AddValue(key, new(GgufValueType.Int32, value));
    public GgufWriter Add(string key, float value) => AddValue(key, new(GgufValueType.Float32, value));
    public GgufWriter Add(string key, bool value) => AddValue(key, new(GgufValueType.Bool, value));
    public GgufWriter Add(string key, string[] value) => AddValue(key, new(GgufValueType.Array, value, GgufValueType.String));
    public GgufWriter Add(string key, float[] value) => AddValue(key, new(GgufValueType.Array, value, GgufValueType.Float32));
    public GgufWriter Add(string key, int[] value) => AddValue(key, new(GgufValueType.Array, value, GgufValueType.Int32));

    public GgufWriter AddValue(string key, GgufValue value)
    {
        _kv.Add((key, value));
        return this;
    }

    /// <summary>Adds a tensor whose <paramref name="write"/> callback emits exactly its byte size.</summary>
    public GgufWriter AddTensor(string name, long[] shape, GgmlType type, Action<Stream> write)
    {
        var format = TensorFormats.Get(type);
        long rows = 1;
        for (int i = 1; i < shape.Length; i++) rows *= shape[i];
        long size = format.TensorBytes(shape[0], rows)
            ?? throw new ArgumentException($"tensor '{name}': ne[0] = {shape[0]} does not fit {format.Name} blocks of {format.BlockSize}");
        _tensors.Add(new(name, shape, type, size, write));
        return this;
    }

    public GgufWriter AddTensor(string name, long[] shape, GgmlType type, byte[] data) =>
        AddTensor(name, shape, type, s => s.Write(data));

    public void Write(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Write(fs);
    }

    public void Write(Stream stream)
    {
        var kv = MetadataWithAlignment();
        var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufFile.Magic);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)kv.Count);
        foreach (var (key, value) in kv)
        {
            WriteString(w, key);
            w.Write((uint)value.Type);
            WriteValue(w, value);
        }
        long offset = 0;
        foreach (var t in _tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            foreach (var d in t.Shape) w.Write((ulong)d);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offset = AlignUp(offset + t.Size);
        }
        w.Flush();
        Pad(stream);
        foreach (var t in _tensors)
        {
            long start = stream.Position;
            t.Write(stream);
            long written = stream.Position - start;
            if (written != t.Size)
                throw new InvalidOperationException($"tensor '{t.Name}': wrote {written} bytes, expected {t.Size}");
            Pad(stream);
        }
    }

    // A reader only knows a non-default alignment from general.alignment: add the key unless the caller did, and
    // refuse a key that contradicts the Alignment the data is actually laid out with.
    private List<(string key, GgufValue value)> MetadataWithAlignment()
    {
        if (Alignment <= 0 || Alignment > 1 << 20 || (Alignment & (Alignment - 1)) != 0)
            throw new InvalidOperationException($"Alignment = {Alignment} is not a power of two up to 1 MiB");
        foreach (var (key, value) in _kv)
        {
            if (key != "general.alignment") continue;
            if (value.Value is not (uint or int or ulong or long or ushort or short or byte or sbyte) || Convert.ToDecimal(value.Value) != Alignment)
                throw new InvalidOperationException($"metadata general.alignment = {value} contradicts the writer's Alignment = {Alignment}");
            return _kv;
        }
        if (Alignment == GgufFile.DefaultAlignment) return _kv;
        return [.. _kv, ("general.alignment", new GgufValue(GgufValueType.UInt32, (uint)Alignment))];
    }

    private long AlignUp(long x) => (x + Alignment - 1) / Alignment * Alignment;

    private void Pad(Stream s)
    {
        long pad = AlignUp(s.Position) - s.Position;
        for (long i = 0; i < pad; i++) s.WriteByte(0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValue v)
    {
        switch (v.Value)
        {
            case string s: WriteString(w, s); break;
            case bool b: w.Write((byte)(b ? 1 : 0)); break;
            case byte x: w.Write(x); break;
            case sbyte x: w.Write(x); break;
            case ushort x: w.Write(x); break;
            case short x: w.Write(x); break;
            case uint x: w.Write(x); break;
            case int x: w.Write(x); break;
            case float x: w.Write(x); break;
            case ulong x: w.Write(x); break;
            case long x: w.Write(x); break;
            case double x: w.Write(x); break;
            case Array a:
                w.Write((uint)v.ElementType);
                w.Write((ulong)a.Length);
                foreach (var item in a)
                {
                    if (item is GgufValue nested) WriteValue(w, nested);
                    else WriteValue(w, new GgufValue(v.ElementType, item!));
                }
                break;
            default: throw new ArgumentException($"cannot write metadata value of type {v.Value.GetType()}");
        }
    }
}
