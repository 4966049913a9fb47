using System.Globalization;

namespace BitNet.Runtime.Gguf;

/// <summary>GGUF metadata value types (gguf.md, "gguf_metadata_value_type").</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7,
    String = 8, Array = 9, UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>
/// One metadata value. Scalars are boxed once at load time (metadata is read once, never per token);
/// arrays keep a typed CLR array (<c>string[]</c>, <c>float[]</c>, <c>int[]</c>, ...) or, for nested
/// arrays, <see cref="GgufValue"/>[].
/// </summary>
public sealed class GgufValue
{
    public GgufValue(GgufValueType type, object value, GgufValueType elementType = GgufValueType.UInt8)
    {
        Type = type;
        Value = value;
        ElementType = elementType;
    }

    public GgufValueType Type { get; }

    /// <summary>For arrays: the element type.</summary>
    public GgufValueType ElementType { get; }

    public object Value { get; }

    public bool IsArray => Type == GgufValueType.Array;

    public int ArrayLength => Value is Array a ? a.Length : throw new InvalidOperationException("not an array");

    public string AsString() => Value as string ?? throw new InvalidDataException($"metadata value is {Type}, expected a string");

    public bool AsBool() => Value switch
    {
        bool b => b,
        _ => AsInt64() != 0,
    };

    /// <summary>Any integer type, range-checked.</summary>
    public long AsInt64() => Value switch
    {
        byte v => v, sbyte v => v, ushort v => v, short v => v, uint v => v, int v => v, long v => v,
        ulong v => v <= long.MaxValue ? (long)v : throw new InvalidDataException($"metadata value {v} is out of range"),
        bool v => v ? 1 : 0,
        _ => throw new InvalidDataException($"metadata value is {Type}, expected an integer"),
    };

    public double AsDouble() => Value switch
    {
        float v => v, double v => v,
        byte or sbyte or ushort or short or uint or int or long or ulong => AsInt64(),
        _ => throw new InvalidDataException($"metadata value is {Type}, expected a number"),
    };

    public T[] AsArray<T>() => Value as T[] ?? throw new InvalidDataException(
        $"metadata value is {Type}{(IsArray ? "[" + ElementType + "]" : "")}, expected an array of {typeof(T).Name}");

    public override string ToString() => Value switch
    {
        string s => s.Length > 80 ? s[..77] + "..." : s,
        Array a => $"[{ElementType} x {a.Length}]",
        float f => f.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        _ => Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "",
    };
}
