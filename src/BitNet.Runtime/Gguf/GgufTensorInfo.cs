using BitNet.Runtime.Quantization;

namespace BitNet.Runtime.Gguf;

/// <summary>One entry of the tensor table, validated against the file: its bytes lie inside the data section.</summary>
public sealed class GgufTensorInfo
{
    internal GgufTensorInfo(string name, long[] shape, uint typeId, TensorFormat? format, long offset, long byteSize)
    {
        Name = name;
        Shape = shape;
        TypeId = typeId;
        Format = format;
        Offset = offset;
        ByteSize = byteSize;
    }

    public string Name { get; }

    /// <summary>ggml order: Shape[0] is the contiguous dimension (a weight matrix is [in, out]).</summary>
    public long[] Shape { get; }

    public uint TypeId { get; }

    /// <summary>The decoded format, or null when this runtime cannot read the type (then <see cref="ByteSize"/> is 0).</summary>
    public TensorFormat? Format { get; }

    /// <summary>Offset relative to the start of the data section.</summary>
    public long Offset { get; }

    public long ByteSize { get; }

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Rows = product of all dimensions but the first.</summary>
    public long Rows => ElementCount / Shape[0];

    public string TypeName => Format?.Name ?? $"type {TypeId}";

    public override string ToString() => $"{Name} {TypeName} [{string.Join(", ", Shape)}]";
}
