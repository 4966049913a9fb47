using System.Buffers.Binary;
using System.Text;
using BitNet.Runtime.Gguf;
using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Tests.Gguf;

/// <summary>A numeric field of a hand-built GGUF: where it is, how wide, and what it means (for targeted mutation).</summary>
internal sealed record RawField(string Name, int Offset, int Width);

/// <summary>
/// Writes GGUF bytes field by field, independently of <see cref="GgufWriter"/> (so reader tests do not test the
/// reader against itself), and records every count, length, type and offset it writes.
/// </summary>
internal sealed class RawGguf
{
    private readonly MemoryStream _bytes = new();

    public List<RawField> Fields { get; } = [];

    public int Position => (int)_bytes.Position;

    public byte[] ToArray() => _bytes.ToArray();

    public RawGguf U8(byte v) { _bytes.WriteByte(v); return this; }

    public RawGguf U16(ushort v) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); _bytes.Write(b); return this; }

    public RawGguf U32(uint v, string? field = null)
    {
        if (field is not null) Fields.Add(new(field, Position, 4));
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _bytes.Write(b);
        return this;
    }

    public RawGguf U64(ulong v, string? field = null)
    {
        if (field is not null) Fields.Add(new(field, Position, 8));
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        _bytes.Write(b);
        return this;
    }

    public RawGguf Raw(ReadOnlySpan<byte> bytes) { _bytes.Write(bytes); return this; }

    public RawGguf Str(string s, string field)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        U64((ulong)utf8.Length, field + ".len");
        return Raw(utf8);
    }

    public RawGguf Header(uint version, ulong tensors, ulong kvs) =>
        U32(GgufFile.Magic, "magic").U32(version, "version").U64(tensors, "n_tensors").U64(kvs, "n_kv");

    /// <summary>Key and type tag of one metadata entry; the caller writes the value.</summary>
    public RawGguf Key(string key, GgufValueType type) => Str(key, $"kv '{key}' key").U32((uint)type, $"kv '{key}' type");

    public RawGguf KvString(string key, string value) => Key(key, GgufValueType.String).Str(value, $"kv '{key}' value");

    public RawGguf KvU32(string key, uint value) => Key(key, GgufValueType.UInt32).U32(value, $"kv '{key}' value");

    /// <summary>Array header: element type and count.</summary>
    public RawGguf ArrayHeader(string key, GgufValueType elementType, ulong count) =>
        U32((uint)elementType, $"kv '{key}' element type").U64(count, $"kv '{key}' count");

    public RawGguf TensorInfo(string name, long[] shape, uint type, ulong offset)
    {
        Str(name, $"tensor '{name}' name");
        U32((uint)shape.Length, $"tensor '{name}' n_dims");
        for (int d = 0; d < shape.Length; d++) U64((ulong)shape[d], $"tensor '{name}' ne[{d}]");
        U32(type, $"tensor '{name}' type");
        return U64(offset, $"tensor '{name}' offset");
    }

    public RawGguf PadTo(int alignment)
    {
        while (Position % alignment != 0) _bytes.WriteByte(0);
        return this;
    }

    /// <summary>One tensor of a hand-built file.</summary>
    public sealed record Tensor(string Name, long[] Shape, GgmlType Type)
    {
        public long Bytes => TensorFormats.Get(Type).TensorBytes(Shape[0], Shape.Length > 1 ? Shape[1] : 1)!.Value;
    }

    /// <summary>
    /// The fuzzer's seed file: every scalar type, arrays of numbers, strings and bools, a nested array, an explicit
    /// general.alignment, and a tensor table of six formats (F32, F16, Q8_0, TQ2_0, TQ1_0 and I2_S, which needs the
    /// bitnet arch) with data filled from <paramref name="seed"/>.
    /// </summary>
    public static RawGguf Sample(int seed = 1, uint version = 3, int alignment = 32, string arch = "bitnet")
    {
        Tensor[] tensors =
        [
            new("token_embd.weight", [8, 4], GgmlType.F32),
            new("a.f16", [16, 2], GgmlType.F16),
            new("b.q8_0", [32, 2], GgmlType.Q8_0),
            new("c.tq2_0", [256, 1], GgmlType.TQ2_0),
            new("d.tq1_0", [256, 1], GgmlType.TQ1_0),
            new("e.i2_s", [128, 2], GgmlType.I2_S),
        ];
        var g = new RawGguf();
        g.Header(version, (ulong)tensors.Length, 20);
        g.KvString("general.architecture", arch);
        g.KvU32("general.alignment", (uint)alignment);
        g.Key("k.u8", GgufValueType.UInt8).U8(200);
        g.Key("k.i8", GgufValueType.Int8).U8(0x80);
        g.Key("k.u16", GgufValueType.UInt16).U16(65000);
        g.Key("k.i16", GgufValueType.Int16).U16(0x8000);
        g.Key("k.u32", GgufValueType.UInt32).U32(4_000_000_000);
        g.Key("k.i32", GgufValueType.Int32).U32(unchecked((uint)-7));
        g.Key("k.f32", GgufValueType.Float32).U32(BitConverter.SingleToUInt32Bits(1.5f));
        g.Key("k.bool", GgufValueType.Bool).U8(1);
        g.KvString("k.string", "héllo");
        g.Key("k.u64", GgufValueType.UInt64).U64(ulong.MaxValue);
        g.Key("k.i64", GgufValueType.Int64).U64(unchecked((ulong)long.MinValue));
        g.Key("k.f64", GgufValueType.Float64).U64(BitConverter.DoubleToUInt64Bits(-2.25));
        g.Key("a.i32", GgufValueType.Array).ArrayHeader("a.i32", GgufValueType.Int32, 3).U32(1).U32(2).U32(unchecked((uint)-3));
        g.Key("a.str", GgufValueType.Array).ArrayHeader("a.str", GgufValueType.String, 3)
            .Str("x", "a.str[0]").Str("", "a.str[1]").Str("Ġthe", "a.str[2]");
        g.Key("a.f32", GgufValueType.Array).ArrayHeader("a.f32", GgufValueType.Float32, 2)
            .U32(BitConverter.SingleToUInt32Bits(0.5f)).U32(BitConverter.SingleToUInt32Bits(-1f));
        g.Key("a.bool", GgufValueType.Array).ArrayHeader("a.bool", GgufValueType.Bool, 2).U8(0).U8(1);
        g.Key("a.nested", GgufValueType.Array).ArrayHeader("a.nested", GgufValueType.Array, 2)
            .ArrayHeader("a.nested[0]", GgufValueType.UInt8, 2).U8(1).U8(2)
            .ArrayHeader("a.nested[1]", GgufValueType.String, 1).Str("deep", "a.nested[1][0]");
        g.Key("a.u64", GgufValueType.Array).ArrayHeader("a.u64", GgufValueType.UInt64, 1).U64(42);

        ulong offset = 0;
        foreach (var t in tensors)
        {
            g.TensorInfo(t.Name, t.Shape, (uint)t.Type, offset);
            offset = (ulong)AlignUp((long)offset + t.Bytes, alignment);
        }
        g.PadTo(alignment);
        var random = new Random(seed);
        foreach (var t in tensors)
        {
            var data = new byte[t.Bytes];
            random.NextBytes(data);
            g.Raw(data).PadTo(alignment);
        }
        return g;
    }

    public static long AlignUp(long x, long a) => (x + a - 1) / a * a;
}
